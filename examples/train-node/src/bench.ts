#!/usr/bin/env node
// Training throughput of the seed ResNet on every backend this machine has, beside PyTorch on the same machine.
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { BACKENDS, type BackendName, BackendUnavailableError, selectBackend } from '@skipnet/backend';
import { kernelBuild } from '@skipnet/wasm-kernels';
import type { ReplicaData, ReplicaMemory } from './replica.ts';
import {
  type BenchResult,
  countStepKernels,
  GPU_REFERENCE,
  median,
  pytorchCpu,
  timeTrainingSteps,
} from './throughput.ts';

/** A result, with the Node that ran it and, on wasm, which build of our WebAssembly kernels it had. */
interface Measured extends BenchResult {
  node: string;
  kernels?: string;
  threads?: number;
}

function report(r: Measured): void {
  console.log(
    `  ${r.backend}: ${fmt(r.imagesPerSecond)} img/s (median ${fmt(r.stepMs)} ms/step, ${fmt(r.fastestMs)}–${fmt(r.slowestMs)}; ${fmt(r.cpuMs)} CPU ms/step${r.kernelsPerStep === undefined ? '' : `; ${stepKernels(r)} kernels a step`}) on ${r.device}, Node ${r.node}${r.kernels ? `, kernels ${r.kernels}` : ''}`,
  );
}

/** Kernels one step runs through tfjs, and on webgpu the GPU dispatches they make; blank where not counted. */
function stepKernels(r: BenchResult): string {
  if (r.kernelsPerStep === undefined) return '';
  return r.dispatchesPerStep === undefined
    ? fmt(r.kernelsPerStep)
    : `${fmt(r.kernelsPerStep)} (${fmt(r.dispatchesPerStep)} dispatches)`;
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
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const { kernels, dispatches } = await countStepKernels(o);
    const result: Measured = {
      backend: name,
      device: choice.device,
      ...timing,
      rssMiB,
      kernelsPerStep: kernels,
      ...(dispatches === undefined ? {} : { dispatchesPerStep: dispatches }),
      node: process.version,
      ...(name === 'wasm' ? { kernels: kernelBuild() } : {}),
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
  node = process.execPath,
): Measured | { backend: string; unavailable: string } {
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
  const out = execFileSync(node, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

interface NodeRuntime {
  path: string;
  version: string;
}

/** Where `--fetch-node` puts Node builds from the npm registry (inside node_modules: ignored, removed with it). */
const nodeCache = resolve(import.meta.dirname, '../../../node_modules/.cache/skipnet-bench-node');

/**
 * Every Node to run the wasm backend on, one per version: this one, those passed with --node, every `node` on
 * PATH, and those --fetch-node left in the cache. Node's V8 decides which WebAssembly features the kernels get
 * (relaxed SIMD from Node 22), so the bench measures each.
 */
function findNodes(asked: string[]): NodeRuntime[] {
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node'));
  const cached = existsSync(nodeCache)
    ? readdirSync(nodeCache).map((dir) => join(nodeCache, dir, 'bin', 'node'))
    : [];
  const found = new Map<string, NodeRuntime>();
  for (const path of [process.execPath, ...asked, ...onPath, ...cached]) {
    try {
      accessSync(path, constants.X_OK);
    } catch {
      if (asked.includes(path))
        throw new Error(`--node: ${path} is not an executable; give the path of a node binary.`);
      continue;
    }
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    if (!found.has(version)) found.set(version, { path, version });
  }
  return [...found.values()];
}

/** Downloads Node `major` for this platform from the npm registry (the node-<platform>-<arch> package) into the cache. */
function fetchNode(major: string): void {
  if (!/^\d+$/.test(major)) throw new Error(`--fetch-node: want a major version such as 24, got '${major}'.`);
  const target = join(nodeCache, `node-${major}`);
  if (existsSync(join(target, 'bin', 'node'))) return;
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const pkg = `node-${platform}-${process.arch}@${major}`;
  mkdirSync(nodeCache, { recursive: true });
  const work = mkdtempSync(join(nodeCache, '.fetch-'));
  try {
    console.log(`fetching Node ${major} (${pkg}) from the npm registry into ${target}`);
    const tarball = execFileSync('npm', ['pack', '--silent', pkg], { cwd: work, encoding: 'utf8' }).trim();
    execFileSync('tar', ['xzf', tarball], { cwd: work });
    renameSync(join(work, 'package'), target);
  } catch (error) {
    throw new Error(
      `--fetch-node ${major}: could not fetch ${pkg} from the npm registry (${error instanceof Error ? error.message : error}); pass a Node binary with --node instead.`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Data-parallel replicas on wasm: `replicas` worker threads, one wasm thread each, batch/replicas images
 * each, gradients averaged through a SharedArrayBuffer before the same SGD update in every replica.
 * (BatchNorm then normalises over each replica's images, as in PyTorch's DataParallel.)
 */
async function measureReplicas(replicas: number, o: Options): Promise<Measured> {
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
    let cpuBefore = process.cpuUsage();
    for (let i = 0; i <= o.steps; i++) {
      if (i === 1) cpuBefore = process.cpuUsage(); // step 0 warms up
      const start = performance.now();
      const done = workers.map(next);
      for (const w of workers) w.postMessage(1);
      await Promise.all(done);
      if (i > 0) times.push(performance.now() - start); // step 0 warms up
    }
    const cpu = process.cpuUsage(cpuBefore);
    const stepMs = median(times);
    return {
      backend: 'wasm',
      cpuMs: (cpu.user + cpu.system) / 1000 / o.steps,
      device: `CPU (WebAssembly, XNNPACK, ${replicas} data-parallel replicas of 1 thread)`,
      imagesPerSecond: (o.batch * 1000) / stepMs,
      stepMs,
      fastestMs: Math.min(...times),
      slowestMs: Math.max(...times),
      rssMiB: process.memoryUsage().rss / 2 ** 20,
      node: process.version,
      kernels: kernelBuild(),
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
      node: { type: 'string', multiple: true, default: [] },
      'fetch-node': { type: 'string' },
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
  if (values['fetch-node']) fetchNode(values['fetch-node']);
  const nodes = wanted.includes('wasm') ? findNodes(values.node) : [];
  console.log(
    `seed ResNet training step, batch ${o.batch}, ${o.imageSize}×${o.imageSize}, fp32, median of ${o.steps} timed steps after 1 warm-up`,
  );
  console.log(
    `machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cores} cores, load ${loadavg()[0]!.toFixed(1)}; Node ${process.version}${
      nodes.length > 1
        ? ` (wasm also on ${nodes
            .slice(1)
            .map((n) => n.version)
            .join(', ')})`
        : ''
    }`,
  );
  if (wanted.includes('wasm') && !nodes.some((n) => Number(n.version.slice(1).split('.')[0]) >= 22)) {
    console.log(
      '  (no Node 22+ found for wasm with relaxed SIMD: `--fetch-node 24` gets one from the npm registry)',
    );
  }

  const results: Measured[] = [];
  for (const name of wanted) {
    // wasm on every Node found, once per thread count: one core, then every core; the rest on this Node.
    const runs =
      name === 'wasm'
        ? nodes.flatMap((node) => [...new Set([1, cores])].map((threads) => ({ node: node.path, threads })))
        : [{ node: process.execPath, threads: 0 }];
    for (const { node, threads } of runs) {
      const r = spawnOne(name, o, threads ? { SKIPNET_WASM_THREADS: String(threads) } : {}, node);
      if ('unavailable' in r) {
        console.log(`  ${name}: not measured: ${r.unavailable}`);
        continue;
      }
      if (threads) r.threads = threads;
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
  const measuredTorch = torch.flatMap(({ threads, result }) =>
    typeof result === 'string' ? [] : [{ threads, result }],
  );
  const best = measuredTorch.at(-1)?.result;
  /** PyTorch on as many threads (the single-thread target compares like with like). */
  const torchOn = (threads: number | undefined) => measuredTorch.find((t) => t.threads === threads)?.result;
  const ratio = (imagesPerSecond: number, base: { imagesPerSecond: number } | undefined) =>
    base ? `${(imagesPerSecond / base.imagesPerSecond).toFixed(2)}×` : '–';
  console.log('');
  console.log(
    `| system | device | Node | img/s | ms/step | CPU ms/step | RSS MiB | kernels/step | vs PyTorch CPU, same threads | vs PyTorch CPU (${cores} threads) |`,
  );
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| skipnet ${r.backend} | ${r.device}${r.kernels ? `, kernels ${r.kernels}` : ''} | ${r.node} | ${fmt(r.imagesPerSecond)} | ${fmt(r.stepMs)} | ${fmt(r.cpuMs)} | ${fmt(r.rssMiB)} | ${stepKernels(r)} | ${ratio(r.imagesPerSecond, torchOn(r.threads))} | ${ratio(r.imagesPerSecond, best)} |`,
    );
  }
  for (const { threads, result } of torch) {
    if (typeof result === 'string') {
      console.log(`| PyTorch CPU | ${threads} threads | | not measured: ${result} | | | | | | |`);
      continue;
    }
    console.log(
      `| PyTorch ${result.version} | CPU, ${threads} thread${threads > 1 ? 's' : ''} | | ${fmt(result.imagesPerSecond)} | ${fmt((o.batch * 1000) / result.imagesPerSecond)} | | | | | ${ratio(result.imagesPerSecond, best)} |`,
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
