// What scripts/gpu-check.sh prints on the GPU machine, in one run: the adapter, the loader's rate on the main
// thread and in its worker pool, parity with PyTorch on webgpu, kernels and dispatches per training step, the
// training rate at each batch size for stock tfjs-backend-webgpu and for ours, and where a step's time goes.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { loadSynthetic, resize } from '@skipnet/cifar10';
import { seedResNet, type Widths } from '@skipnet/resnet';
import { formatParity, replaySeedFixture, summarizeParity } from '@skipnet/test-support';
import {
  type FilterGradientMethod,
  registerWebGPUTrainingKernels,
  setupWebGPU,
  type WebGPUTrainingKernelsOptions,
} from '@skipnet/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { countStepKernels, GPU_REFERENCE, median, timeTrainingSteps } from './throughput.ts';

export interface GpuCheckOptions {
  /** The narrow PyTorch fixture (seed-resnet-narrow). */
  fixtures: string;
  batches: number[];
  /** Timed steps per row, after one warm-up step. */
  steps: number;
  imageSize: number;
  /** Channels of block2..5; default the seed's. */
  widths?: Widths;
  /** The batch at which kernels are counted and profiled. */
  profileBatch: number;
  /** Also run on a software adapter (llvmpipe, SwiftShader): for checking the script, not for figures. */
  allowSoftware: boolean;
  /** Our Conv2DBackpropFilter formulations to time; the first is counted, replayed and profiled. */
  filterGradients: FilterGradientMethod[];
  /** Images the loader prepares per measurement. */
  loaderImages: number;
}

/** The full check on a GPU: the seed's size, batch 64 and 256. */
export const FULL_CHECK: Omit<GpuCheckOptions, 'fixtures'> = {
  batches: [64, 256],
  steps: 5,
  imageSize: 96,
  profileBatch: 64,
  allowSoftware: false,
  filterGradients: ['im2col', 'im2col-splitk', 'conv'],
  loaderImages: 5000,
};

/** `--tiny`: every section at a size a software adapter runs in seconds, to check the script, not the GPU. */
export const TINY_CHECK: Omit<GpuCheckOptions, 'fixtures'> = {
  batches: [2],
  steps: 1,
  imageSize: 32,
  widths: [4, 8, 8, 8],
  profileBatch: 2,
  allowSoftware: true,
  filterGradients: ['im2col', 'im2col-splitk', 'conv'],
  loaderImages: 128,
};

const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: n < 10 ? 2 : n < 100 ? 1 : 0 });

/** Runs the check, printing Markdown; resolves to the exit code (1 when a parity check fails). */
export async function gpuCheck(o: GpuCheckOptions, print: (...lines: string[]) => void): Promise<number> {
  // allow_unsafe_apis lets Dawn expose timestamp queries, so tf.profile reports kernel times.
  const info = await setupWebGPU({
    allowSoftware: o.allowSoftware,
    dawnFlags: ['enable-dawn-features=allow_unsafe_apis'],
  });
  expectBackend(await tf.setBackend('webgpu'));
  print(`adapter: ${info.adapter}${info.software ? ' (SOFTWARE: figures say nothing about a GPU)' : ''}`);
  print(`features: ${info.features.join(', ') || 'none'}`);
  print(`limits: ${JSON.stringify(info.limits)}`);
  print(`host: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} cores, load ${load()}`);
  const model = `seed ResNet${o.widths ? ` (widths ${o.widths.join(', ')})` : ''}, ${o.imageSize}×${o.imageSize}`;

  print(
    '\n## Loader: batches of 64 at 96×96 with the seed transform (resize, normalise), on the active backend\n',
  );
  print(...(await loaderRows(o.loaderImages)));

  const stockParity = await parityRows(o.fixtures);
  print('\n## Parity with PyTorch (seed-resnet-narrow) on webgpu, stock kernels\n');
  print(...formatParity(stockParity));

  // Stock first: the filter gradient, once ours, stays ours for the rest of the process.
  const counts: string[] = [];
  const rates: string[] = [];
  const measure = async (system: string, count: boolean) => {
    if (count) {
      const k = await countStepKernels({ batch: o.profileBatch, imageSize: o.imageSize, ...widths(o) });
      counts.push(`| ${system} | ${fmt(k.kernels)} | ${fmt(k.dispatches ?? Number.NaN)} |`);
    }
    for (const batch of o.batches) {
      const t = await timeTrainingSteps({ batch, imageSize: o.imageSize, steps: o.steps, ...widths(o) });
      rates.push(`| ${system} | ${batch} | ${fmt(t.imagesPerSecond)} | ${fmt(t.stepMs)} |`);
    }
  };
  await measure('tfjs-backend-webgpu, stock', true);
  const [first = 'im2col', ...others] = o.filterGradients;
  const ours = (options: WebGPUTrainingKernelsOptions) => {
    registerWebGPUTrainingKernels(options);
    const fused = options.fused === false ? 'not fused' : 'fused';
    return `+ skipnet filter gradient (${options.filterGradient}), ${fused}`;
  };
  await measure(ours({ filterGradient: first, fused: false }), true);
  await measure(ours({ filterGradient: first }), true);
  for (const method of others) await measure(ours({ filterGradient: method }), false);

  print(`\n## Kernels per training step (${model}, batch ${o.profileBatch})\n`);
  print('| system | tfjs kernels | GPU dispatches |', '| --- | ---: | ---: |', ...counts);
  print(`\n## Training rate (${model}, fp32, median of ${o.steps} steps after a warm-up)\n`);
  print('| system | batch | img/s | ms/step |', '| --- | ---: | ---: | ---: |', ...rates);
  for (const g of GPU_REFERENCE) {
    for (const [batch, rate] of [
      [64, g.batch64],
      [256, g.batch256],
    ] as const) {
      if (rate !== null) print(`| ${g.system}, measured before | ${batch} | ${fmt(rate)} | |`);
    }
  }

  registerWebGPUTrainingKernels({ filterGradient: first });
  const ourParity = await parityRows(o.fixtures);
  print(`\n## Parity with PyTorch on webgpu, our kernels (${first}, fused)\n`);
  print(...formatParity(ourParity));
  print(`\n## Where one step's time goes, our kernels (${model}, batch ${o.profileBatch})\n`);
  print(...(await profileRows(o)));
  print(`\nload ${load()} at the end`);
  return [...stockParity, ...ourParity].every((r) => r.ok) ? 0 : 1;
}

function expectBackend(ok: boolean): void {
  if (!ok) throw new Error("tfjs could not start the 'webgpu' backend on this adapter");
}

const widths = (o: GpuCheckOptions) => (o.widths ? { widths: o.widths } : {});

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function parityRows(fixtureDir: string) {
  const model = seedResNet({ widths: [8, 16, 32, 64] });
  try {
    return summarizeParity((await replaySeedFixture(fixtureDir, model)).entries);
  } finally {
    model.dispose();
  }
}

/** Images/s through cifar10's batches() on the main thread and in its worker pool (medians of 3, interleaved). */
async function loaderRows(images: number): Promise<string[]> {
  const data = await loadSynthetic({ trainSize: images, testSize: 10, seed: 0 });
  const options = {
    batchSize: 64,
    shuffle: true,
    transform: [resize(96)],
    normalize: { mean: 0.5, std: 0.5 },
  };
  const rate = async (workers: number | 'auto', epoch: number) => {
    const start = performance.now();
    let n = 0;
    for await (const b of data.train.batches({ ...options, epoch, workers })) {
      n += b.x.shape[0]!;
      tf.dispose([b.x, b.y]);
    }
    return (n * 1000) / (performance.now() - start);
  };
  const main: number[] = [];
  const pool: number[] = [];
  for (let run = 0; run < 3; run++) {
    main.push(await rate(0, run));
    pool.push(await rate('auto', run));
  }
  const workers = Math.max(1, availableParallelism() - 1);
  return [
    '| where | images/s |',
    '| --- | ---: |',
    `| main thread | ${fmt(median(main))} |`,
    `| worker pool (${workers} worker${workers > 1 ? 's' : ''}) | ${fmt(median(pool))} |`,
  ];
}

/** The kernels of one step with the most GPU time (zero where the adapter has no timestamp queries). */
async function profileRows(o: GpuCheckOptions): Promise<string[]> {
  const { kernels, dispatches, byName } = await countStepKernels({
    batch: o.profileBatch,
    imageSize: o.imageSize,
    ...widths(o),
  });
  const total = byName.reduce((sum, e) => sum + e.ms, 0);
  const top = [...byName].sort((a, b) => b.ms - a.ms || b.calls - a.calls).slice(0, 12);
  return [
    `${fmt(kernels)} kernel calls (${fmt(dispatches ?? Number.NaN)} dispatches), ${total.toFixed(1)} ms of GPU time`,
    '',
    '| kernel | calls | ms |',
    '| --- | ---: | ---: |',
    ...top.map((e) => `| ${e.name} | ${e.calls} | ${e.ms.toFixed(1)} |`),
  ];
}
