import type { ConvGradAttrs } from '@skipnet/kernel-internals';
import type * as tf from '@tensorflow/tfjs-core';
import { kernelsFor } from '../parallel.ts';
import { forwardConvInfo } from './conv-info.ts';
import { directInputGrad } from './direct.ts';
import { convolutionMethods } from './methods.ts';
import { disposeAll, runKernel, type WasmBackend } from './run.ts';
import { isWinogradShape, winogradInputGrad } from './winograd.ts';

interface InputGradAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/** Padding, or cropping where it would be negative, of one spatial axis of dy for the flipped conv. */
interface AxisPlan {
  cropStart: number;
  cropEnd: number;
  padStart: number;
  padEnd: number;
}

/** dx[u] = Σ_a dy[u + pad − a] · w[a]: pad dy by k − 1 − pad before and as needed after. */
function planAxis(k: number, pad: number, dx: number, dy: number): AxisPlan {
  const cropStart = Math.max(pad - (k - 1), 0);
  const padStart = Math.max(k - 1 - pad, 0);
  const padEnd = dx - 1 + k - padStart - (dy - cropStart);
  return { cropStart, cropEnd: Math.max(-padEnd, 0), padStart, padEnd: Math.max(padEnd, 0) };
}

/** g[i, j, o, c] = w[kh − 1 − i, kw − 1 − j, c, o]. */
function flippedFilter(backend: WasmBackend, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const out = backend.makeOutput([kh, kw, cout, cin], 'float32');
  const g = backend.typedArrayFromHeap(out);
  const w = backend.typedArrayFromHeap(filter);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * cin * cout;
      const dst = (i * kw + j) * cout * cin;
      for (let c = 0; c < cin; c++) {
        for (let o = 0; o < cout; o++) g[dst + o * cin + c] = w[src + c * cout + o] as number;
      }
    }
  }
  return out;
}

/**
 * Strided: cols[n,i,j,(a,b,c)] = Σ_o dy[n,i,j,o] · w[a,b,c,o] is one matrix product (a 1×1
 * convolution, XNNPACK's GEMM, with exactly the forward's multiply-adds), then col2im adds each
 * column into dx[n, i·s + a − padTop, j·s + b − padLeft, c]: a pass over memory in order.
 */
function gemmCol2im(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  const k = kh * kw * cin;
  const wT = runKernel('Transpose', backend, { x: { ...filter, shape: [k, cout] } }, { perm: [1, 0] });
  const cols = runKernel(
    'Conv2D',
    backend,
    { x: dy, filter: { ...wT, shape: [1, 1, cout, k] } },
    {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  const dx = backend.makeOutput([n, h, w, cin], 'float32');
  const out = backend.typedArrayFromHeap(dx);
  const src = backend.typedArrayFromHeap(cols);
  out.fill(0);
  let from = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let a = 0; a < kh; a++) {
          const y = i * sh - padInfo.top + a;
          for (let c = 0; c < kw; c++, from += cin) {
            const x = j * sw - padInfo.left + c;
            if (y < 0 || y >= h || x < 0 || x >= w) continue;
            const to = ((b * h + y) * w + x) * cin;
            for (let ch = 0; ch < cin; ch++)
              out[to + ch] = (out[to + ch] as number) + (src[from + ch] as number);
          }
        }
      }
    }
  }
  disposeAll(backend, [wT, cols]);
  return dx;
}

/**
 * Stride 1: dx is the forward convolution of dy with the filter flipped and its channels swapped,
 * one XNNPACK convolution in place of tfjs-backend-wasm's scalar loop.
 */
function flippedConv(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, padInfo } = info;
  const rows = planAxis(info.filterHeight, padInfo.top, h, info.outHeight);
  const cols = planAxis(info.filterWidth, padInfo.left, w, info.outWidth);
  const temps: tf.TensorInfo[] = [];
  let dyUsed = dy;
  if (rows.cropStart + rows.cropEnd + cols.cropStart + cols.cropEnd > 0) {
    dyUsed = runKernel(
      'Slice',
      backend,
      { x: dy },
      {
        begin: [0, rows.cropStart, cols.cropStart, 0],
        size: [
          n,
          info.outHeight - rows.cropStart - rows.cropEnd,
          info.outWidth - cols.cropStart - cols.cropEnd,
          info.outChannels,
        ],
      },
    );
    temps.push(dyUsed);
  }
  const flipped = flippedFilter(backend, filter);
  temps.push(flipped);
  const dx = runKernel(
    'Conv2D',
    backend,
    { x: dyUsed, filter: flipped },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [rows.padStart, rows.padEnd],
        [cols.padStart, cols.padEnd],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  disposeAll(backend, temps);
  return dx;
}

/** Measured per shape (see the README): Winograd F(4×4, 3×3) where it applies, else our direct convolution. */
function autoMethod(info: tf.backend_util.Conv2DInfo): 'winograd' | 'direct' {
  return isWinogradShape(info) ? 'winograd' : 'direct';
}

export function conv2dBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: InputGradAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const info = forwardConvInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
  const method = convolutionMethods().inputGradient;
  const chosen = method === 'auto' ? autoMethod(info) : method;
  const kernels = chosen !== 'xnnpack' ? kernelsFor(backend) : undefined;
  if (kernels && chosen === 'winograd' && isWinogradShape(info))
    return winogradInputGrad(kernels, backend, dy, filter, info);
  if (kernels) return directInputGrad(kernels, backend, dy, filter, info);
  // Where our WebAssembly cannot run: XNNPACK.
  return info.strideHeight === 1 && info.strideWidth === 1
    ? flippedConv(backend, dy, filter, info)
    : gemmCol2im(backend, dy, filter, info);
}
