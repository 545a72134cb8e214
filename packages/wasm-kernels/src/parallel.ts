import type { KernelExports, KernelName } from './wasm-module.ts';
import { type EmscriptenModule, emscriptenMemory, kernelsOn } from './wasm-module.ts';

/** Runs a kernel export over the work items [0, items), split among threads (see csrc/kernels.c). */
export interface KernelThreads {
  readonly threads: number;
  run(name: KernelName, args: readonly number[], items: number): void;
}

// On the backend object, under a global symbol: the CommonJS builds of the package's entries each carry their own
// copy of this module, and threads.ts must reach the kernels that index.ts registered.
const threadsKey = Symbol.for('@skipnet/wasm-kernels: kernel threads');

interface WithThreads {
  [threadsKey]?: KernelThreads;
}

/** Lets the kernels on `backend` run on `threads` (Node: threads.ts starts them with the threaded backend). */
export function setKernelThreads(backend: object, threads: KernelThreads | undefined): void {
  (backend as WithThreads)[threadsKey] = threads;
}

/** The kernels of csrc/kernels.c on a wasm backend's memory, and how to run their parallel exports. */
export interface Kernels {
  exports: KernelExports;
  threads: number;
  run(name: KernelName, args: readonly number[], items: number): void;
}

/** The kernels for this backend, or undefined where they cannot run (no SIMD, or still compiling). */
export function kernelsFor(backend: { wasm: EmscriptenModule }): Kernels | undefined {
  const exports = kernelsOn(emscriptenMemory(backend.wasm));
  if (exports === undefined) return undefined;
  const pool = (backend as WithThreads)[threadsKey];
  if (pool !== undefined) return { exports, threads: pool.threads, run: pool.run.bind(pool) };
  return {
    exports,
    threads: 1,
    run(name, args, items) {
      exports[name](...args, 0, items);
    },
  };
}
