import { dilatedConvFilterGradient, type FilterGradAttrs } from '@skipnet/kernel-internals';
import * as tf from '@tensorflow/tfjs-core';
import { elementwiseProgram, type ProgramRunner } from './program.ts';
import { disposeAll, runKernel, runStockKernel, webgpuKernels } from './run.ts';

/**
 * How the filter gradient is formed from the webgpu backend's fast kernels:
 * - `'im2col'`: the kh·kw strided windows of x side by side (im2col), then one batched matmul whose batch splits the
 *   long N·OH·OW reduction into parts, then a sum over the parts. Splitting gives the GPU thousands of workgroups
 *   where an unsplit matmul has a few dozen, each looping over N·OH·OW.
 * - `'im2col-splitk'`: the same im2col, then one unsplit matmul with tfjs's own split-K program forced (atomic adds
 *   into the output, no sum dispatch).
 * - `'conv'`: dW as one forward convolution of transposed x with dy as a filter dilated by the stride (the code
 *   @skipnet/wasm-kernels falls back to, shared through @skipnet/kernel-internals). tfjs-webgpu tiles it with only
 *   kh·kw output rows per image of the conv's batch, so it is expected to be the slowest of the three on a GPU; kept
 *   to measure that.
 */
export type FilterGradientMethod = 'im2col' | 'im2col-splitk' | 'conv';

export const FILTER_GRADIENT_METHODS: readonly FilterGradientMethod[] = ['im2col', 'im2col-splitk', 'conv'];

let method: FilterGradientMethod = 'im2col';
let maxColsBytes = Number.POSITIVE_INFINITY;

/** Chooses the formulation and the im2col byte budget (see registerWebGPUTrainingKernels). */
export function configureFilterGradient(options: {
  method: FilterGradientMethod;
  maxColsBytes?: number;
}): void {
  if (!FILTER_GRADIENT_METHODS.includes(options.method)) {
    throw new Error(
      `@skipnet/webgpu: unknown filterGradient '${options.method}'; use one of ${FILTER_GRADIENT_METHODS.join(', ')}.`,
    );
  }
  const bytes = options.maxColsBytes ?? Number.POSITIVE_INFINITY;
  if (!(bytes > 0)) {
    throw new Error(`@skipnet/webgpu: maxIm2colBytes must be a positive number of bytes, got ${bytes}.`);
  }
  method = options.method;
  maxColsBytes = bytes;
}

const MAX_STRIDE = 2;
const MAX_KERNEL = 7;

/** The convolution's geometry when this kernel covers it; undefined sends the case to the stock kernel. */
export function coveredConv(
  xShape: readonly number[],
  dtype: tf.DataType,
  attrs: FilterGradAttrs,
): tf.backend_util.Conv2DInfo | undefined {
  if (attrs.dataFormat !== 'NHWC' || dtype !== 'float32') return undefined;
  // tfjs sizes both output dimensions from the filter's height when the padding is a number; the stock kernel
  // keeps whatever that gives for non-square filters.
  if (typeof attrs.pad === 'number' && attrs.filterShape[0] !== attrs.filterShape[1]) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const fits =
    info.strideHeight <= MAX_STRIDE &&
    info.strideWidth <= MAX_STRIDE &&
    info.filterHeight <= MAX_KERNEL &&
    info.filterWidth <= MAX_KERNEL &&
    info.outHeight > 0 &&
    info.outWidth > 0;
  return fits ? info : undefined;
}

// About as many workgroups as an H200 holds at once (132 SMs × 32 workgroups of 64 threads); fewer parts when
// each would get under two 32-deep tiles of the reduction.
const TARGET_WORKGROUPS = 4096;
const MIN_ROWS_PER_PART = 64;

/** Into how many equal parts the reduction over k = N·OH·OW rows is split (a divisor of k). */
export function reductionParts(k: number, m: number, cout: number): number {
  const tiles = Math.ceil(m / 32) * Math.ceil(cout / 32);
  let parts = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(k / MIN_ROWS_PER_PART)));
  while (k % parts !== 0) parts--;
  return parts;
}

const SPLIT_K_FLAG = 'WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL';

/** Runs `f` with tfjs-webgpu's "few workgroups" threshold raised, so its matmul takes the split-K program. */
function withSplitK<T>(f: () => T): T {
  const env = tf.env();
  const previous = env.getNumber(SPLIT_K_FLAG);
  env.set(SPLIT_K_FLAG, Number.MAX_SAFE_INTEGER);
  try {
    return f();
  } finally {
    env.set(SPLIT_K_FLAG, previous);
  }
}

/**
 * x's windows side by side, [N·OH·OW, kh·kw·Cin] in dW's own (kh, kw, Cin) column order, zeros where a window
 * reaches into the padding: one pass, where slicing each of the kh·kw windows and concatenating them took kh·kw + 2.
 */
function im2col(x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, backend: ProgramRunner): tf.TensorInfo {
  const { batchSize: n, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw, inChannels } = info;
  const program = elementwiseProgram({
    key: 'im2col_filter_gradient',
    variableNames: ['X'],
    outputShape: [n * oh * ow, kh * kw * inChannels],
    uniforms:
      'filterWidth : i32, strideHeight : i32, strideWidth : i32, padTop : i32, padLeft : i32, ' +
      'outHeight : i32, outWidth : i32,',
    body: `
      let columns = uniforms.outShape.y;
      let row = index / columns;
      let column = index % columns;
      let height = uniforms.xShape.y;
      let width = uniforms.xShape.z;
      let channels = uniforms.xShape.w;
      let c = column % channels;
      let window = column / channels;
      let j = row % uniforms.outWidth;
      let image = row / uniforms.outWidth;
      let h = (image % uniforms.outHeight) * uniforms.strideHeight + window / uniforms.filterWidth - uniforms.padTop;
      let w = j * uniforms.strideWidth + window % uniforms.filterWidth - uniforms.padLeft;
      var value = 0.0;
      if (h >= 0 && h < height && w >= 0 && w < width) {
        value = X[((image / uniforms.outHeight * height + h) * width + w) * channels + c];
      }
      result[index] = value;`,
  });
  const uniforms = [kw, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, oh, ow];
  return backend.runWebGPUProgram(
    program,
    [x],
    'float32',
    uniforms.map((value) => ({ type: 'int32' as const, data: [value] })),
  );
}

/** dW = im2col(x)ᵀ · dy. */
function im2colFilterGradient(
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  backend: ProgramRunner,
  splitK: boolean,
): tf.TensorInfo {
  const { batchSize: n, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const cols = im2col(x, info, backend);
  const temps: tf.TensorInfo[] = [cols];
  const k = n * oh * ow;
  const m = kh * kw * cin;
  const parts = splitK ? 1 : reductionParts(k, m, cout);
  const a = runKernel(tf.Reshape, backend, { x: cols }, { shape: [parts, k / parts, m] });
  const b = runKernel(tf.Reshape, backend, { x: dy }, { shape: [parts, k / parts, cout] });
  temps.push(a, b);
  const matmul = () => runKernel(tf.BatchMatMul, backend, { a, b }, { transposeA: true, transposeB: false });
  let dw = splitK ? withSplitK(matmul) : matmul();
  if (parts > 1) {
    temps.push(dw);
    dw = runKernel(tf.Sum, backend, { x: dw }, { axis: [0], keepDims: false });
  }
  temps.push(dw);
  const result = runKernel(tf.Reshape, backend, { x: dw }, { shape: [kh, kw, cin, cout] });
  disposeAll(backend, temps);
  return result;
}

/** Images per im2col chunk: as many as fit the byte budget, spread evenly; 0 when not even one image fits. */
export function imagesPerChunk(n: number, bytesPerImage: number, budget: number): number {
  const fit = Math.floor(budget / bytesPerImage);
  if (fit < 1) return 0;
  return Math.ceil(n / Math.ceil(n / fit));
}

/** im2col over chunks of the batch when its matrix would exceed the budget, adding the chunks' gradients. */
function chunkedIm2colFilterGradient(
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  backend: ProgramRunner,
  perChunk: number,
): tf.TensorInfo {
  const splitK = method === 'im2col-splitk';
  if (perChunk >= info.batchSize) return im2colFilterGradient(x, dy, info, backend, splitK);
  const [, h, w, cin] = x.shape as [number, number, number, number];
  let total: tf.TensorInfo | undefined;
  for (let start = 0; start < info.batchSize; start += perChunk) {
    const size = Math.min(perChunk, info.batchSize - start);
    const xs = runKernel(tf.Slice, backend, { x }, { begin: [start, 0, 0, 0], size: [size, h, w, cin] });
    const dys = runKernel(
      tf.Slice,
      backend,
      { x: dy },
      { begin: [start, 0, 0, 0], size: [size, info.outHeight, info.outWidth, info.outChannels] },
    );
    const part = im2colFilterGradient(xs, dys, { ...info, batchSize: size }, backend, splitK);
    disposeAll(backend, [xs, dys]);
    if (total === undefined) {
      total = part;
    } else {
      const sum = runKernel(tf.Add, backend, { a: total, b: part }, {});
      disposeAll(backend, [total, part]);
      total = sum;
    }
  }
  return total!;
}

/** Conv2DBackpropFilter for the webgpu backend, from its fast kernels; other cases go to the stock kernel. */
export function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: ProgramRunner;
  attrs: FilterGradAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = coveredConv(x.shape, x.dtype, attrs);
  if (info === undefined) return runStockKernel(tf.Conv2DBackpropFilter, args);
  // Each image's rows of the im2col matrix; a chunk's matrix must fit one storage binding and the budget.
  const bytesPerImage =
    4 * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  const budget = Math.min(maxColsBytes, backend.device.limits.maxStorageBufferBindingSize);
  const perChunk = imagesPerChunk(info.batchSize, bytesPerImage, budget);
  // The convolution needs no buffer larger than x.
  if (method === 'conv' || perChunk === 0)
    return dilatedConvFilterGradient(webgpuKernels, backend, x, dy, info);
  return chunkedIm2colFilterGradient(x, dy, info, backend, perChunk);
}
