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

  // Rows and columns of x past the last one any output reads are cut off, since a convolution
  // cannot take negative padding.
  const bottom = kh - 1 - padInfo.top + (outHeight - 1) * sh - (inHeight - 1);
  const right = kw - 1 - padInfo.left + (outWidth - 1) * sw - (inWidth - 1);
  const temps: tf.TensorInfo[] = [];
  let xUsed = x;
  if (bottom < 0 || right < 0) {
    const [n, , , c] = x.shape as [number, number, number, number];
    xUsed = runKernel(
      'Slice',
      backend,
      { x },
      {
        begin: [0, 0, 0, 0],
        size: [n, inHeight + Math.min(bottom, 0), inWidth + Math.min(right, 0), c],
      },
    );
    temps.push(xUsed);
  }
  const xT = runKernel('Transpose', backend, { x: xUsed }, { perm: [3, 1, 2, 0] });
  const dyT = runKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  temps.push(xT, dyT);
  const dwT = runKernel(
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
  temps.push(dwT);
  const dw = runKernel('Transpose', backend, { x: dwT }, { perm: [1, 2, 0, 3] });
  disposeAll(backend, temps);
  return dw;
}
