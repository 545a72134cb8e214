import type * as tf from '@tensorflow/tfjs-core';
import type { CompositeKernels, KernelBackendLike } from './composite.ts';

/** The attributes tfjs-core gives both conv gradient kernels (Conv2DBackpropInput, Conv2DBackpropFilter). */
export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Conv2DBackpropFilter's attributes. */
export interface FilterGradAttrs extends ConvGradAttrs {
  filterShape: [number, number, number, number];
}

/**
 * dW[a,b,c,o] = Σ_{n,i,j} x[n, i·s + a − padTop, j·s + b − padLeft, c] · dy[n,i,j,o] as one forward convolution,
 * from the backend's own kernels: channels of x become the batch, the batch becomes the input channels, dy becomes
 * a filter dilated by the stride, and the output's "image" is the kh×kw filter.
 */
export function dilatedConvFilterGradient<B extends KernelBackendLike>(
  kernels: CompositeKernels<B>,
  backend: B,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { runKernel, disposeAll } = kernels;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { inHeight, inWidth, outHeight, outWidth, padInfo } = info;
  // When x has rows or columns past the last one any output reads, the convolution (which cannot pad negatively)
  // computes extra filter rows or columns, cut from the small result: cheaper than cutting x.
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
