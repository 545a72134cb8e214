import type * as tf from '@tensorflow/tfjs-core';
import { runStockKernel, type WasmBackend } from './run.ts';

/**
 * Shares x's memory, as the cpu and webgl backends do: tensors are immutable, so a copy buys
 * nothing. tfjs-backend-wasm copies, and tfjs-core clones (an Identity) every tensor a gradient
 * saves for the backward pass: about 150 full-size copies in a training step of the seed ResNet,
 * each also holding its own memory until the backward pass.
 */
export function identity(args: { inputs: tf.NamedTensorInfoMap; backend: WasmBackend }): tf.TensorInfo {
  const { inputs, backend } = args;
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return runStockKernel('Identity', { ...args, attrs: {} });
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * A cast to the dtype x already has is an Identity (the ReLU gradient casts float32 to float32).
 * A cast to bool tests for non-zero: the stock kernel stores the number's low byte (-2 became 254).
 */
export function cast(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: { dtype: tf.DataType };
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype === 'string') return runStockKernel('Cast', args);
  if (x.dtype === attrs.dtype) return identity(args);
  if (attrs.dtype !== 'bool') return runStockKernel('Cast', args);
  const out = backend.makeOutput(x.shape, 'bool');
  const values = backend.typedArrayFromHeap(x);
  const flags = backend.typedArrayFromHeap(out);
  for (let i = 0; i < values.length; i++) flags[i] = values[i] !== 0 ? 1 : 0;
  return out;
}
