import * as tf from '@tensorflow/tfjs-core';
import { runStockKernel, type WasmBackend } from './run.ts';

/**
 * Copies the slice in the longest contiguous runs: every trailing axis kept whole joins the run
 * (a [N, H, W, C] crop of H and W copies whole rows of W·C values). tfjs-backend-wasm copies one
 * innermost row at a time, which costs a call per C values.
 */
export function slice(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: { begin: number | number[]; size?: number | number[] };
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length === 0) return runStockKernel(tf.Slice, args);
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size) as [number[], number[]];
  const out = backend.makeOutput(size, 'float32');
  const rank = x.shape.length;
  let axis = rank - 1;
  while (axis > 0 && size[axis] === x.shape[axis]) axis--;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  const run = (size[axis] ?? 1) * (strides[axis] as number);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const runs = tf.util.sizeFromShape(size.slice(0, axis));
  const index = new Array<number>(axis).fill(0);
  for (let r = 0, to = 0; r < runs; r++, to += run) {
    let from = (begin[axis] ?? 0) * (strides[axis] as number);
    for (let a = 0; a < axis; a++)
      from += ((begin[a] as number) + (index[a] as number)) * (strides[a] as number);
    dst.set(src.subarray(from, from + run), to);
    for (let a = axis - 1; a >= 0; a--) {
      index[a] = (index[a] as number) + 1;
      if ((index[a] as number) < (size[a] as number)) break;
      index[a] = 0;
    }
  }
  return out;
}
