import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { startKernelWorkers } from './kernel-workers.ts';
import { setKernelThreads } from './parallel.ts';
import { compiledModule, type EmscriptenModule, emscriptenMemory, kernelsOn } from './wasm-module.ts';

/** Options of {@link setThreadedWasmBackend}. */
export interface ThreadedWasmOptions {
  /** Threads XNNPACK uses (capped at 8 by tfjs-backend-wasm's worker pool). Default: every core. */
  threads?: number;
}

const threadedGlue = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';

/**
 * Starts the 'wasm' backend on tfjs-backend-wasm's multi-threaded XNNPACK build under Node, which
 * tfjs itself only enables in browsers (tfjs issue 3830), and makes it the current backend.
 * Returns the number of threads XNNPACK got. Call it instead of `tf.setBackend('wasm')`, before
 * anything else starts the wasm backend.
 *
 * What it works around, for the duration of the start only: tfjs hands Emscripten its pthread
 * worker script as a `blob:` URL, which Node's `worker_threads` cannot load, so the script goes to
 * a temporary file; and tfjs sizes the pool by half the logical cores (it assumes two hardware
 * threads per core), so the core count it reads is raised to give the pool `threads` threads.
 */
export async function setThreadedWasmBackend(options: ThreadedWasmOptions = {}): Promise<number> {
  const threads = options.threads ?? os.availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`setThreadedWasmBackend: threads must be a positive integer, got ${threads}.`);
  }
  // Not tf.findBackend: it would start the (single-threaded) backend as a side effect.
  if ('wasm' in tf.engine().registry) {
    throw new Error(
      'setThreadedWasmBackend: the wasm backend has already started single-threaded; call it before tf.setBackend("wasm") or anything that starts the backend.',
    );
  }
  const require = createRequire(import.meta.url);
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as {
    setThreadsCount(n: number): void;
    getThreadsCount(): number;
  };
  const dir = mkdtempSync(join(os.tmpdir(), 'skipnet-wasm-threads-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // The worker turns the main script it is sent (a Blob) into a URL to import: point it at the file.
  const { wasmWorkerContents } = require(`${threadedGlue}.worker.js`) as { wasmWorkerContents: string };
  const workerFile = join(dir, 'pthread-worker.cjs');
  writeFileSync(
    workerFile,
    `URL.createObjectURL = () => ${JSON.stringify(require.resolve(`${threadedGlue}.js`))};\n` +
      'URL.revokeObjectURL = () => {};\n' +
      wasmWorkerContents.replace(/\n/g, '\\n'),
  );

  const { createObjectURL } = URL;
  const { cpus } = os;
  URL.createObjectURL = () => workerFile;
  os.cpus = () => Array.from({ length: 2 * threads }, () => cpus()[0] as os.CpuInfo);
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) {
      throw new Error(
        'setThreadedWasmBackend: the threaded wasm backend failed to start (see the log above).',
      );
    }
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
  const backend = tf.backend() as unknown as { wasm: EmscriptenModule & { PThread?: PThreadPool } };
  // Emscripten's pthread workers would otherwise keep Node running after the program's end.
  const pthreads = backend.wasm.PThread;
  for (const worker of [...(pthreads?.unusedWorkers ?? []), ...(pthreads?.runningWorkers ?? [])]) {
    worker.unref();
  }
  const count = wasm.getThreadsCount();
  startOurKernelThreads(backend, count);
  return count;
}

/** Our own kernels (csrc/kernels.c) get as many threads as XNNPACK: the main thread and count − 1 workers. */
function startOurKernelThreads(backend: { wasm: EmscriptenModule }, count: number): void {
  const memory = emscriptenMemory(backend.wasm);
  const module = compiledModule(true);
  const exports = kernelsOn(memory);
  if (count < 2 || module === undefined || exports === undefined) return;
  setKernelThreads(backend, startKernelWorkers(module, memory, exports, count - 1));
}

interface PThreadPool {
  unusedWorkers: Array<{ unref(): void }>;
  runningWorkers: Array<{ unref(): void }>;
}
