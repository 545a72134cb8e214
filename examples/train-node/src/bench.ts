#!/usr/bin/env node
// Training throughput of the seed ResNet on every backend this machine has, beside PyTorch on the same machine.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { BACKENDS, type BackendName, BackendUnavailableError, selectBackend } from '@skipnet/backend';
import type { ReplicaData, ReplicaMemory } from './replica.ts';
import { type BenchResult, GPU_REFERENCE, median, pytorchCpu, timeTrainingSteps } from './throughput.ts';

function report(r: BenchResult): void {
  console.log(
    `  ${r.backend}: ${fmt(r.imagesPerSecond)} img/s (median ${fmt(r.stepMs)} ms/step, ${fmt(r.fastestMs)}–${fmt(r.slowestMs)}) on ${r.device}`,
  );
}

const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: n < 10 ? 2 : n < 100 ? 1 : 0 });

interface Options {
  batch: number;
  imageSize: number;
  steps: number;
}

/** Child mode: one backend in a fresh process (the wasm thread count is fixed when it starts), one JSON line. */
async function measureOne(name: BackendName, o: Options): Promise<void> {
  try {
    const choice = await selectBackend(name, { allowSoftwareWebGPU: false });
    const timing = await timeTrainingSteps(o);
    const result: BenchResult = {
      backend: name,
      device: choice.device,
      ...timing,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
    console.log(JSON.stringify(result));
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    console.log(JSON.stringify({ backend: name, unavailable: error.reason }));
  }
}

function spawnOne(
  name: BackendName,
  o: Options,
  env: NodeJS.ProcessEnv,
): BenchResult | { backend: string; unavailable: string } {
  const args = [
    process.argv[1]!,
    '--only',
    name,
    '--batch',
    String(o.batch),
    '--image-size',
    String(o.imageSize),
    '--steps',
    String(o.steps),
  ];
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/**
 * Data-parallel replicas on wasm: `replicas` worker threads, one wasm thread each, batch/replicas images
 * each, gradients averaged through a SharedArrayBuffer before the same SGD update in every replica.
 * (BatchNorm then normalises over each replica's images, as in PyTorch's DataParallel.)
 */
async function measureReplicas(replicas: number, o: Options): Promise<BenchResult> {
  const batch = o.batch / replicas;
  const workers = Array.from({ length: replicas }, (_, rank) => {
    const workerData: ReplicaData = { rank, world: replicas, batch, imageSize: o.imageSize };
    return new Worker(new URL('./replica.js', import.meta.url), {
      workerData,
      env: { ...process.env, SKIPNET_WASM_THREADS: '1' },
    });
  });
  const next = (worker: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  try {
    const [total] = (await Promise.all(workers.map(next))) as number[];
    const memory: ReplicaMemory = {
      gradients: new SharedArrayBuffer(replicas * total! * 4),
      control: new SharedArrayBuffer(4),
    };
    const shared = workers.map(next);
    for (const w of workers) w.postMessage(memory);
    await Promise.all(shared);
    const times: number[] = [];
    for (let i = 0; i <= o.steps; i++) {
      const start = performance.now();
      const done = workers.map(next);
      for (const w of workers) w.postMessage(1);
      await Promise.all(done);
      if (i > 0) times.push(performance.now() - start); // step 0 warms up
    }
    const stepMs = median(times);
    return {
      backend: 'wasm',
      device: `CPU (WebAssembly, XNNPACK, ${replicas} data-parallel replicas of 1 thread)`,
      imagesPerSecond: (o.batch * 1000) / stepMs,
      stepMs,
      fastestMs: Math.min(...times),
      slowestMs: Math.max(...times),
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'tfjs-node-gpu,tfjs-node,webgpu,wasm' },
      batch: { type: 'string', default: '64' },
      'image-size': { type: 'string', default: '96' },
      steps: { type: 'string', default: '5' },
      'no-torch': { type: 'boolean', default: false },
      only: { type: 'string' },
      replicas: { type: 'string' },
    },
  });
  const o: Options = {
    batch: Number(values.batch),
    imageSize: Number(values['image-size']),
    steps: Number(values.steps),
  };
  const replicas = values.replicas === undefined ? 0 : Number(values.replicas);
  if (
    values.replicas !== undefined &&
    !(Number.isInteger(replicas) && replicas >= 2 && o.batch % replicas === 0)
  ) {
    throw new Error(
      `--replicas: want an integer from 2 that divides the batch (${o.batch}), got '${values.replicas}'`,
    );
  }
  const wanted = (values.only ?? values.backends).split(',').map((b) => b.trim()) as BackendName[];
  for (const name of wanted) {
    if (!BACKENDS.includes(name))
      throw new Error(`--backends: unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  }
  if (values.only) return measureOne(wanted[0]!, o);

  const cores = availableParallelism();
  console.log(
    `seed ResNet training step, batch ${o.batch}, ${o.imageSize}×${o.imageSize}, fp32, median of ${o.steps} timed steps after 1 warm-up`,
  );
  console.log(
    `machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}, load ${loadavg()[0]!.toFixed(1)}`,
  );

  const results: BenchResult[] = [];
  for (const name of wanted) {
    // wasm once per thread count: one core, then every core.
    const threadCounts = name === 'wasm' ? [...new Set([1, cores])] : [0];
    for (const threads of threadCounts) {
      const r = spawnOne(name, o, threads ? { SKIPNET_WASM_THREADS: String(threads) } : {});
      if ('unavailable' in r) {
        console.log(`  ${name}: not measured: ${r.unavailable}`);
        continue;
      }
      results.push(r);
      report(r);
    }
    if (name === 'wasm' && replicas > 1) {
      const r = await measureReplicas(replicas, o);
      results.push(r);
      report(r);
    }
  }

  const torch = values['no-torch']
    ? []
    : [...new Set([1, cores])].map((threads) => ({ threads, result: pytorchCpu(o.batch, o.steps, threads) }));
  const best = torch
    .map((t) => t.result)
    .filter((r) => typeof r !== 'string')
    .at(-1);
  console.log('');
  console.log(`| system | device | img/s | ms/step | RSS MiB | vs PyTorch CPU (${cores} threads) |`);
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const ratio = best ? `${(r.imagesPerSecond / best.imagesPerSecond).toFixed(2)}×` : '–';
    console.log(
      `| skipnet ${r.backend} | ${r.device} | ${fmt(r.imagesPerSecond)} | ${fmt(r.stepMs)} | ${fmt(r.rssMiB)} | ${ratio} |`,
    );
  }
  for (const { threads, result } of torch) {
    if (typeof result === 'string') {
      console.log(`| PyTorch CPU | ${threads} threads | not measured: ${result} | | | |`);
      continue;
    }
    const ratio = best ? `${(result.imagesPerSecond / best.imagesPerSecond).toFixed(2)}×` : '–';
    console.log(
      `| PyTorch ${result.version} | CPU, ${threads} thread${threads > 1 ? 's' : ''} | ${fmt(result.imagesPerSecond)} | ${fmt((o.batch * 1000) / result.imagesPerSecond)} | | ${ratio} |`,
    );
  }
  console.log('');
  console.log('For scale, measured on the GPU machine (NVIDIA H200), img/s at batch 64 / 256:');
  for (const g of GPU_REFERENCE) console.log(`  ${g.system}: ${g.batch64 ?? '–'} / ${g.batch256}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
