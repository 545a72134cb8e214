import { dilatedConvFilterGradient, type FilterGradAttrs } from '@skipnet/kernel-internals';
import type * as tf from '@tensorflow/tfjs-core';
import { kernelsFor } from '../parallel.ts';
import { forwardConvInfo } from './conv-info.ts';
import { directFilterGrad } from './direct.ts';
import { convolutionMethods } from './methods.ts';
import { disposeAll, runKernel, type WasmBackend, wasmKernels } from './run.ts';
import { isWinogradShape, winogradFilterGrad } from './winograd.ts';

/**
 * dW = colsᵀ · dy as one GEMM with a long reduction: colsᵀ[(a,b,c), p] = x at tap (a,b), channel c
 * of output pixel p (p over N·OH·OW), written from x made channel-major; dy [N·OH·OW, Cout] is
 * already the GEMM's right-hand matrix. XNNPACK runs it as a 1×1 convolution of K "pixels" with
 * N·OH·OW channels.
 */
function im2colGemm(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const p = n * oh * ow;
  const k = kh * kw * cin;
  const pixels = n * h * w;
  const xTInfo = backend.makeOutput([cin, pixels], 'float32');
  const colsInfo = backend.makeOutput([1, 1, k, p], 'float32');
  // Views after both allocations: growing the heap detaches earlier ones.
  const src = backend.typedArrayFromHeap(x);
  const xT = backend.typedArrayFromHeap(xTInfo);
  const cols = backend.typedArrayFromHeap(colsInfo);
  // x to channel-major in tiles of 16 pixels: reads stay in L1, each write fills a cache line.
  // (Measured inside a training step, faster than tfjs-backend-wasm's Transpose.)
  for (let m0 = 0; m0 < pixels; m0 += 16) {
    const m1 = Math.min(m0 + 16, pixels);
    for (let c = 0; c < cin; c++) {
      const row = c * pixels;
      for (let m = m0; m < m1; m++) xT[row + m] = src[m * cin + c] as number;
    }
  }
  if (info.strideHeight === 1 && info.strideWidth === 1 && oh === h && ow === w) {
    colsByShiftedPlanes(cols, xT, info);
  } else {
    colsByRows(cols, xT, info);
  }
  const dw = runKernel(
    'Conv2D',
    backend,
    { x: colsInfo, filter: { ...dy, shape: [1, 1, p, cout] } },
    {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  disposeAll(backend, [xTInfo, colsInfo]);
  return { ...dw, shape: [kh, kw, cin, cout] };
}

/** Every row of colsᵀ read from x's channel plane along image rows: sequential both ways. */
function colsByRows(cols: Float32Array, xT: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  const pixels = n * h * w;
  let q = 0;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      // Output columns j whose input column j·sw + b − padLeft lies inside the image.
      const j0 = Math.max(0, Math.ceil((padInfo.left - b) / sw));
      const j1 = Math.min(ow, Math.floor((w - 1 + padInfo.left - b) / sw) + 1);
      for (let c = 0; c < cin; c++) {
        const plane = c * pixels;
        for (let m = 0; m < n; m++) {
          for (let i = 0; i < oh; i++, q += ow) {
            const y = i * sh - padInfo.top + a;
            // Loops, not fill(): rows are short (3 to 23 columns), so per-call overhead would dominate.
            let j = 0;
            if (y >= 0 && y < h) {
              const line = plane + (m * h + y) * w - padInfo.left + b;
              for (; j < j0; j++) cols[q + j] = 0;
              for (; j < j1; j++) cols[q + j] = xT[line + j * sw] as number;
            }
            for (; j < ow; j++) cols[q + j] = 0;
          }
        }
      }
    }
  }
}

/**
 * Stride 1 with the output the input's size ('same'): row (a, b, c) of colsᵀ is x's whole plane c
 * shifted by (a − padTop)·W + b − padLeft, so one memcpy per row; only the values that the shift
 * brought across an image's edge (from a neighbouring row, image or plane) are then set to zero.
 */
function colsByShiftedPlanes(cols: Float32Array, xT: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin } = info;
  const { filterHeight: kh, filterWidth: kw, padInfo } = info;
  const plane = n * h * w;
  for (let a = 0; a < kh; a++) {
    const down = a - padInfo.top;
    // Rows i whose input row i + down is outside the image.
    const rowsBefore = Math.min(h, Math.max(0, -down));
    const rowsAfter = Math.min(h, Math.max(0, down));
    for (let b = 0; b < kw; b++) {
      const right = b - padInfo.left;
      const colsBefore = Math.min(w, Math.max(0, -right));
      const colsAfter = Math.min(w, Math.max(0, right));
      const shift = down * w + right;
      for (let c = 0; c < cin; c++) {
        const q = ((a * kw + b) * cin + c) * plane;
        const from = c * plane + shift;
        const lo = Math.max(0, -from);
        const hi = Math.min(plane, xT.length - from);
        if (lo > 0) cols.fill(0, q, q + lo);
        if (hi > lo) cols.set(xT.subarray(from + lo, from + hi), q + lo);
        if (hi < plane) cols.fill(0, q + Math.max(hi, lo), q + plane);
        for (let m = 0; m < n; m++) {
          const image = q + m * h * w;
          if (rowsBefore > 0) cols.fill(0, image, image + rowsBefore * w);
          if (rowsAfter > 0) cols.fill(0, image + (h - rowsAfter) * w, image + h * w);
          if (colsBefore + colsAfter === 0) continue;
          for (let i = rowsBefore; i < h - rowsAfter; i++) {
            const row = image + i * w;
            for (let j = 0; j < colsBefore; j++) cols[row + j] = 0;
            for (let j = w - colsAfter; j < w; j++) cols[row + j] = 0;
          }
        }
      }
    }
  }
}

const MAX_COLS = 2 ** 24; // floats of colsᵀ (64 MiB)

/** Whether the im2col GEMM's colsᵀ [kh·kw·Cin, N·OH·OW] fits 64 MiB. */
function colsFit(info: tf.backend_util.Conv2DInfo): boolean {
  const rows = info.filterHeight * info.filterWidth * info.inChannels;
  return rows * info.batchSize * info.outHeight * info.outWidth <= MAX_COLS;
}

/** Measured per shape (see the README): Winograd F(4×4, 3×3) for 3×3 stride 1, else our direct GEMM. */
function autoFormulation(info: tf.backend_util.Conv2DInfo): 'winograd' | 'direct' {
  return isWinogradShape(info) ? 'winograd' : 'direct';
}

export function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: FilterGradAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = forwardConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const formulation = convolutionMethods().filterGradient;
  const chosen = formulation === 'auto' ? autoFormulation(info) : formulation;
  const kernels = chosen === 'winograd' || chosen === 'direct' ? kernelsFor(backend) : undefined;
  if (kernels && chosen === 'winograd' && isWinogradShape(info))
    return winogradFilterGrad(kernels, backend, x, dy, info);
  if (kernels) return directFilterGrad(kernels, backend, x, dy, info);
  // Where our WebAssembly cannot run: the im2col GEMM on XNNPACK while colsᵀ fits, else the dilated convolution.
  const gemm = chosen === 'im2col' || (chosen !== 'dilated' && colsFit(info));
  return gemm
    ? im2colGemm(backend, x, dy, info)
    : dilatedConvFilterGradient(wasmKernels, backend, x, dy, info);
}
