import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilter } from './kernels/conv2d-backprop-filter.js';

const kernels: tf.KernelConfig[] = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  },
];

/**
 * Registers, on the 'wasm' backend, the gradient kernels a conv net's training step needs and
 * tfjs-backend-wasm 4.22 lacks or runs slowly. Idempotent; call it before the first backward pass
 * (importing '@skipnet/wasm-kernels/register' does the same).
 */
export function registerTrainingKernels(): void {
  for (const config of kernels) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
