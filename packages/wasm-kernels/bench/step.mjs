// One training step of the seed ResNet (batch 64, 96×96) on wasm: images/s, and with PROFILE=1 the
// kernels that take the time. Uses @skipnet/resnet from this monorepo (build it first:
// `pnpm build`), which is not a dependency of this package (resnet tests use this one).
import { loadavg } from 'node:os';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from '../dist/index.js';
import { setThreadedWasmBackend } from '../dist/threads.js';

const { seedResNet } = await import('../../resnet/dist/index.js');
const batch = Number(process.env.BATCH ?? 64);
const steps = Number(process.env.STEPS ?? 3);
const size = 96;

registerTrainingKernels();
// THREADS=n: tfjs-backend-wasm's multi-threaded XNNPACK build; unset: the stock single thread.
const threads = process.env.THREADS
  ? await setThreadedWasmBackend({ threads: Number(process.env.THREADS) })
  : 1;
if (!process.env.THREADS) await tf.setBackend('wasm');
const model = seedResNet();
const params = model.parameters();
const x = tf.randomNormal([batch, size, size, 3]);
const labels = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);

function step() {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, model.forward(x)),
      params,
    );
    for (const p of params) p.assign(tf.sub(p, tf.mul(grads[p.name], 0.01)));
    value.dataSync();
  });
}

step();
if (process.env.PROFILE) {
  const profile = await tf.profile(step);
  const byKernel = new Map();
  for (const k of profile.kernels) {
    const t = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    t.ms += k.kernelTimeMs;
    t.calls += 1;
    byKernel.set(k.name, t);
  }
  const total = [...byKernel.values()].reduce((s, t) => s + t.ms, 0);
  console.log(
    `profile of one step: ${total.toFixed(0)} ms in kernels, peak ${(profile.peakBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  for (const [name, t] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
    console.log(
      `${name.padEnd(24)} ${t.ms.toFixed(0).padStart(6)} ms ${((100 * t.ms) / total).toFixed(1).padStart(5)}%  ${t.calls} calls`,
    );
  }
}
const start = performance.now();
for (let i = 0; i < steps; i++) step();
const ms = (performance.now() - start) / steps;
console.log(
  `seed ResNet, wasm ${threads} thread(s), batch ${batch}, ${size}×${size}: ${ms.toFixed(0)} ms/step, ${((1000 * batch) / ms).toFixed(1)} img/s` +
    ` (load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, wasm heap ${(tf.backend().wasm.HEAPU8.length / 2 ** 20).toFixed(0)} MiB)`,
);
