// Loader throughput: images/s through batches({ batchSize: 64 }) on the built-in synthetic set (the same 32×32
// uint8 layout as CIFAR-10, so it runs offline), tensors made on tfjs's CPU backend and disposed as the trainer
// does. Each pipeline is measured on the main thread (workers: 0) and in the worker pool, runs interleaved so that
// the machine's other load falls on both alike. "main thread busy" is the event loop's utilisation during the run:
// what is left of the thread that would feed a GPU. The seed transform runs again on the wasm backend, which copies
// each batch into its own memory, so the pool writes later batches into the arrays of earlier ones (the cpu backend
// keeps each batch's array: a fresh one every batch). Run: pnpm bench (builds first).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { horizontalFlip, loadSynthetic, randomCrop, resize } from '../dist/index.node.js';

await tf.setBackend('cpu');
// Smaller or fewer for a quick look on a busy machine: BENCH_IMAGES=2000 BENCH_RUNS=3 pnpm bench
const images = Number(process.env.BENCH_IMAGES ?? 5000);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const data = await loadSynthetic({ trainSize: images, testSize: 10, seed: 0 });

/**
 * CPU seconds of the main thread alone (Linux: /proc/self/task/<pid>/stat, utime + stime), null elsewhere. Unlike
 * the event loop's utilisation it does not count the time the OS gave other processes, so it holds on a busy machine.
 */
function mainThreadCpu() {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks of 10 ms
  } catch {
    return null;
  }
}

async function once(options, epoch) {
  const elu = performance.eventLoopUtilization();
  const main0 = mainThreadCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for await (const b of data.train.batches({ batchSize: 64, shuffle: true, epoch, ...options })) {
    n += b.x.shape[0];
    tf.dispose([b.x, b.y]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const main = main0 === null ? null : mainThreadCpu() - main0;
  return {
    rate: n / seconds,
    busy: performance.eventLoopUtilization(elu).utilization,
    mainMsPerBatch: main === null ? null : (1000 * main) / Math.ceil(n / 64),
    perCpuSecond: n / ((cpu.user + cpu.system) / 1e6),
  };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v) => Math.round(v).toLocaleString('en-US').padStart(7);

async function compare(label, options, workerCounts) {
  const results = new Map(workerCounts.map((w) => [w, []]));
  for (let run = 0; run < runs; run++) {
    for (const workers of workerCounts) results.get(workers).push(await once({ ...options, workers }, run));
  }
  const base = median(results.get(0).map((r) => r.rate));
  console.log(label);
  for (const [workers, rs] of results) {
    const rate = median(rs.map((r) => r.rate));
    const busy = median(rs.map((r) => r.busy));
    const mainMs = rs[0].mainMsPerBatch === null ? 'n/a' : median(rs.map((r) => r.mainMsPerBatch)).toFixed(1);
    console.log(
      `  ${workers === 0 ? 'main thread   ' : `${workers} worker${workers > 1 ? 's' : ' '}     `} ${fmt(rate)} images/s ` +
        `(${(rate / base).toFixed(2)}×), ${fmt(median(rs.map((r) => r.perCpuSecond)))} per CPU-second, main thread ` +
        `${mainMs} ms CPU per batch, event loop busy ${(100 * busy).toFixed(0)}%  [${rs.map((r) => Math.round(r.rate)).join(', ')}]`,
    );
  }
}

const cores = availableParallelism();
const counts = [...new Set([0, 1, 2, Math.max(1, cores - 1), cores])].sort((a, b) => a - b);
console.log(
  `node ${process.version}, ${cpus()[0]?.model}, ${cores} cores, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(
      ' ',
    )} at the start; medians of ${runs} interleaved runs of ${images.toLocaleString('en-US')} images, batch 64`,
);
const seed = { transform: [resize(96)], normalize: { mean: 0.5, std: 0.5 } };
await compare('seed transform: resize 96×96 (PIL bilinear), /255, (x − 0.5)/0.5', seed, counts);
await compare(
  'crop (padding 4) + flip + the seed transform',
  { ...seed, transform: [randomCrop(32, 4), horizontalFlip(), resize(96)] },
  counts,
);
await compare('no transform (32×32, /255)', {}, [0, 1, 2]);
await tf.setBackend('wasm');
await compare(
  'seed transform on the wasm backend (it copies each batch: the pool reuses the arrays)',
  seed,
  counts,
);
await tf.setBackend('cpu');
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at the end`,
);
