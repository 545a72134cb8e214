import * as tf from '@tensorflow/tfjs-core';
import { disposeAll, runKernel, runStockKernel, type WasmBackend } from './run.ts';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

type ReduceArgs = { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: ReduceAttrs };

/**
 * Sums over leading axes (BatchNorm's statistics and its gradient reduce NHWC over N, H, W) in one
 * pass. tfjs-backend-wasm first transposes the reduced axes innermost, a full strided copy that
 * costs more than the sum; here each channel accumulates in float64 while reading memory in order.
 * Over N, H and W of an NHWC tensor, XNNPACK's average pooling with an H×W window first averages
 * each image (SIMD, on every thread: 10–20× faster than this loop), so only N·C values are left.
 */
function reduceLeading(name: string, args: ReduceArgs, scaleByCount: boolean): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.every((axis, i) => axis === i);
  if (x.dtype !== 'float32' || !leading || axes.length === 0) return runStockKernel(name, args);
  const kept = x.shape.slice(axes.length);
  const inner = tf.util.sizeFromShape(kept);
  const outShape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  const [n, h, w] = x.shape as [number, number, number, number];
  if (x.shape.length === 4 && axes.length === 3 && h * w > 1) {
    const pooled = runKernel(
      'AvgPool',
      backend,
      { x },
      { filterSize: [h, w], strides: [1, 1], pad: 'valid', dimRoundingMode: undefined },
    );
    const out = sumRows(backend, pooled, n, inner, outShape, scaleByCount ? 1 / n : h * w);
    disposeAll(backend, [pooled]);
    return out;
  }
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
  return sumRows(backend, x, outer, inner, outShape, scaleByCount ? 1 / outer : 1);
}

/** scale · Σ over the `outer` rows of x viewed as [outer, inner]. */
function sumRows(
  backend: WasmBackend,
  x: tf.TensorInfo,
  outer: number,
  inner: number,
  outShape: number[],
  scale: number,
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  const values = backend.typedArrayFromHeap(x);
  const acc = new Float64Array(inner);
  for (let i = 0, base = 0; i < outer; i++, base += inner) {
    for (let j = 0; j < inner; j++) acc[j] = (acc[j] as number) + (values[base + j] as number);
  }
  const result = backend.typedArrayFromHeap(out);
  for (let j = 0; j < inner; j++) result[j] = (acc[j] as number) * scale;
  return out;
}

export function sum(args: ReduceArgs): tf.TensorInfo {
  return reduceLeading(tf.Sum, args, false);
}

export function mean(args: ReduceArgs): tf.TensorInfo {
  return reduceLeading(tf.Mean, args, true);
}
