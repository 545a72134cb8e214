import { totalmem } from 'node:os';
import { finalMapSize, type ResNetStem, type Widths } from '@skipnet/resnet';
import * as tf from '@tensorflow/tfjs-core';

/** The parts of a run that decide how big one training step is. */
export interface StepShape {
  stem: ResNetStem;
  widths: Widths;
  /** Residual blocks per stage; the CLI builds the seed's [2, 2, 2, 2]. */
  depths: [number, number, number, number];
  batchSize: number;
}

const BYTES_PER_FLOAT = 4;
/** What one residual block keeps for its backward pass, in feature maps of its output size: conv1, bn1, relu, conv2, bn2, relu, add, relu. */
const MAPS_PER_BLOCK = 8;
/** A projection shortcut adds its 1×1 conv and its BatchNorm. */
const MAPS_PER_PROJECTION = 2;

/** A 3×3 pad-1 (or 1×1) stride-2 convolution's output side. */
const halve = (side: number) => Math.floor((side - 1) / 2) + 1;

/**
 * A lower bound of the memory one training step at `size`×`size` input takes: the float32 activations the
 * gradient tape keeps for the backward pass (the resized input batch, each layer's output), in bytes, and the
 * largest single one. The real peak is higher (gradients, a backend's scratch buffers), so a size whose bound
 * exceeds the memory a backend has cannot train; `image-size.test.ts` checks the bound against tfjs's measured peak.
 */
export function stepActivationBytes(shape: StepShape, size: number): { total: number; largest: number } {
  const maps: number[] = [size * size * 3];
  let side = size;
  const [stemWidth] = shape.widths;
  if (shape.stem === 'seed') {
    side = Math.floor((size - 7) / 2) + 1; // 7×7 stride 2, no padding
    maps.push(...Array(3).fill(side * side * stemWidth)); // conv, BatchNorm, ReLU
    side = halve(side); // 3×3 max-pool, stride 2
    maps.push(side * side * stemWidth);
  } else {
    maps.push(...Array(3).fill(side * side * stemWidth));
  }
  shape.widths.forEach((width, stage) => {
    if (stage > 0) side = halve(side);
    for (let block = 0; block < shape.depths[stage]!; block++) {
      const count = MAPS_PER_BLOCK + (stage > 0 && block === 0 ? MAPS_PER_PROJECTION : 0);
      maps.push(...Array(count).fill(side * side * width));
    }
  });
  const perImage = maps.reduce((a, b) => a + b, 0);
  return {
    total: perImage * shape.batchSize * BYTES_PER_FLOAT,
    largest: Math.max(...maps) * shape.batchSize * BYTES_PER_FLOAT,
  };
}

/** What a backend can hold: in all, and in one tensor (null where the backend does not say). */
export interface MemoryBudget {
  total: number | null;
  largest: number | null;
  /** Where the limits come from, for the message: "wasm32 addresses at most 4 GiB". */
  source: string;
}

const WASM32_MEMORY = 2 ** 32;

/** What the active tfjs backend (`name`, as the CLI chose it) can hold. */
export function memoryBudget(name: string): MemoryBudget {
  if (name === 'wasm') {
    return {
      total: WASM32_MEMORY,
      largest: null,
      source: `wasm32 memory holds at most ${formatBytes(WASM32_MEMORY)}`,
    };
  }
  if (name === 'webgpu') {
    // WebGPU tells no memory size, only the largest buffer a shader may bind.
    const limits = (tf.backend() as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device
      ?.limits;
    const largest = limits?.maxStorageBufferBindingSize ?? null;
    return {
      total: null,
      largest,
      source:
        largest === null ? 'the GPU did not say' : `the GPU binds buffers of at most ${formatBytes(largest)}`,
    };
  }
  return {
    total: totalmem(),
    largest: null,
    source: `this machine has ${formatBytes(totalmem())} of memory`,
  };
}

/** Whether `size` is a side the model takes at all (its feature map does not shrink to nothing). */
export function modelTakes(stem: ResNetStem, size: number): boolean {
  return finalMapSize(stem, size) >= 1;
}

function fits(shape: StepShape, budget: MemoryBudget, size: number): boolean {
  if (!modelTakes(shape.stem, size)) return false;
  const bytes = stepActivationBytes(shape, size);
  return (
    (budget.total === null || bytes.total <= budget.total) &&
    (budget.largest === null || bytes.largest <= budget.largest)
  );
}

/** The sides the model and the memory can take, as a range `lo..hi` (null when none fits). */
export function sizesThatFit(shape: StepShape, budget: MemoryBudget): { lo: number; hi: number } | null {
  let lo = 1;
  while (lo <= 64 && !modelTakes(shape.stem, lo)) lo++;
  if (!fits(shape, budget, lo)) return null;
  // Memory grows with the side, so the largest side that fits is found by doubling, then bisection.
  let hi = lo;
  let step = 1;
  while (fits(shape, budget, hi + step) && hi + step < 2 ** 20) {
    hi += step;
    step *= 2;
  }
  for (; step >= 1; step = Math.floor(step / 2)) if (fits(shape, budget, hi + step)) hi += step;
  return { lo, hi };
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : Number(value.toPrecision(3))} ${units[unit]}`;
}

/**
 * Null when `size` fits the model and the memory `budget`; else the message: what does not fit, the sides that
 * do, and the fix.
 */
export function checkImageSize(shape: StepShape, budget: MemoryBudget, size: number): string | null {
  if (fits(shape, budget, size)) return null;
  const range = sizesThatFit(shape, budget);
  const takes = range
    ? `At --batch-size ${shape.batchSize} the sides that can fit are ${range.lo}..${range.hi}`
    : `At --batch-size ${shape.batchSize} no side fits`;
  if (!modelTakes(shape.stem, size)) {
    return (
      `--image-size ${size} is too small for this model: its feature map shrinks to nothing before the head. ` +
      `${takes}.`
    );
  }
  const bytes = stepActivationBytes(shape, size);
  const over =
    budget.total !== null && bytes.total > budget.total
      ? `one training step keeps at least ${formatBytes(bytes.total)} of activations`
      : `its largest activation alone is ${formatBytes(bytes.largest)}`;
  return (
    `--image-size ${size} does not fit in memory: at --batch-size ${shape.batchSize} ${over}, and ${budget.source}. ` +
    `${takes}; lower --image-size or --batch-size.`
  );
}
