// Node only (worker_threads): the threads that run csrc/kernels.c's parallel exports beside the main thread, on
// tfjs-backend-wasm's shared memory (its threaded build). XNNPACK's own pthreads cannot run our module, so these
// are ours; they sleep in Atomics.wait between jobs.
import { Worker } from 'node:worker_threads';
import type { KernelThreads } from './parallel.ts';
import { type KernelExports, kernelNames } from './wasm-module.ts';

// The control block, Int32 slots of a SharedArrayBuffer. CLAIM counts the job's chunks not yet claimed; a thread
// claims the next one by compare-and-swap (chunk index: chunks − count) and only then reads the job's parameters. A
// job cannot end before every claimed chunk is counted DONE, so the main thread cannot rewrite the parameters under
// a thread that holds a chunk. (Read before the claim, they could belong to the next job: a thread that stalled
// between seeing a job and reading them could then run a chunk of the next job, or a mix of the two, and count it
// DONE there, so that job ended a chunk early, its last chunk still being written.)
const CLAIM = 0;
const DONE = 1; // chunks finished
const FAILED = 2; // 1 when a worker's call threw
const FUNCTION = 3; // index into the worker's list of exports
const ITEMS = 4;
const GRAIN = 5; // items per chunk
const CHUNKS = 6;
const ARG_COUNT = 7;
const ARGS = 8;
const MAX_ARGS = 16;
const CHUNKS_PER_THREAD = 8; // small enough chunks that a thread slowed by another process does not hold the rest up

// The worker: the same claim loop as the main thread's, on its own instance of the module.
const workerSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, names } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const functions = names.map((name) => exports[name]);
const c = new Int32Array(control);
for (;;) {
  const left = Atomics.load(c, ${CLAIM});
  if (left === 0) { Atomics.wait(c, ${CLAIM}, 0); continue; }
  if (Atomics.compareExchange(c, ${CLAIM}, left, left - 1) !== left) continue;
  const run = functions[c[${FUNCTION}]];
  const items = c[${ITEMS}], grain = c[${GRAIN}], chunks = c[${CHUNKS}];
  const args = Array.from(c.subarray(${ARGS}, ${ARGS} + c[${ARG_COUNT}]));
  const begin = (chunks - left) * grain;
  try { run(...args, begin, Math.min(begin + grain, items)); } catch (error) { Atomics.store(c, ${FAILED}, 1); console.error(error); }
  if (Atomics.add(c, ${DONE}, 1) + 1 === chunks) Atomics.notify(c, ${DONE});
}
`;

/** The main thread plus `workers` worker threads, each with its own instance of `module` on `memory`. */
export function startKernelWorkers(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  exports: KernelExports,
  workers: number,
): KernelThreads {
  const control = new SharedArrayBuffer((ARGS + MAX_ARGS) * 4);
  const c = new Int32Array(control);
  for (let i = 0; i < workers; i++) {
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { module, memory, control, names: kernelNames },
    });
    worker.unref(); // asleep in Atomics.wait between jobs; must not keep the program running
  }
  const functions = kernelNames.map((name) => exports[name]);
  const threads = workers + 1;

  return {
    threads,
    run(name, args, items) {
      const index = kernelNames.indexOf(name);
      const run = functions[index];
      if (run === undefined) throw new Error(`@skipnet/wasm-kernels: no kernel export ${name}.`);
      if (args.length > MAX_ARGS)
        throw new Error(`@skipnet/wasm-kernels: ${name} takes more than ${MAX_ARGS} arguments.`);
      const grain = Math.max(1, Math.ceil(items / (threads * CHUNKS_PER_THREAD)));
      const chunks = Math.ceil(items / grain);
      if (chunks <= 1) {
        run(...args, 0, items);
        return;
      }
      c[FUNCTION] = index;
      c[ITEMS] = items;
      c[GRAIN] = grain;
      c[CHUNKS] = chunks;
      c[ARG_COUNT] = args.length;
      c.set(args, ARGS);
      Atomics.store(c, DONE, 0);
      Atomics.store(c, CLAIM, chunks);
      Atomics.notify(c, CLAIM);
      for (;;) {
        const left = Atomics.load(c, CLAIM);
        if (left === 0) break;
        if (Atomics.compareExchange(c, CLAIM, left, left - 1) !== left) continue;
        const begin = (chunks - left) * grain;
        run(...args, begin, Math.min(begin + grain, items));
        Atomics.add(c, DONE, 1);
      }
      for (let done = Atomics.load(c, DONE); done < chunks; done = Atomics.load(c, DONE)) {
        Atomics.wait(c, DONE, done);
      }
      if (Atomics.exchange(c, FAILED, 0) !== 0) {
        throw new Error(`@skipnet/wasm-kernels: ${name} failed on a worker thread (see the error above).`);
      }
    },
  };
}
