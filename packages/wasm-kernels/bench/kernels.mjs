// Every method for each of the seed ResNet's convolutions (batch 64, 96×96 images), forward and both gradients,
// in CPU milliseconds of one call (the minimum over REPEATS calls, interleaved): on a shared machine a process's
// CPU time counts only the time it ran. Run after `pnpm exec tsup` (`pnpm bench`); THREADS=n for the threaded
// backend (then CPU time adds up every thread's).
import { loadavg } from 'node:os';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { kernelBuild, registerTrainingKernels, setConvolutionMethods } from '../dist/index.js';
import { setThreadedWasmBackend } from '../dist/threads.js';

const batch = Number(process.env.BATCH ?? 64);
const repeats = Number(process.env.REPEATS ?? 7);
// [name, input size, cin, cout, kernel, stride, pad]
const layers = [
  ['block1 conv 7×7/2', 96, 3, 64, 7, 2, 'valid'],
  ['block2 conv 3×3', 23, 64, 64, 3, 1, 1],
  ['block3 conv 3×3/2', 23, 64, 128, 3, 2, 1],
  ['block3 conv 1×1/2', 23, 64, 128, 1, 2, 0],
  ['block3 conv 3×3', 12, 128, 128, 3, 1, 1],
  ['block4 conv 3×3/2', 12, 128, 256, 3, 2, 1],
  ['block4 conv 1×1/2', 12, 128, 256, 1, 2, 0],
  ['block4 conv 3×3', 6, 256, 256, 3, 1, 1],
  ['block5 conv 3×3/2', 6, 256, 512, 3, 2, 1],
  ['block5 conv 1×1/2', 6, 256, 512, 1, 2, 0],
  ['block5 conv 3×3', 3, 512, 512, 3, 1, 1],
];
const methods = [
  ['forward', ['xnnpack', 'direct']],
  ['inputGradient', ['xnnpack', 'direct', 'winograd']],
  ['filterGradient', ['dilated', 'im2col', 'direct', 'winograd']],
];

registerTrainingKernels();
const threads = process.env.THREADS
  ? await setThreadedWasmBackend({ threads: Number(process.env.THREADS) })
  : 1;
if (!process.env.THREADS) await tf.setBackend('wasm');
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

console.log(
  `CPU ms per call, batch ${batch}, ${threads} thread(s), kernels ${kernelBuild()}, Node ${process.version}, min of ${repeats}; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `| layer | ${methods.flatMap(([what, options]) => options.map((o) => `${what} ${o}`)).join(' | ')} |`,
);
console.log(`| --- |${methods.flatMap(([, options]) => options.map(() => ' ---: |')).join('')}`);
for (const [name, size, cin, cout, k, stride, pad] of layers) {
  const x = tf.randomNormal([batch, size, size, cin]);
  const w = tf.randomNormal([k, k, cin, cout]);
  const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x, w, stride, pad).shape));
  // A fresh filter each call, as in training (XNNPACK packs each new filter).
  const calls = {
    forward: () => tf.conv2d(x, tf.add(w, 0), stride, pad),
    inputGradient: () => tf.conv2dTranspose(dy, tf.add(w, 0), [batch, size, size, cin], stride, pad),
    filterGradient: () =>
      tf.engine().runKernel(
        tf.Conv2DBackpropFilter,
        { x, dy },
        {
          strides: stride,
          pad,
          dataFormat: 'NHWC',
          filterShape: [k, k, cin, cout],
        },
      ),
  };
  const variants = methods.flatMap(([what, options]) => options.map((option) => [what, option]));
  const best = variants.map(() => Number.POSITIVE_INFINITY);
  for (let r = 0; r < repeats; r++) {
    variants.forEach(([what, option], i) => {
      setConvolutionMethods({ [what]: option });
      const start = cpuMs();
      const out = calls[what]();
      out.dataSync();
      best[i] = Math.min(best[i], cpuMs() - start);
      out.dispose();
      setConvolutionMethods({ [what]: 'auto' });
    });
  }
  console.log(`| ${name} ${size}²×${cin}→${cout} | ${best.map((t) => t.toFixed(1)).join(' | ')} |`);
  tf.dispose([x, w, dy]);
}
