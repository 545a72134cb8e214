import { FusedKernel } from '@skipnet/kernel-internals';
import * as tf from '@tensorflow/tfjs-core';
import {
  batchNormApply,
  batchNormGradInput,
  batchNormGradSums,
  batchNormStatistics,
  runningAverage,
} from './kernels/batch-norm.ts';
import {
  configureFilterGradient,
  conv2dBackpropFilter,
  type FilterGradientMethod,
} from './kernels/conv2d-backprop-filter.ts';
import { addRelu, reluGrad } from './kernels/relu.ts';
import { rememberStockKernel } from './kernels/run.ts';
import { sgdUpdate } from './kernels/sgd.ts';

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
  /**
   * Register the fused kernels (default true): BatchNorm2d's training chain with its ReLU, the residual add + ReLU,
   * ReLU's gradient, the SGD update, each one dispatch where tfjs's ops take several. `@skipnet/nn`,
   * `@skipnet/residual` and `@skipnet/trainer` use them when they are registered; false removes them again.
   */
  fused?: boolean;
}

const kernels: tf.KernelConfig[] = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'webgpu',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  },
];

const fusedKernels: Array<[string, (args: never) => tf.TensorInfo]> = [
  [FusedKernel.BatchNormStatistics, batchNormStatistics],
  [FusedKernel.BatchNormApply, batchNormApply],
  [FusedKernel.RunningAverage, runningAverage],
  [FusedKernel.BatchNormGradSums, batchNormGradSums],
  [FusedKernel.BatchNormGradInput, batchNormGradInput],
  [FusedKernel.AddRelu, addRelu],
  [FusedKernel.ReluGrad, reluGrad],
  [FusedKernel.SGDUpdate, sgdUpdate],
];

function registerFusedKernels(fused: boolean): void {
  for (const [kernelName, kernelFunc] of fusedKernels) {
    const registered = tf.getKernel(kernelName, 'webgpu') !== undefined;
    if (fused && !registered) {
      tf.registerKernel({
        kernelName,
        backendName: 'webgpu',
        kernelFunc: kernelFunc as unknown as tf.KernelFunc,
      });
    }
    if (!fused && registered) tf.unregisterKernel(kernelName, 'webgpu');
  }
}

/**
 * Registers, on the 'webgpu' backend, training kernels built from the backend's fast kernels in place of its slow
 * ones (Conv2DBackpropFilter: tfjs-backend-webgpu 4.22's runs one thread per filter element over N·OH·OW), whose
 * uncovered cases run the stock kernel, and skipnet's fused kernels (see `fused`). Idempotent; call after
 * {@link setupWebGPU}, before the first backward pass.
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
  registerFusedKernels(options.fused ?? true);
}
