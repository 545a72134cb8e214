import { applySubset, type CifarDataset, type SubsetOptions } from './dataset.ts';
import { decodeRecords, encodeRecords, IMAGE_BYTES, IMAGE_SIZE } from './format.ts';
import { permutation, Rng } from './random.ts';
import { CifarSplit } from './split.ts';
import { requirePositiveInteger } from './validate.ts';

/** The synthetic set's classes: shapes and textures, each name marked synthetic. */
export const SYNTHETIC_CLASSES: readonly string[] = Object.freeze([
  'synthetic-circle',
  'synthetic-square',
  'synthetic-triangle',
  'synthetic-ring',
  'synthetic-cross',
  'synthetic-horizontal-stripes',
  'synthetic-vertical-stripes',
  'synthetic-checkerboard',
  'synthetic-diagonal-stripes',
  'synthetic-dots',
]);

/**
 * The generator's version, in every manifest and folder name it writes: a set written by another version is never
 * mistaken for this one's.
 */
export const SYNTHETIC_GENERATOR = '@skipnet/cifar10 synthetic v2';

/** The folder `writeSyntheticCifar` (Node) writes, in the CIFAR-10 binary layout. */
export const SYNTHETIC_FOLDER = 'synthetic-batches-bin';

export interface SyntheticOptions {
  /** Training images (default 5,000), balanced over the 10 classes. */
  trainSize?: number;
  /** Test images (default 1,000). */
  testSize?: number;
  /** Seed: the same seed gives the same bytes (default 0). */
  seed?: number;
}

export interface LoadSyntheticOptions extends SyntheticOptions {
  subset?: SubsetOptions;
}

type Rgb = [number, number, number];

function luminance(c: Rgb): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

/** Whether pixel (x, y) belongs to the foreground of `label`, with all parameters drawn per image. */
function makeMask(label: number, rng: Rng): (x: number, y: number) => boolean {
  const cx = rng.uniform(11, 21);
  const cy = rng.uniform(11, 21);
  const r = rng.uniform(6.5, 11);
  const angle = rng.uniform(-0.5, 0.5);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const local = (x: number, y: number): [number, number] => {
    const dx = x + 0.5 - cx;
    const dy = y + 0.5 - cy;
    return [cos * dx + sin * dy, -sin * dx + cos * dy];
  };
  const period = rng.uniform(4, 8);
  const phase = rng.uniform(0, 2 * Math.PI);
  const tilt = rng.uniform(-0.25, 0.25);
  const wave = (t: number) => Math.sin((2 * Math.PI * t) / period + phase) > 0;
  switch (label) {
    case 0:
      return (x, y) => {
        const [u, v] = local(x, y);
        return u * u + v * v <= r * r;
      };
    case 1:
      return (x, y) => {
        const [u, v] = local(x, y);
        return Math.abs(u) <= 0.8 * r && Math.abs(v) <= 0.8 * r;
      };
    case 2:
      return (x, y) => {
        const [u, v] = local(x, y);
        return v >= -r && v <= 0.8 * r && Math.abs(u) <= ((v + r) / (1.8 * r)) * r;
      };
    case 3: {
      const inner = rng.uniform(0.45, 0.65) * r;
      return (x, y) => {
        const [u, v] = local(x, y);
        const d = u * u + v * v;
        return d <= r * r && d >= inner * inner;
      };
    }
    case 4: {
      const arm = rng.uniform(0.22, 0.35) * r;
      return (x, y) => {
        const [u, v] = local(x, y);
        return (Math.abs(u) <= arm && Math.abs(v) <= r) || (Math.abs(v) <= arm && Math.abs(u) <= r);
      };
    }
    case 5:
      return (x, y) => wave(y + tilt * x);
    case 6:
      return (x, y) => wave(x + tilt * y);
    case 7: {
      const cell = rng.uniform(3, 6);
      const ox = rng.uniform(0, cell);
      const oy = rng.uniform(0, cell);
      return (x, y) => (Math.floor((x + ox) / cell) + Math.floor((y + oy) / cell)) % 2 === 0;
    }
    case 8: {
      const sign = rng.next() < 0.5 ? 1 : -1;
      return (x, y) => wave((x + sign * y) / Math.SQRT2);
    }
    default: {
      const dots = Array.from({ length: 4 + rng.int(5) }, () => ({
        x: rng.uniform(3, 29),
        y: rng.uniform(3, 29),
        r: rng.uniform(1.6, 2.8),
      }));
      return (x, y) => dots.some((d) => (x + 0.5 - d.x) ** 2 + (y + 0.5 - d.y) ** 2 <= d.r * d.r);
    }
  }
}

/** An RGB colour (0–255) from hue (degrees), saturation and value (0–1). */
function hsv(hue: number, saturation: number, value: number): Rgb {
  const f = (n: number) => {
    const k = (n + hue / 60) % 6;
    return 255 * value * (1 - saturation * Math.max(0, Math.min(k, 4 - k, 1)));
  };
  return [f(5), f(3), f(1)];
}

/**
 * Draws one 32×32 HWC image of class `label`: a shape or texture in its class's own hue family (36° apart, ±10°,
 * random saturation and brightness) on a greyish background of random brightness, with a gradient and noise. The
 * hue is a cue a network picks up within a few dozen SGD steps, so a short run visibly learns; the shapes and
 * textures take longer, so longer runs have more to learn.
 */
function drawImage(label: number, rng: Rng, out: Uint8Array, offset: number): void {
  const foreground = hsv(label * 36 + rng.uniform(-10, 10), rng.uniform(0.6, 1), rng.uniform(0.55, 1));
  let background = hsv(rng.uniform(0, 360), rng.uniform(0, 0.3), rng.uniform(0, 1));
  while (Math.abs(luminance(foreground) - luminance(background)) < 50) {
    background = hsv(rng.uniform(0, 360), rng.uniform(0, 0.3), rng.uniform(0, 1));
  }
  const gx = rng.uniform(-1, 1);
  const gy = rng.uniform(-1, 1);
  const sigma = rng.uniform(4, 12);
  const inside = makeMask(label, rng);
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const base = inside(x, y) ? foreground : background;
      const shade = gx * (x - 16) + gy * (y - 16);
      const o = offset + (y * IMAGE_SIZE + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = Math.round(base[c]! + shade + sigma * rng.normal());
        out[o + c] = v < 0 ? 0 : Math.min(v, 255);
      }
    }
  }
}

/** `count` synthetic images (HWC) with balanced, shuffled labels, from `(seed, stream)`. */
function generate(count: number, seed: number, stream: number): { images: Uint8Array; labels: Uint8Array } {
  const classes = SYNTHETIC_CLASSES.length;
  const order = permutation(count, new Rng(seed, stream, 0x1abe1));
  const labels = new Uint8Array(count);
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < count; i++) {
    labels[i] = order[i]! % classes;
    drawImage(labels[i]!, new Rng(seed, stream, i), images, i * IMAGE_BYTES);
  }
  return { images, labels };
}

/** Synthetic records in the CIFAR binary layout (label byte, then R, G, B planes). */
export function syntheticRecords(count: number, seed: number, split: 'train' | 'test'): Uint8Array {
  const { images, labels } = generate(count, seed, split === 'train' ? 1 : 2);
  return encodeRecords(images, labels);
}

export function resolveSizes(options: SyntheticOptions): Required<SyntheticOptions> {
  const { trainSize = 5000, testSize = 1000, seed = 0 } = options;
  requirePositiveInteger('synthetic', 'trainSize', trainSize);
  requirePositiveInteger('synthetic', 'testSize', testSize);
  return { trainSize, testSize, seed };
}

/**
 * The built-in synthetic 10-class set (name 'synthetic', classes 'synthetic-…'), made in memory through the CIFAR
 * record decoder: the same shape as `loadCifar10`'s result.
 */
export async function loadSynthetic(options: LoadSyntheticOptions = {}): Promise<CifarDataset> {
  const o = resolveSizes(options);
  const split = (name: 'train' | 'test', count: number) => {
    const images = new Uint8Array(count * IMAGE_BYTES);
    const labels = new Uint8Array(count);
    decodeRecords(
      syntheticRecords(count, o.seed, name),
      `synthetic ${name} (seed ${o.seed})`,
      SYNTHETIC_CLASSES.length,
      images,
      labels,
      0,
    );
    return new CifarSplit({ dataset: 'synthetic', name, classNames: SYNTHETIC_CLASSES, images, labels });
  };
  return applySubset(
    {
      name: 'synthetic',
      dir: null,
      classNames: SYNTHETIC_CLASSES,
      train: split('train', o.trainSize),
      test: split('test', o.testSize),
    },
    options.subset,
  );
}
