import { compositeKernels } from '@skipnet/kernel-internals';
import type * as tf from '@tensorflow/tfjs-core';
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

/** Calls from our composite kernels into the wasm backend's own, and the stock kernels ours hand cases back to. */
export const wasmKernels = compositeKernels<WasmBackend>({
  backendName: 'wasm',
  owner: '@skipnet/wasm-kernels',
  whenMissing: "load @tensorflow/tfjs-backend-wasm (import or require it) before running on 'wasm'.",
});

export const { runKernel, disposeAll, rememberStockKernel, runStockKernel } = wasmKernels;
