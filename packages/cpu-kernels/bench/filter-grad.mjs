// Conv2DBackpropFilter on the cpu backend, tfjs-backend-cpu's own against ours, on some of the seed ResNet's
// convolutions (96×96 images). The stock kernel is slow enough that it runs once per layer; ours is the median of
// REPEATS. Run after a build: `pnpm --filter @skipnet/cpu-kernels bench`.
import { loadavg } from 'node:os';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from '../dist/index.js';

const batch = Number(process.env.BATCH ?? 2);
const repeats = Number(process.env.REPEATS ?? 3);
// [name, input size, cin, cout, kernel, stride, pad]
const layers = [
  ['block1 conv 7×7/2', 96, 3, 64, 7, 2, 'valid'],
  ['block2 conv 3×3', 23, 64, 64, 3, 1, 1],
  ['block3 conv 3×3/2', 23, 64, 128, 3, 2, 1],
  ['block4 conv 3×3', 6, 256, 256, 3, 1, 1],
];

function filterGradient(x, dy, filterShape, stride, pad) {
  const start = performance.now();
  const out = tf
    .engine()
    .runKernel(
      tf.Conv2DBackpropFilter,
      { x, dy },
      { strides: [stride, stride], pad, dataFormat: 'NHWC', filterShape },
    );
  out.dataSync();
  out.dispose();
  return performance.now() - start;
}

await tf.setBackend('cpu');
const stock = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu');
console.log(
  `Conv2DBackpropFilter on cpu, batch ${batch}; load average before: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| layer | stock (ms) | ours (ms, median) | speed-up |');
console.log('| --- | --- | --- | --- |');
for (const [name, size, cin, cout, k, stride, pad] of layers) {
  const filterShape = [k, k, cin, cout];
  const x = tf.relu(tf.randomNormal([batch, size, size, cin], 0, 1, 'float32', 1));
  const outShape = tf.tidy(() => tf.conv2d(x, tf.zeros(filterShape), stride, pad).shape);
  const dy = tf.randomNormal(outShape, 0, 1, 'float32', 2);
  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel(stock);
  const stockMs = filterGradient(x, dy, filterShape, stride, pad);
  registerTrainingKernels();
  const ours = Array.from({ length: repeats }, () => filterGradient(x, dy, filterShape, stride, pad)).sort(
    (a, b) => a - b,
  )[Math.floor(repeats / 2)];
  console.log(`| ${name} | ${stockMs.toFixed(0)} | ${ours.toFixed(0)} | ${(stockMs / ours).toFixed(0)}× |`);
  tf.dispose([x, dy]);
}
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
