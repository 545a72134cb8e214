import * as tf from '@tensorflow/tfjs-core';

/**
 * What a composite kernel needs of a backend (tfjs-backend-wasm's or tfjs-backend-webgpu's): freeing the
 * intermediate results it made. Structural, so no backend is imported.
 */
export interface KernelBackendLike {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The kernel calls a composite kernel makes on one backend, and the stock kernels its replacements fall back to. */
export interface CompositeKernels<B extends KernelBackendLike> {
  /**
   * Runs another kernel of the backend on tensor infos. Kernels cannot call tfjs ops (the engine is inside a kernel
   * call), so composite kernels call their parts' kernel functions, as tfjs's own backends do. Looked up at call
   * time: the wasm backend wires each kernel's WASM export when it initialises, so only the registered kernel
   * function is ready to run.
   */
  runKernel(
    name: string,
    backend: B,
    inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[],
    attrs: Record<string, unknown>,
  ): tf.TensorInfo;
  /** Frees intermediate results of a composite kernel. */
  disposeAll(backend: B, infos: readonly tf.TensorInfo[]): void;
  /** Keeps the backend's own kernel, for the cases a replacement hands back to it (the first one seen stays). */
  rememberStockKernel(name: string, kernelFunc: tf.KernelFunc): void;
  runStockKernel(
    name: string,
    args: { inputs: tf.NamedTensorInfoMap; backend: B; attrs: object },
  ): tf.TensorInfo;
}

/**
 * Composite-kernel calls on the backend `backendName` for the package `owner` (named in its errors); `whenMissing`
 * says what to do when the backend lacks a kernel (load or set up the backend first).
 */
export function compositeKernels<B extends KernelBackendLike>(options: {
  backendName: string;
  owner: string;
  whenMissing: string;
}): CompositeKernels<B> {
  const { backendName, owner, whenMissing } = options;
  const stock = new Map<string, tf.KernelFunc>();
  return {
    runKernel(name, backend, inputs, attrs) {
      const config = tf.getKernel(name, backendName);
      if (config === undefined) {
        throw new Error(`${owner} needs the ${backendName} backend's ${name} kernel: ${whenMissing}`);
      }
      return config.kernelFunc({
        inputs: inputs as tf.NamedTensorInfoMap,
        backend: backend as unknown as tf.KernelBackend,
        attrs: attrs as tf.NamedAttrMap,
      }) as tf.TensorInfo;
    },
    disposeAll(backend, infos) {
      for (const info of infos) backend.disposeData(info.dataId);
    },
    rememberStockKernel(name, kernelFunc) {
      if (!stock.has(name)) stock.set(name, kernelFunc);
    },
    runStockKernel(name, args) {
      const kernelFunc = stock.get(name);
      if (kernelFunc === undefined) {
        throw new Error(`${owner}: the ${backendName} backend has no stock ${name} kernel for this case.`);
      }
      return kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    },
  };
}
