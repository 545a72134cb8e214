import type { ConvGradAttrs } from '@skipnet/kernel-internals';
import * as tf from '@tensorflow/tfjs-core';

/** The forward convolution's geometry; throws for what these kernels do not cover. */
export function forwardConvInfo(
  kernelName: string,
  xShape: number[],
  filterShape: number[],
  attrs: ConvGradAttrs,
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(
      `@skipnet/wasm-kernels ${kernelName} supports dataFormat 'NHWC' only, got '${attrs.dataFormat}'; transpose to NHWC.`,
    );
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}
