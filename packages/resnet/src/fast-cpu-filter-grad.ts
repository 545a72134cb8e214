// Test support (not part of the package): tfjs-backend-cpu 4.22's Conv2DBackpropFilter reads every
// element through TensorBuffer.get with channels innermost, ~80x slower than its forward conv (77 s
// for one 3x3x256x256 filter gradient at 12x12, batch 2), which would make the full-width parity
// test take many minutes. This is the same sum over typed arrays, accumulated in float64, with the
// output channels innermost. fast-cpu-filter-grad.test.ts checks it against the stock kernel.
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

interface FilterGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

const conv2dBackpropFilterCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as FilterGradAttrs;
  if (dataFormat === 'NCHW') throw new Error('fast Conv2DBackpropFilter: NHWC only');
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
              if (xv === 0) continue;
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

/** Replaces the cpu backend's Conv2DBackpropFilter with the fast one (for the parity tests). */
export function useFastCpuFilterGrad(): void {
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'cpu',
    kernelFunc: conv2dBackpropFilterCpu,
  });
}
