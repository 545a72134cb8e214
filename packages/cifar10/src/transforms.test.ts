import { fixturePath, readSafetensorsFile } from '@skipnet/test-support';
import { describe, expect, it } from 'vitest';
import { randomImages } from './test-utils.ts';
import {
  horizontalFlip,
  type Normalize,
  randomCrop,
  resize,
  seedTransform,
  toFloat,
  transformToFloat,
} from './transforms.ts';

describe('seed transform (PIL bilinear resize, /255, (x-0.5)/0.5)', () => {
  it('matches the PyTorch/PIL fixture resize/resize.safetensors', () => {
    const t = readSafetensorsFile(fixturePath('resize', 'resize.safetensors'));
    const images = t.get('images')!;
    const expected = t.get('normalized')!;
    expect(images.shape).toEqual([8, 32, 32, 3]);
    expect(expected.shape).toEqual([8, 96, 96, 3]);
    const { transform, normalize } = seedTransform();
    let batch = { data: images.bytes, count: 8, height: 32, width: 32 };
    for (const op of transform) batch = op.apply(batch, Math.random);
    const got = toFloat(batch.data, normalize);
    const want = new Float32Array(
      expected.bytes.buffer,
      expected.bytes.byteOffset,
      expected.bytes.byteLength / 4,
    );
    expect(got.length).toBe(want.length);
    let exact = 0;
    let within = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i]! - want[i]!);
      if (d === 0) exact++;
      if (d <= 2 / 255 + 1e-6) within++;
    }
    console.log(`resize parity: ${exact}/${got.length} exact, ${within} within one level`);
    expect(within / got.length).toBeGreaterThanOrEqual(0.999);
    expect(exact).toBe(got.length);
    // The batch path fuses the last resize with the normalisation: it must give the same floats.
    const fused = transformToFloat(
      { data: images.bytes, count: 8, height: 32, width: 32 },
      transform,
      normalize,
      Math.random,
    );
    expect([fused.height, fused.width]).toEqual([96, 96]);
    expect(Buffer.from(fused.data.buffer).equals(Buffer.from(want.slice().buffer))).toBe(true);
  });
});

describe('the fused resize + normalise path with per-channel statistics', () => {
  // The usual CIFAR-10 statistics: three different means and stds, so a channel mix-up changes the floats.
  const cifarStats: Normalize = {
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
  };
  const { images } = randomImages(3, 21);
  const batch = { data: images, count: 3, height: 32, width: 32 };

  /** (v / 255 − mean[c]) / std[c] in float32 steps, channel c = i mod 3 (HWC), written out element by element. */
  function reference(bytes: Uint8Array, n: Normalize): Float32Array {
    const f = Math.fround;
    const pick = (v: Normalize['mean'], c: number) => (typeof v === 'number' ? v : v[c]!);
    return Float32Array.from(bytes, (v, i) =>
      f(f(f(v / 255) - f(pick(n.mean, i % 3))) / f(pick(n.std, i % 3))),
    );
  }

  // 32 → 96 upscales with two taps per pixel (the fused two-tap loop); 32 → 20 and 32 → 45×24 take the
  // general loop (more taps, and a width that is not a multiple of the table's row).
  for (const [h, w] of [
    [96, 96],
    [20, 20],
    [45, 24],
  ] as const) {
    it(`matches resize, then the per-channel formula, at ${h}×${w}`, () => {
      const fused = transformToFloat(batch, [resize(h, w)], cifarStats, Math.random);
      expect([fused.height, fused.width]).toEqual([h, w]);
      const resized = resize(h, w).apply(batch, Math.random);
      const want = reference(resized.data, cifarStats);
      expect(fused.data.length).toBe(want.length);
      const firstDifference = fused.data.findIndex((v, i) => v !== want[i]);
      expect(firstDifference).toBe(-1);
      // The unfused path (toFloat's own table) agrees too.
      expect(Buffer.from(toFloat(resized.data, cifarStats).buffer).equals(Buffer.from(want.buffer))).toBe(
        true,
      );
    });
  }
});

describe('augmentation', () => {
  const { images } = randomImages(4, 9);
  const batch = { data: images, count: 4, height: 32, width: 32 };
  const pixel = (b: { data: Uint8Array; width: number; height: number }, n: number, y: number, x: number) => [
    ...b.data.subarray(((n * b.height + y) * b.width + x) * 3, ((n * b.height + y) * b.width + x) * 3 + 3),
  ];

  it('randomCrop without padding at full size is the identity; with padding it shifts in zeros', () => {
    expect(randomCrop(32).apply(batch, Math.random).data).toEqual(images);
    // random() = 0 picks the top-left window of the padded image: a shift by (4, 4).
    const shifted = randomCrop(32, 4).apply(batch, () => 0);
    expect(pixel(shifted, 1, 0, 0)).toEqual([0, 0, 0]);
    expect(pixel(shifted, 1, 3, 31)).toEqual([0, 0, 0]);
    expect(pixel(shifted, 1, 4, 4)).toEqual(pixel(batch, 1, 0, 0));
    expect(pixel(shifted, 2, 31, 31)).toEqual(pixel(batch, 2, 27, 27));
    const small = randomCrop(24).apply(batch, () => 0.999);
    expect(small.height).toBe(24);
    expect(pixel(small, 0, 0, 0)).toEqual(pixel(batch, 0, 8, 8));
  });

  it('horizontalFlip mirrors with probability p', () => {
    const flipped = horizontalFlip(1).apply(batch, Math.random);
    expect(pixel(flipped, 3, 5, 0)).toEqual(pixel(batch, 3, 5, 31));
    expect(horizontalFlip(1).apply(flipped, Math.random).data).toEqual(images);
    expect(horizontalFlip(0).apply(batch, Math.random).data).toEqual(images);
  });

  it('normalizes per channel', () => {
    const out = toFloat(new Uint8Array([0, 255, 51]), { mean: [0, 0.5, 0.1], std: [1, 0.5, 0.1] });
    expect([...out]).toEqual([
      0,
      1,
      Math.fround(Math.fround(Math.fround(51 / 255) - Math.fround(0.1)) / Math.fround(0.1)),
    ]);
  });
});
