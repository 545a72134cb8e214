/**
 * Batch transforms on uint8 HWC RGB images, in plain typed-array code: no tensor is made per image, and only the
 * final float batch becomes a tensor.
 */

import { requirePositiveInteger } from './validate.ts';

/** `count` images of `height × width × 3` uint8, HWC, one after another. */
export interface ImageBatch {
  readonly data: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
}

/** One stage of a pipeline; `random` is a seeded uniform [0, 1) source, the same for the same seed and batch. */
export interface Transform {
  readonly name: string;
  apply(batch: ImageBatch, random: () => number): ImageBatch;
  /**
   * The built-in transforms describe themselves as data, so a worker can rebuild them ({@link transformFromSpec}).
   * A transform without one (your own) runs on the main thread.
   */
  readonly spec?: TransformSpec;
}

/** A built-in transform as plain data, to send to a worker. */
export type TransformSpec =
  | { kind: 'resize'; height: number; width: number }
  | { kind: 'randomCrop'; size: number; padding: number }
  | { kind: 'horizontalFlip'; probability: number };

/** The built-in transform a {@link TransformSpec} describes. */
export function transformFromSpec(spec: TransformSpec): Transform {
  switch (spec.kind) {
    case 'resize':
      return resize(spec.height, spec.width);
    case 'randomCrop':
      return randomCrop(spec.size, spec.padding);
    case 'horizontalFlip':
      return horizontalFlip(spec.probability);
  }
}

/** Per-channel (or shared) mean and standard deviation applied after `/255`: `(x / 255 − mean) / std`. */
export interface Normalize {
  mean: number | readonly [number, number, number];
  std: number | readonly [number, number, number];
}

// Pillow's fixed-point resampling keeps 22 fractional bits (32 bits, minus 8 for the result, minus 2 spare).
const PRECISION_BITS = 22;

interface Coefficients {
  /** Taps per output pixel. */
  readonly ksize: number;
  /** Per output pixel: first input index and number of taps. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output pixel. */
  readonly weights: Int32Array;
}

const coefficientCache = new Map<string, Coefficients>();

/**
 * The weights of Pillow's BILINEAR resampling along one axis: a triangle filter whose support grows with the
 * downscale factor, centred on `(out + 0.5) · scale`, normalised to sum 1, then rounded half away from zero to
 * 22-bit fixed point — the arithmetic of Pillow's `Resample.c`, reimplemented.
 */
function bilinearCoefficients(inSize: number, outSize: number): Coefficients {
  const key = `${inSize}>${outSize}`;
  const cached = coefficientCache.get(key);
  if (cached) return cached;
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const first = Math.max(0, Math.trunc(center - support + 0.5));
    const taps = Math.min(inSize, Math.trunc(center + support + 0.5)) - first;
    const inverse = 1 / filterScale;
    let total = 0;
    for (let t = 0; t < taps; t++) {
      const d = Math.abs((t + first - center + 0.5) * inverse);
      w[t] = d < 1 ? 1 - d : 0;
      total += w[t]!;
    }
    for (let t = 0; t < taps; t++) {
      const v = total !== 0 ? w[t]! / total : w[t]!;
      weights[o * ksize + t] = Math.trunc(
        v < 0 ? -0.5 + v * 2 ** PRECISION_BITS : 0.5 + v * 2 ** PRECISION_BITS,
      );
    }
    bounds[o * 2] = first;
    bounds[o * 2 + 1] = taps;
  }
  const c = { ksize, bounds, weights };
  coefficientCache.set(key, c);
  return c;
}

const HALF = 1 << (PRECISION_BITS - 1);

function clip8(v: number): number {
  const q = v >> PRECISION_BITS;
  return q < 0 ? 0 : Math.min(q, 255);
}

/** Resamples along x: `rows` rows of `inW` RGB pixels into rows of `outW`, rounding to uint8 as Pillow does. */
function resampleRows(src: Uint8Array, rows: number, inW: number, outW: number, dst: Uint8Array): void {
  const { ksize, bounds, weights } = bilinearCoefficients(inW, outW);
  for (let r = 0; r < rows; r++) {
    const rowIn = r * inW * 3;
    const rowOut = r * outW * 3;
    for (let o = 0; o < outW; o++) {
      const first = bounds[o * 2]!;
      const taps = bounds[o * 2 + 1]!;
      const k = o * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let t = 0; t < taps; t++) {
        const wt = weights[k + t]!;
        const p = rowIn + (first + t) * 3;
        s0 += src[p]! * wt;
        s1 += src[p + 1]! * wt;
        s2 += src[p + 2]! * wt;
      }
      const q = rowOut + o * 3;
      dst[q] = clip8(s0);
      dst[q + 1] = clip8(s1);
      dst[q + 2] = clip8(s2);
    }
  }
}

/** Resamples along y: an `inH × width` RGB image into `outH` rows (row-at-a-time sums, cache friendly). */
function resampleColumns(
  src: Uint8Array,
  inH: number,
  width: number,
  outH: number,
  dst: Uint8Array | Float32Array,
  sums: Int32Array,
  table: FloatTable | null,
): void {
  const { ksize, bounds, weights } = bilinearCoefficients(inH, outH);
  const stride = width * 3;
  for (let o = 0; o < outH; o++) {
    const first = bounds[o * 2]!;
    const taps = bounds[o * 2 + 1]!;
    const rowOut = o * stride;
    const k = o * ksize;
    if (taps === 2) {
      // Upscaling needs at most two taps: one fused loop instead of four passes over the row.
      const w0 = weights[k]!;
      const w1 = weights[k + 1]!;
      const a = first * stride;
      const b = a + stride;
      if (table) {
        const values = table.values;
        for (let i = 0; i < stride; i += 3) {
          const j = rowOut + i;
          dst[j] = values[clip8(HALF + src[a + i]! * w0 + src[b + i]! * w1)]!;
          dst[j + 1] = values[256 + clip8(HALF + src[a + i + 1]! * w0 + src[b + i + 1]! * w1)]!;
          dst[j + 2] = values[512 + clip8(HALF + src[a + i + 2]! * w0 + src[b + i + 2]! * w1)]!;
        }
      } else {
        for (let i = 0; i < stride; i++) dst[rowOut + i] = clip8(HALF + src[a + i]! * w0 + src[b + i]! * w1);
      }
      continue;
    }
    sums.fill(HALF);
    for (let t = 0; t < taps; t++) {
      const wt = weights[k + t]!;
      const row = (first + t) * stride;
      for (let i = 0; i < stride; i++) sums[i] = sums[i]! + src[row + i]! * wt;
    }
    if (table) {
      const { values, channel } = table;
      for (let i = 0; i < stride; i++) dst[rowOut + i] = values[channel[i]! + clip8(sums[i]!)]!;
    } else {
      for (let i = 0; i < stride; i++) dst[rowOut + i] = clip8(sums[i]!);
    }
  }
}

/**
 * Resizes a batch, writing uint8 or — with `table` — the normalised floats straight from the last pass, which
 * saves a pass over the largest array of the pipeline.
 */
function resizeBatch(
  batch: ImageBatch,
  height: number,
  width: number,
  table: FloatTable | null,
  into?: ArrayBuffer,
) {
  const { count, height: inH, width: inW } = batch;
  const inBytes = inH * inW * 3;
  const outBytes = height * width * 3;
  const out = table ? floats(count * outBytes, into) : new Uint8Array(count * outBytes);
  const rowPass = inW === width ? null : new Uint8Array(inH * width * 3);
  const sums = new Int32Array(width * 3);
  for (let n = 0; n < count; n++) {
    const image = batch.data.subarray(n * inBytes, (n + 1) * inBytes);
    let rows = image;
    if (rowPass) {
      resampleRows(image, inH, inW, width, rowPass);
      rows = rowPass;
    }
    const dst = out.subarray(n * outBytes, (n + 1) * outBytes);
    if (inH !== height) resampleColumns(rows, inH, width, height, dst, sums, table);
    else if (table) dst.set(applyTable(rows, table));
    else dst.set(rows);
  }
  return out;
}

/**
 * Resizes with the arithmetic of Pillow's `Image.resize(size, Image.BILINEAR)` on an RGB image: a horizontal pass,
 * then a vertical one, each rounded to uint8. This is the seed's `resize((96, 96))`.
 */
export function resize(height: number, width: number = height): Transform {
  requirePositiveInteger('resize', 'height', height);
  requirePositiveInteger('resize', 'width', width);
  return {
    name: `resize(${height}x${width}, bilinear as PIL)`,
    spec: { kind: 'resize', height, width },
    apply(batch) {
      if (batch.height === height && batch.width === width) return batch;
      return {
        data: resizeBatch(batch, height, width, null) as Uint8Array,
        count: batch.count,
        height,
        width,
      };
    },
  };
}

/**
 * Pads each image with `padding` zero pixels on every side, then cuts a random `size × size` window
 * (torchvision's `RandomCrop(size, padding)`).
 */
export function randomCrop(size: number, padding = 0): Transform {
  requirePositiveInteger('randomCrop', 'size', size);
  if (!Number.isInteger(padding) || padding < 0) {
    throw new Error(`randomCrop: padding must be a non-negative integer, got ${padding}`);
  }
  return {
    name: `randomCrop(${size}, padding ${padding})`,
    spec: { kind: 'randomCrop', size, padding },
    apply(batch, random) {
      const { count, height, width } = batch;
      const spanY = height + 2 * padding - size;
      const spanX = width + 2 * padding - size;
      if (spanY < 0 || spanX < 0) {
        throw new Error(
          `randomCrop: a ${size}×${size} window does not fit in ${height}×${width} images padded by ${padding}`,
        );
      }
      const inBytes = height * width * 3;
      const out = new Uint8Array(count * size * size * 3);
      for (let n = 0; n < count; n++) {
        const top = Math.floor(random() * (spanY + 1)) - padding;
        const left = Math.floor(random() * (spanX + 1)) - padding;
        const x0 = Math.max(0, -left);
        const x1 = Math.min(size, width - left);
        if (x1 <= x0) continue;
        for (let y = 0; y < size; y++) {
          const sy = y + top;
          if (sy < 0 || sy >= height) continue;
          const from = n * inBytes + (sy * width + left + x0) * 3;
          out.set(batch.data.subarray(from, from + (x1 - x0) * 3), ((n * size + y) * size + x0) * 3);
        }
      }
      return { data: out, count, height: size, width: size };
    },
  };
}

/** Mirrors each image left–right with probability `probability` (torchvision's `RandomHorizontalFlip`). */
export function horizontalFlip(probability = 0.5): Transform {
  if (!(probability >= 0 && probability <= 1)) {
    throw new Error(`horizontalFlip: probability must be in [0, 1], got ${probability}`);
  }
  return {
    name: `horizontalFlip(p=${probability})`,
    spec: { kind: 'horizontalFlip', probability },
    apply(batch, random) {
      const { count, height, width } = batch;
      const out = new Uint8Array(batch.data);
      const row = width * 3;
      for (let n = 0; n < count; n++) {
        if (!(random() < probability)) continue;
        for (let y = 0; y < height; y++) {
          const base = (n * height + y) * row;
          for (let x = 0; x < width; x++) {
            const s = base + (width - 1 - x) * 3;
            const d = base + x * 3;
            out[d] = batch.data[s]!;
            out[d + 1] = batch.data[s + 1]!;
            out[d + 2] = batch.data[s + 2]!;
          }
        }
      }
      return { data: out, count, height, width };
    },
  };
}

/** `values[channel[i] + v]`: the float for byte value v at position i of an HWC row. */
interface FloatTable {
  values: Float32Array;
  channel: Int32Array;
}

function floatTable(normalize: Normalize, rowLength: number): FloatTable {
  const f = Math.fround;
  const values = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const mean = typeof normalize.mean === 'number' ? normalize.mean : normalize.mean[c]!;
    const std = typeof normalize.std === 'number' ? normalize.std : normalize.std[c]!;
    if (!(std !== 0 && Number.isFinite(std) && Number.isFinite(mean))) {
      throw new Error(
        `normalize: mean and std must be finite and std non-zero, got mean ${mean}, std ${std}`,
      );
    }
    for (let v = 0; v < 256; v++) values[c * 256 + v] = f(f(f(v / 255) - f(mean)) / f(std));
  }
  const channel = new Int32Array(rowLength);
  for (let i = 0; i < rowLength; i++) channel[i] = (i % 3) * 256;
  return { values, channel };
}

/**
 * `length` floats in `into` when it is large enough (a buffer handed back for reuse: every element is written
 * before it is read), else a new array.
 */
function floats(length: number, into: ArrayBuffer | undefined): Float32Array {
  return into && into.byteLength >= length * 4 ? new Float32Array(into, 0, length) : new Float32Array(length);
}

function applyTable(data: Uint8Array, table: FloatTable, into?: ArrayBuffer): Float32Array {
  const { values } = table;
  const out = floats(data.length, into);
  for (let i = 0; i < data.length; i += 3) {
    out[i] = values[data[i]!]!;
    out[i + 1] = values[256 + data[i + 1]!]!;
    out[i + 2] = values[512 + data[i + 2]!]!;
  }
  return out;
}

/**
 * Converts uint8 HWC to float32 `(x / 255 − mean) / std`, each step rounded to float32 as PyTorch and NumPy do it
 * on float32 arrays, so that the seed's `(x / 255 − 0.5) / 0.5` is reproduced bit for bit.
 */
export function toFloat(data: Uint8Array, normalize: Normalize = { mean: 0, std: 1 }): Float32Array {
  return applyTable(data, floatTable(normalize, 0));
}

/**
 * Runs `transforms` on a uint8 batch and normalises it to float32. A final `resize` writes the floats itself
 * (same values as resize, then {@link toFloat}). The floats go into `into` when it is large enough (the batch pool
 * reuses the buffers of batches the backend has copied), else into a new array.
 */
export function transformToFloat(
  batch: ImageBatch,
  transforms: readonly Transform[],
  normalize: Normalize = { mean: 0, std: 1 },
  random: () => number,
  into?: ArrayBuffer,
): { data: Float32Array; height: number; width: number } {
  const last = transforms.at(-1)?.spec;
  const fused = last?.kind === 'resize' ? last : null;
  let b = batch;
  for (const t of fused ? transforms.slice(0, -1) : transforms) b = t.apply(b, random);
  if (fused) {
    const { height, width } = fused;
    return {
      data: resizeBatch(b, height, width, floatTable(normalize, width * 3), into) as Float32Array,
      height,
      width,
    };
  }
  return { data: applyTable(b.data, floatTable(normalize, 0), into), height: b.height, width: b.width };
}

/** The seed's `data_treating`: PIL bilinear resize to 96×96, `/255`, `(x − 0.5) / 0.5`. Spread into `batches()`. */
export function seedTransform(): { transform: Transform[]; normalize: Normalize } {
  return { transform: [resize(96)], normalize: { mean: 0.5, std: 0.5 } };
}
