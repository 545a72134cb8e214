#!/usr/bin/env node
// The check that runs on the GPU machine (scripts/gpu-check.sh): the adapter, parity with PyTorch on webgpu,
// training throughput at batch 64 and 256 beside the stock and PyTorch figures, and where a step's time goes.
import { parseArgs } from 'node:util';
import { init } from '@skipnet/nn';
import { seedResNet } from '@skipnet/resnet';
import { formatParity, replaySeedFixture, summarizeParity } from '@skipnet/test-support';
import { SGD, trainStep } from '@skipnet/trainer';
import { type FilterGradientMethod, registerWebGPUTrainingKernels, setupWebGPU } from '@skipnet/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { GPU_REFERENCE, timeTrainingSteps } from './throughput.ts';

async function profileStep(batch: number): Promise<string[]> {
  const model = seedResNet();
  init.xavierInit(model, { seed: 0 });
  model.train();
  const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
  const x = tf.randomNormal([batch, 96, 96, 3]);
  const y = tf.randomUniformInt([batch], 0, 10);
  await trainStep(model, optimizer, x, y);
  const info = await tf.profile(async () => {
    await trainStep(model, optimizer, x, y);
    return [];
  });
  const byKernel = new Map<string, { ms: number; count: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    total += ms;
    const entry = byKernel.get(k.name) ?? { ms: 0, count: 0 };
    entry.ms += ms;
    entry.count += 1;
    byKernel.set(k.name, entry);
  }
  tf.dispose([x, y]);
  model.dispose();
  const top = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
  return [
    `profile of one step at batch ${batch}: ${info.kernels.length} kernel calls, ${total.toFixed(1)} ms of kernel time`,
    '| kernel | calls | ms |',
    '| --- | ---: | ---: |',
    ...top.map(([name, e]) => `| ${name} | ${e.count} | ${e.ms.toFixed(1)} |`),
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      fixtures: { type: 'string', default: 'fixtures/seed-resnet-narrow' },
      batches: { type: 'string', default: '64,256' },
      steps: { type: 'string', default: '5' },
      'profile-batch': { type: 'string', default: '64' },
      'allow-software': { type: 'boolean', default: false },
      // Conv2DBackpropFilter formulations of @skipnet/webgpu to time after stock; the first is also profiled.
      'filter-gradient': { type: 'string', default: 'im2col,im2col-splitk,conv' },
    },
  });
  const methods = values['filter-gradient'].split(',') as FilterGradientMethod[];
  // allow_unsafe_apis lets Dawn expose timestamp queries, so tf.profile reports kernel times.
  const info = await setupWebGPU({
    allowSoftware: values['allow-software'],
    dawnFlags: ['enable-dawn-features=allow_unsafe_apis'],
  });
  await tf.setBackend('webgpu');
  console.log(`adapter: ${info.adapter}${info.software ? ' (SOFTWARE)' : ''}`);
  console.log(`features: ${info.features.join(', ') || 'none'}`);
  console.log(`limits: ${JSON.stringify(info.limits)}`);

  const rows = await parityRows(values.fixtures);
  console.log('\nparity with PyTorch (seed-resnet-narrow) on webgpu:');
  console.log(formatParity(rows).join('\n'));

  console.log('\nseed ResNet training step on webgpu, 96×96 fp32:');
  console.log('| system | batch | img/s | ms/step |');
  console.log('| --- | ---: | ---: | ---: |');
  const batches = values.batches.split(',').map(Number);
  const steps = Number(values.steps);
  const row = async (system: string, batch: number) => {
    const t = await timeTrainingSteps({ batch, imageSize: 96, steps });
    console.log(`| ${system} | ${batch} | ${t.imagesPerSecond.toFixed(0)} | ${t.stepMs.toFixed(1)} |`);
  };
  // Stock first: once registered, the training kernels stay for the rest of the process.
  for (const batch of batches) await row('skipnet webgpu, stock kernels', batch);
  for (const method of methods) {
    registerWebGPUTrainingKernels({ filterGradient: method });
    for (const batch of batches) await row(`skipnet webgpu + training kernels (${method})`, batch);
  }
  for (const g of GPU_REFERENCE) {
    if (g.batch64) console.log(`| ${g.system} | 64 | ${g.batch64} | |`);
    console.log(`| ${g.system} | 256 | ${g.batch256} | |`);
  }
  registerWebGPUTrainingKernels({ filterGradient: methods[0] ?? 'im2col' });
  const kernelRows = await parityRows(values.fixtures);
  console.log(`\nparity with PyTorch on webgpu + training kernels (${methods[0] ?? 'im2col'}):`);
  console.log(formatParity(kernelRows).join('\n'));
  console.log(`\nwith training kernels (${methods[0] ?? 'im2col'}):`);
  console.log((await profileStep(Number(values['profile-batch']))).join('\n'));
  return [...rows, ...kernelRows].every((r) => r.ok) ? 0 : 1;
}

async function parityRows(fixtureDir: string) {
  const model = seedResNet({ widths: [8, 16, 32, 64] });
  try {
    return summarizeParity((await replaySeedFixture(fixtureDir, model)).entries);
  } finally {
    model.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
