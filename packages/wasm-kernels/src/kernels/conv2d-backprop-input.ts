import * as tf from '@tensorflow/tfjs-core';
import { type ConvGradAttrs, forwardConvInfo } from './conv-info.js';
import { disposeAll, runKernel, runStockKernel, type WasmBackend } from './run.js';

interface InputGradAttrs extends ConvGradAttrs {
  inputShape: [number, number, number, number];
}

/** Placement of one spatial axis of the sub-pixel convolution. */
interface AxisPlan {
  /** Taps of each phase's sub-filter: ceil(k / stride). */
  taps: number;
  /** dy rows cut from the start and the end (a convolution cannot pad negatively). */
  cropStart: number;
  cropEnd: number;
  padStart: number;
  padEnd: number;
  /** Where dx starts in the depth-to-space output. */
  offset: number;
}

/**
 * dx[u − pad] with u = q·s + r only sees filter taps a ≡ r (mod s): a = r + s·t, dy row q − t. So
 * every phase r is a stride-1 convolution of dy with the sub-filter w[r + s·t], and all s² phases
 * are one convolution whose output channels stack the phases; DepthToSpace interleaves them. One
 * XNNPACK convolution does the work in place of tfjs-backend-wasm's scalar loop.
 */
function planAxis(k: number, s: number, pad: number, dx: number, dy: number): AxisPlan {
  const taps = Math.ceil(k / s);
  const first = Math.floor(pad / s);
  const last = Math.floor((pad + dx - 1) / s);
  const padStart = taps - 1 - first;
  const cropStart = Math.max(-padStart, 0);
  const rows = last - first + 1;
  const padEnd = rows - 1 + taps - padStart - (dy - cropStart);
  const cropEnd = Math.max(-padEnd, 0);
  return {
    taps,
    cropStart,
    cropEnd,
    padStart: Math.max(padStart, 0),
    padEnd: Math.max(padEnd, 0),
    offset: pad - first * s,
  };
}

/** G[th, tw, o, (rh·s + rw)·cin + c] = w[rh + s·(T−1−th), rw + s·(T−1−tw), c, o], zero past k. */
function subPixelFilter(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  rows: AxisPlan,
  cols: AxisPlan,
  sh: number,
  sw: number,
): tf.TensorInfo {
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const { taps: th } = rows;
  const { taps: tw } = cols;
  const phases = sh * sw;
  const out = backend.makeOutput([th, tw, cout, phases * cin], 'float32');
  const g = backend.typedArrayFromHeap(out);
  const w = backend.typedArrayFromHeap(filter);
  g.fill(0);
  for (let i = 0; i < th; i++) {
    for (let rh = 0; rh < sh; rh++) {
      const a = rh + sh * (th - 1 - i);
      if (a >= kh) continue;
      for (let j = 0; j < tw; j++) {
        for (let rw = 0; rw < sw; rw++) {
          const b = rw + sw * (tw - 1 - j);
          if (b >= kw) continue;
          const phase = (rh * sw + rw) * cin;
          const src = (a * kw + b) * cin * cout;
          const dst = (i * tw + j) * cout * phases * cin + phase;
          for (let c = 0; c < cin; c++) {
            for (let o = 0; o < cout; o++) {
              g[dst + o * phases * cin + c] = w[src + c * cout + o] as number;
            }
          }
        }
      }
    }
  }
  return out;
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
  const [n, h, w, cin] = attrs.inputShape;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  // DepthToSpace interleaves square blocks only.
  if (sh !== sw) return runStockKernel(tf.Conv2DBackpropInput, args);
  const rows = planAxis(kh, sh, padInfo.top, h, info.outHeight);
  const cols = planAxis(kw, sw, padInfo.left, w, info.outWidth);

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
  const g = subPixelFilter(backend, filter, rows, cols, sh, sw);
  temps.push(g);
  let result = runKernel(
    'Conv2D',
    backend,
    { x: dyUsed, filter: g },
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
  if (sh > 1) {
    temps.push(result);
    result = runKernel('DepthToSpace', backend, { x: result }, { blockSize: sh, dataFormat: 'NHWC' });
  }
  const [, rh, rw] = result.shape as [number, number, number, number];
  if (rows.offset > 0 || cols.offset > 0 || rh !== h || rw !== w) {
    temps.push(result);
    result = runKernel(
      'Slice',
      backend,
      { x: result },
      {
        begin: [0, rows.offset, cols.offset, 0],
        size: [n, h, w, cin],
      },
    );
  }
  disposeAll(backend, temps);
  return result;
}
