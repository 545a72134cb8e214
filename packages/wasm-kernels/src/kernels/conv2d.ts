import * as tf from '@tensorflow/tfjs-core';
import { kernelsFor } from '../parallel.ts';
import { directConv2d } from './direct.ts';
import { convolutionMethods } from './methods.ts';
import { runStockKernel, type WasmBackend } from './run.ts';

interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function conv2d(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: Conv2DAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const ours =
    convolutionMethods().forward !== 'xnnpack' &&
    info.dataFormat === 'channelsLast' &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1;
  const kernels = ours ? kernelsFor(backend) : undefined;
  return kernels ? directConv2d(kernels, backend, x, filter, info) : runStockKernel(tf.Conv2D, args);
}
