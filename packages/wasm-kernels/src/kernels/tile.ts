import * as tf from '@tensorflow/tfjs-core';
import { runStockKernel, type WasmBackend } from './run.ts';

/**
 * Tiling that repeats the whole tensor as a block (a per-channel vector broadcast over N, H, W, as
 * tfjs-core's BatchNorm gradient does; a scalar broadcast to a tensor, as `tf.where` with a scalar
 * condition does) is a memory copy: write the block once, then double the written prefix with
 * copyWithin. tfjs-backend-wasm computes every element's source index instead (~0.3 s for a bool
 * scalar broadcast to a 3×3×512×512 filter).
 */
export function tile(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: { reps: number[] };
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const { reps } = attrs;
  // Block repetition: every axis that repeats lies before every axis the block spans.
  let lastRepeated = -1;
  reps.forEach((r, i) => {
    if (r > 1) lastRepeated = i;
  });
  const firstSpanned = x.shape.findIndex((d) => d > 1);
  const isBlock = firstSpanned === -1 || lastRepeated < firstSpanned;
  if (!['float32', 'int32', 'bool'].includes(x.dtype) || !isBlock) return runStockKernel(tf.Tile, args);
  const out = backend.makeOutput(
    x.shape.map((d, i) => d * (reps[i] ?? 1)),
    x.dtype,
  );
  const block = backend.typedArrayFromHeap(x);
  const result = backend.typedArrayFromHeap(out);
  if (result.length === 0) return out;
  result.set(block);
  for (let filled = block.length; filled < result.length; filled *= 2) {
    result.copyWithin(filled, 0, Math.min(filled, result.length - filled));
  }
  return out;
}
