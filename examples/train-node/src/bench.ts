#!/usr/bin/env node
// Training throughput of the seed ResNet on every backend this machine has, beside PyTorch on the same machine.
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { BACKENDS, type BackendName, BackendUnavailableError, selectBackend } from './backends.ts';
import { type BenchResult, GPU_REFERENCE, pytorchCpu, timeTrainingSteps } from './throughput.ts';

const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: n < 10 ? 2 : n < 100 ? 1 : 0 });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'tfjs-node-gpu,tfjs-node,webgpu,wasm' },
      batch: { type: 'string', default: '64' },
      'image-size': { type: 'string', default: '96' },
      steps: { type: 'string', default: '3' },
      'no-torch': { type: 'boolean', default: false },
    },
  });
  const batch = Number(values.batch);
  const imageSize = Number(values['image-size']);
  const steps = Number(values.steps);
  const wanted = values.backends.split(',').map((b) => b.trim()) as BackendName[];
  for (const name of wanted) {
    if (!BACKENDS.includes(name))
      throw new Error(`--backends: unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  }
  const cores = availableParallelism();
  console.log(
    `seed ResNet training step, batch ${batch}, ${imageSize}×${imageSize}, fp32, ${steps} timed steps after 1 warm-up`,
  );
  console.log(
    `machine: ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cores} cores, Node ${process.version}`,
  );

  const results: BenchResult[] = [];
  for (const name of wanted) {
    try {
      const choice = await selectBackend(name, { allowSoftwareWebGPU: false });
      const timing = await timeTrainingSteps({ batch, imageSize, steps });
      results.push({
        backend: name,
        device: choice.device,
        ...timing,
        rssMiB: process.memoryUsage().rss / 2 ** 20,
      });
      console.log(`  ${name}: ${fmt(timing.imagesPerSecond)} img/s (${fmt(timing.stepMs)} ms/step)`);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      console.log(`  ${name}: not measured: ${error.reason}`);
    }
  }

  const torch = values['no-torch'] ? 'skipped (--no-torch)' : pytorchCpu(batch, steps);
  console.log('');
  console.log('| backend | device | img/s | ms/step | RSS MiB | vs PyTorch CPU |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const ratio =
      typeof torch === 'string' ? '–' : `${(r.imagesPerSecond / torch.imagesPerSecond).toFixed(2)}×`;
    console.log(
      `| ${r.backend} | ${r.device} | ${fmt(r.imagesPerSecond)} | ${fmt(r.stepMs)} | ${fmt(r.rssMiB)} | ${ratio} |`,
    );
  }
  if (typeof torch === 'string') {
    console.log(`| PyTorch CPU | – | not measured: ${torch} | | | |`);
  } else {
    const ms = (batch * 1000) / torch.imagesPerSecond;
    console.log(
      `| PyTorch ${torch.version} CPU | ${cores} threads | ${fmt(torch.imagesPerSecond)} | ${fmt(ms)} | | 1.00× |`,
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
