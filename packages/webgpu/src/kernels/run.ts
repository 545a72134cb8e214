import { compositeKernels } from '@skipnet/kernel-internals';
import type * as tf from '@tensorflow/tfjs-core';

/** The slice of tfjs-backend-webgpu's `WebGPUBackend` our kernels use (structural, so no runtime import). */
export interface WebGPUBackendLike {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  device: { limits: { maxStorageBufferBindingSize: number } };
}

/** Calls from our composite kernels into the webgpu backend's own, and the stock kernels ours hand cases back to. */
export const webgpuKernels = compositeKernels<WebGPUBackendLike>({
  backendName: 'webgpu',
  owner: '@skipnet/webgpu',
  whenMissing: "call setupWebGPU() before running on 'webgpu'.",
});

export const { runKernel, disposeAll, rememberStockKernel, runStockKernel } = webgpuKernels;
