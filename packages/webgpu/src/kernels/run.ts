import * as tf from '@tensorflow/tfjs-core';

/** The slice of tfjs-backend-webgpu's `WebGPUBackend` our kernels use (structural, so no runtime import). */
export interface WebGPUBackendLike {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  device: { limits: { maxStorageBufferBindingSize: number } };
}

/**
 * Runs another kernel of the webgpu backend on tensor infos. Kernels cannot call tfjs ops (the engine is inside a
 * kernel call), so composite kernels call their parts' kernel functions, as tfjs-backend-webgpu's own kernels do.
 */
export function runKernel(
  name: string,
  backend: WebGPUBackendLike,
  inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[],
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  const config = tf.getKernel(name, 'webgpu');
  if (config === undefined) {
    throw new Error(
      `@skipnet/webgpu needs the webgpu backend's ${name} kernel: call setupWebGPU() before running on 'webgpu'.`,
    );
  }
  return config.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend: backend as unknown as tf.KernelBackend,
    attrs: attrs as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

/** Frees intermediate results of a composite kernel. */
export function disposeAll(backend: WebGPUBackendLike, infos: readonly tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

const stockKernels = new Map<string, tf.KernelFunc>();

/** Keeps tfjs-backend-webgpu's own kernel, for the cases a replacement hands back to it. */
export function rememberStockKernel(name: string, kernelFunc: tf.KernelFunc): void {
  if (!stockKernels.has(name)) stockKernels.set(name, kernelFunc);
}

export function runStockKernel(
  name: string,
  args: { inputs: tf.NamedTensorInfoMap; backend: WebGPUBackendLike; attrs: object },
): tf.TensorInfo {
  const kernelFunc = stockKernels.get(name);
  if (kernelFunc === undefined) {
    throw new Error(`@skipnet/webgpu: tfjs-backend-webgpu has no ${name} kernel for this case.`);
  }
  return kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}
