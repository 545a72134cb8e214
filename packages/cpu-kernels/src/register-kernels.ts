import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilter, rememberStock } from './conv2d-backprop-filter.ts';

/**
 * Marks our kernel so that `@skipnet/nn`, which warns once when a conv net trains on the stock cpu kernel, can
 * tell it is registered without depending on this package. The key is shared with nn (`Symbol.for`).
 */
const FAST_KERNEL = Symbol.for('@skipnet/cpu-kernels kernel');
Object.defineProperty(conv2dBackpropFilter, FAST_KERNEL, { value: true });

/**
 * Registers, on the 'cpu' backend, a Conv2DBackpropFilter that computes what tfjs-backend-cpu's does (the same
 * bits) without its per-element loop. Idempotent; call it before the first backward pass, after
 * `@tensorflow/tfjs-backend-cpu` is imported (importing '@skipnet/cpu-kernels/register' does the same).
 */
export function registerTrainingKernels(): void {
  const current = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu');
  if (current?.kernelFunc === conv2dBackpropFilter) return;
  if (current === undefined) {
    throw new Error(
      '@skipnet/cpu-kernels: the cpu backend has no Conv2DBackpropFilter to replace; import ' +
        "'@tensorflow/tfjs-backend-cpu' before registering",
    );
  }
  rememberStock(current.kernelFunc);
  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel({ ...current, kernelFunc: conv2dBackpropFilter });
}
