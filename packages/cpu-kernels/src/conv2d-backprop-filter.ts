import type { FilterGradAttrs } from '@skipnet/kernel-internals';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-backend-cpu 4.22's Conv2DBackpropFilter reads every element through `TensorBuffer.get` with the channels
 * innermost: about 80× slower than its own forward convolution (77 s for one 3×3×256×256 filter gradient at
 * 12×12, batch 2), which makes training on cpu hundreds of times slower than on wasm. This is the same sum over
 * the typed arrays, with the output channels innermost. Every filter element adds the same products in the same
 * order (batch, then output rows, then columns) in float64, as the stock kernel does, so the results are the same
 * bits; conv2d-backprop-filter.test.ts checks that.
 */

/** The stock kernel, which still runs the NCHW layout (tfjs-core's conv2d gradient never asks for it). */
let stock: tf.KernelFunc | undefined;

export function rememberStock(kernelFunc: tf.KernelFunc): void {
  stock = kernelFunc;
}

export const conv2dBackpropFilter: tf.KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as FilterGradAttrs;
  if (dataFormat === 'NCHW') {
    if (!stock) throw new Error('@skipnet/cpu-kernels: Conv2DBackpropFilter in NCHW needs the stock kernel');
    return stock(args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const cpu = backend as MathBackendCPU;
  const xs = cpu.data.get(x.dataId).values as Float32Array;
  const dys = cpu.data.get(dy.dataId).values as Float32Array;
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const dyOffset = ((b * outHeight + yr) * outWidth + yc) * outChannels;
        for (let wr = 0; wr < filterHeight; wr++) {
          const xr = yr * strideHeight + wr - top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let wc = 0; wc < filterWidth; wc++) {
            const xc = yc * strideWidth + wc - left;
            if (xc < 0 || xc >= inWidth) continue;
            const xOffset = ((b * inHeight + xr) * inWidth + xc) * inChannels;
            const wOffset = (wr * filterWidth + wc) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = xs[xOffset + d1] as number;
              const base = wOffset + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) {
                dw[base + d2] = (dw[base + d2] as number) + xv * (dys[dyOffset + d2] as number);
              }
            }
          }
        }
      }
    }
  }
  return cpu.makeTensorInfo(filterShape, 'float32', Float32Array.from(dw));
};
