import * as tf from '@tensorflow/tfjs-core';
import type { EmscriptenModule } from '../wasm-module.ts';

/** The slice of tfjs-backend-wasm's `BackendWasm` our kernels use (structural, so no runtime import). */
export interface WasmBackend {
  wasm: EmscriptenModule;
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of the tensor's data by dtype: float32 Float32Array, int32 Int32Array, bool Uint8Array. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** Where a tensor's data starts in the wasm memory (a byte offset: it stays valid when the memory grows). */
export function address(backend: WasmBackend, info: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) throw new Error('@skipnet/wasm-kernels: a tensor is not on the wasm backend.');
  return data.memoryOffset;
}

/**
 * Runs another kernel of the wasm backend on tensor infos. Kernels cannot call tfjs ops (the
 * engine is inside a kernel call), so composite kernels call their parts' kernel functions, as
 * tfjs-backend-wasm's own kernels do. Looked up at call time: the wasm backend wires each kernel's
 * WASM export when it initialises, so only the registered kernel function is ready to run.
 */
export function runKernel(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  const config = tf.getKernel(name, 'wasm');
  if (config === undefined) {
    throw new Error(
      `@skipnet/wasm-kernels needs the wasm backend's ${name} kernel: load @tensorflow/tfjs-backend-wasm (import or require it) before running on 'wasm'.`,
    );
  }
  return config.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend,
    attrs: attrs as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

/** Frees intermediate results of a composite kernel. */
export function disposeAll(backend: WasmBackend, infos: readonly tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

const stockKernels = new Map<string, tf.KernelFunc>();

/** Keeps tfjs-backend-wasm's own kernel, for the cases a replacement hands back to it. */
export function rememberStockKernel(name: string, kernelFunc: tf.KernelFunc): void {
  if (!stockKernels.has(name)) stockKernels.set(name, kernelFunc);
}

export function runStockKernel(
  name: string,
  args: { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: object },
): tf.TensorInfo {
  const kernelFunc = stockKernels.get(name);
  if (kernelFunc === undefined) {
    throw new Error(`@skipnet/wasm-kernels: tfjs-backend-wasm has no ${name} kernel for this case.`);
  }
  return kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}
