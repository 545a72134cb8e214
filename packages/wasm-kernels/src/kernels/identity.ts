import type * as tf from '@tensorflow/tfjs-core';
import { runStockKernel, type WasmBackend } from './run.js';

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
