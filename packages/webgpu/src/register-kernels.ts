import * as tf from '@tensorflow/tfjs-core';
import {
  configureFilterGradient,
  conv2dBackpropFilter,
  type FilterGradientMethod,
} from './kernels/conv2d-backprop-filter.ts';
import { rememberStockKernel } from './kernels/run.ts';

/** Options of {@link registerWebGPUTrainingKernels}. */
export interface WebGPUTrainingKernelsOptions {
  /**
   * How Conv2DBackpropFilter is formed (see README): `'im2col'` (default; im2col, a batched matmul splitting the
   * reduction, a sum), `'im2col-splitk'` (im2col, tfjs's atomic split-K matmul), `'conv'` (one dilated forward
   * convolution). A later call with another value switches.
   */
  filterGradient?: FilterGradientMethod;
  /**
   * The largest im2col matrix (bytes) one dispatch may build; larger batches are done in chunks of images whose
   * gradients are added. Default: the device's maxStorageBufferBindingSize, which also caps it. When not even one
   * image fits, the `'conv'` formulation runs.
   */
  maxIm2colBytes?: number;
}

const kernels: tf.KernelConfig[] = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'webgpu',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  },
];

/**
 * Registers, on the 'webgpu' backend, training kernels built from the backend's fast kernels in place of its slow
 * ones: today Conv2DBackpropFilter (tfjs-backend-webgpu 4.22's runs one thread per filter element over N·OH·OW).
 * Cases they do not cover run the stock kernel. Idempotent; call after {@link setupWebGPU}, before the first
 * backward pass.
 */
export function registerWebGPUTrainingKernels(options: WebGPUTrainingKernelsOptions = {}): void {
  configureFilterGradient({
    method: options.filterGradient ?? 'im2col',
    ...(options.maxIm2colBytes === undefined ? {} : { maxColsBytes: options.maxIm2colBytes }),
  });
  for (const config of kernels) {
    const current = tf.getKernel(config.kernelName, 'webgpu');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current === undefined) {
      throw new Error(
        `@skipnet/webgpu: the webgpu backend has no ${config.kernelName} kernel yet; call setupWebGPU() before registerWebGPUTrainingKernels().`,
      );
    }
    rememberStockKernel(config.kernelName, current.kernelFunc);
    tf.unregisterKernel(config.kernelName, 'webgpu');
    tf.registerKernel(current.setupFunc ? { ...config, setupFunc: current.setupFunc } : config);
  }
}
