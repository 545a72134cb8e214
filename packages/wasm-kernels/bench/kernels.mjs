// Per-kernel times on the wasm backend, tfjs-backend-wasm's own kernels against ours, on the seed
// ResNet's convolutions (batch 64, 96×96 images). Run after `pnpm exec tsup`: `pnpm bench:kernels`.
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from '../dist/index.js';

const batch = Number(process.env.BATCH ?? 64);
const repeats = Number(process.env.REPEATS ?? 3);
// [name, input size, cin, cout, kernel, stride, pad]
const layers = [
  ['block1 conv 7×7/2', 96, 3, 64, 7, 2, 'valid'],
  ['block2 conv 3×3', 23, 64, 64, 3, 1, 1],
  ['block3 conv 3×3/2', 23, 64, 128, 3, 2, 1],
  ['block3 conv 1×1/2', 23, 64, 128, 1, 2, 0],
  ['block3 conv 3×3', 12, 128, 128, 3, 1, 1],
  ['block4 conv 3×3/2', 12, 128, 256, 3, 2, 1],
  ['block4 conv 3×3', 6, 256, 256, 3, 1, 1],
  ['block5 conv 3×3/2', 6, 256, 512, 3, 2, 1],
  ['block5 conv 3×3', 3, 512, 512, 3, 1, 1],
];

function time(fn) {
  tf.dispose(fn());
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const out = fn();
    out.dataSync();
    times.push(performance.now() - start);
    tf.dispose(out);
  }
  return times.sort((a, b) => a - b)[Math.floor(repeats / 2)];
}

await tf.setBackend('wasm');
const stockInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm').kernelFunc;
registerTrainingKernels();
const engine = tf.engine();
const backend = tf.backend();
const rows = [];
for (const [name, size, cin, cout, k, stride, pad] of layers) {
  const x = tf.randomNormal([batch, size, size, cin]);
  const w = tf.randomNormal([k, k, cin, cout]);
  const y = tf.conv2d(x, w, stride, pad);
  const dy = tf.randomNormal(y.shape);
  const attrs = { strides: stride, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  const inputAttrs = { ...attrs, inputShape: x.shape };
  const forward = time(() => tf.conv2d(x, w, stride, pad));
  const stock =
    k === 7
      ? Number.NaN
      : time(() => {
          const info = stockInput({ inputs: { dy, filter: w }, backend, attrs: inputAttrs });
          return engine.makeTensorFromTensorInfo(info);
        });
  const ours = time(() => engine.runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, inputAttrs));
  const filter = time(() =>
    engine.runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: w.shape }),
  );
  rows.push({ layer: `${name} ${size}²×${cin}→${cout}`, forward, stock, ours, filter });
  tf.dispose([x, w, y, dy]);
}
const ms = (v) => (Number.isNaN(v) ? '—' : v.toFixed(1));
console.log(
  `batch ${batch}, median of ${repeats}, ms; load: ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| layer | Conv2D | BackpropInput stock | BackpropInput ours | BackpropFilter ours |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.layer} | ${ms(r.forward)} | ${ms(r.stock)} | ${ms(r.ours)} | ${ms(r.filter)} |`);
}
