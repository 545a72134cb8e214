// Training throughput of the seed ResNet, and PyTorch's for the same step on this machine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { BackendName } from '@skipnet/backend';
import { init } from '@skipnet/nn';
import { seedResNet } from '@skipnet/resnet';
import { SGD, trainStep } from '@skipnet/trainer';
import { countDispatches } from '@skipnet/webgpu';
import * as tf from '@tensorflow/tfjs-core';

/** Figures measured once on the GPU machine (NVIDIA H200, 2026-11), printed beside ours for scale. */
export const GPU_REFERENCE = [
  { system: 'tfjs-backend-webgpu in Node, stock (H200)', batch64: 167, batch256: 198 },
  { system: 'PyTorch 2.11 CUDA fp32 (H200)', batch64: 9719, batch256: 24359 },
  { system: 'PyTorch 2.11 CUDA bf16 channels-last (H200)', batch64: null, batch256: 39332 },
] as const;

export interface BenchResult {
  backend: BackendName;
  device: string;
  imagesPerSecond: number;
  /** Median step time. */
  stepMs: number;
  /**
   * CPU time of the process per step (all its threads), the mean over the timed steps: on a machine other jobs
   * share, it moves far less than wall time, since time spent waiting for a core does not count.
   */
  cpuMs: number;
  fastestMs: number;
  slowestMs: number;
  /** Resident memory of the process after the steps (MiB): the wasm heap and tensors live inside it. */
  rssMiB: number;
  /** Kernels one step runs through tfjs (and on webgpu the GPU dispatches): see {@link countStepKernels}. */
  kernelsPerStep?: number;
  dispatchesPerStep?: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A seed ResNet, its SGD and one batch of random images on the active backend, for timing and counting. */
function seedStep(options: { batch: number; imageSize: number; widths?: [number, number, number, number] }) {
  const { batch, imageSize } = options;
  const model = seedResNet({
    ...(options.widths ? { widths: options.widths } : {}),
    ...(imageSize === 96 ? {} : { head: 'global' as const }),
  });
  init.xavierInit(model, { seed: 0 });
  model.train();
  const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
  const x = tf.randomNormal([batch, imageSize, imageSize, 3], 0, 1, 'float32', 1);
  const y = tf.randomUniformInt([batch], 0, 10, 2);
  return {
    step: () => trainStep(model, optimizer, x, y),
    dispose: () => {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

/**
 * Times `steps` SGD steps of the seed ResNet after one warm-up step, on the active backend. The
 * figure is the median step: on shared machines a step now and then runs 10–30% slow.
 */
export async function timeTrainingSteps(options: {
  batch: number;
  imageSize: number;
  steps: number;
  widths?: [number, number, number, number];
}): Promise<{
  imagesPerSecond: number;
  stepMs: number;
  cpuMs: number;
  slowestMs: number;
  fastestMs: number;
}> {
  const { batch, steps } = options;
  const seed = seedStep(options);
  try {
    await seed.step();
    const times: number[] = [];
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      await seed.step();
      times.push(performance.now() - start);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const stepMs = median(times);
    return {
      imagesPerSecond: (batch * 1000) / stepMs,
      stepMs,
      cpuMs: (cpu.user + cpu.system) / 1000 / steps,
      fastestMs: Math.min(...times),
      slowestMs: Math.max(...times),
    };
  } finally {
    seed.dispose();
  }
}

/** What one training step ran. */
export interface StepKernels {
  /** Kernel calls through tfjs's engine (`tf.profile`, custom-gradient scopes left out): every backend. */
  kernels: number;
  /** Compute passes dispatched to the GPU (webgpu only): Reshape dispatches none, a composite kernel several. */
  dispatches: number | undefined;
  /** Calls and time by kernel name, most calls first (times are 0 on a GPU without timestamp queries). */
  byName: Array<{ name: string; calls: number; ms: number }>;
}

/** Counts the kernels of one SGD step of the seed ResNet, after a warm-up step, on the active backend. */
export async function countStepKernels(options: {
  batch: number;
  imageSize: number;
  widths?: [number, number, number, number];
}): Promise<StepKernels> {
  const seed = seedStep(options);
  try {
    await seed.step();
    const profile = () => tf.profile(async () => void (await seed.step()));
    const backend = tf.getBackend();
    const { result: info, dispatches } =
      backend === 'webgpu'
        ? await countDispatches(profile)
        : { result: await profile(), dispatches: undefined };
    const byName = new Map<string, { name: string; calls: number; ms: number }>();
    for (const { name, kernelTimeMs } of info.kernels) {
      if (tf.getKernel(name, backend) === undefined) continue; // a tf.customGrad scope, not a kernel
      const entry = byName.get(name) ?? { name, calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += typeof kernelTimeMs === 'number' ? kernelTimeMs : 0;
      byName.set(name, entry);
    }
    const rows = [...byName.values()].sort((a, b) => b.calls - a.calls);
    return { kernels: rows.reduce((n, r) => n + r.calls, 0), dispatches, byName: rows };
  } finally {
    seed.dispose();
  }
}

/** The reference script that timed the seed's PyTorch model (`../shared/reference` beside the repository). */
function torchScript(): string | null {
  const path = resolve(import.meta.dirname, '../../../../shared/reference/seed_torch.py');
  return existsSync(path) ? path : null;
}

/** PyTorch's images/s for the same step on this machine's CPU cores, or why there is none. */
export function pytorchCpu(
  batch: number,
  steps: number,
  threads = availableParallelism(),
): { imagesPerSecond: number; version: string } | string {
  const script = torchScript();
  if (!script) return 'no ../shared/reference/seed_torch.py beside the repository';
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      const out = execFileSync(python, [script, 'cpu', String(batch), String(steps)], {
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: String(threads) },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30 * 60_000,
      });
      const rate = /img_per_s=([\d.]+)/.exec(out);
      const version = /^torch (\S+)/m.exec(out);
      if (rate) return { imagesPerSecond: Number(rate[1]), version: version?.[1] ?? '?' };
    } catch {
      // next interpreter
    }
  }
  return 'PyTorch is not installed (apt-get install python3-torch)';
}
