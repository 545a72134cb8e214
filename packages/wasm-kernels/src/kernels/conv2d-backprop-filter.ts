import type * as tf from '@tensorflow/tfjs-core';
import { type ConvGradAttrs, forwardConvInfo } from './conv-info.js';
import { disposeAll, runKernel, type WasmBackend } from './run.js';

interface FilterGradAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/**
 * dW[a,b,c,o] = Σ_{n,i,j} x[n, i·s + a − padTop, j·s + b − padLeft, c] · dy[n,i,j,o] is itself a
 * forward convolution: channels of x become the batch, the batch becomes the input channels, dy
 * becomes a filter dilated by the stride, and the output's "image" is the kh×kw filter. That runs
 * on XNNPACK's convolution, the fastest thing the wasm backend has.
 */
export function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: FilterGradAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = forwardConvInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { inHeight, inWidth, outHeight, outWidth, padInfo } = info;

  // When x has rows or columns past the last one any output reads, the convolution (which cannot
  // pad negatively) computes extra filter rows or columns, cut from the small result: cheaper than
  // cutting x.
  const bottom = kh - 1 - padInfo.top + (outHeight - 1) * sh - (inHeight - 1);
  const right = kw - 1 - padInfo.left + (outWidth - 1) * sw - (inWidth - 1);
  const xT = runKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = runKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const temps = [xT, dyT];
  let dwT = runKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [padInfo.top, Math.max(bottom, 0)],
        [padInfo.left, Math.max(right, 0)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    },
  );
  if (bottom < 0 || right < 0) {
    temps.push(dwT);
    const [cin, , , cout] = dwT.shape as [number, number, number, number];
    dwT = runKernel('Slice', backend, { x: dwT }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
  }
  temps.push(dwT);
  const dw = runKernel('Transpose', backend, { x: dwT }, { perm: [1, 2, 0, 3] });
  disposeAll(backend, temps);
  return dw;
}
