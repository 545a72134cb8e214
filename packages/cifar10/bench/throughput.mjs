// Loader throughput: images/s through batches({ batchSize: 64 }) with the seed transform (PIL-bilinear resize to
// 96×96, /255, (x − 0.5)/0.5), tensors made on tfjs's CPU backend and disposed by the iterator. Uses the built-in
// synthetic set (same 32×32 uint8 layout as CIFAR-10), so it runs offline. Run: pnpm bench (builds first).
import '@tensorflow/tfjs-backend-cpu';
import { cpus, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { horizontalFlip, loadSynthetic, randomCrop, resize } from '../dist/index.js';

await tf.setBackend('cpu');
const data = await loadSynthetic({ trainSize: 5000, testSize: 10, seed: 0 });

async function measure(label, options) {
  const wall = [];
  const cpu = [];
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let n = 0;
    for await (const b of data.train.batches({ batchSize: 64, epoch: run, ...options })) n += b.x.shape[0];
    const c = process.cpuUsage(c0);
    wall.push(n / ((performance.now() - t0) / 1000));
    cpu.push(n / ((c.user + c.system) / 1e6));
  }
  const median = (v) =>
    Math.round(v.sort((a, b) => a - b)[1])
      .toLocaleString('en-US')
      .padStart(7);
  // Per CPU-second too: on a shared machine the wall-clock rate mostly measures the other processes.
  console.log(
    `${label.padEnd(52)} ${median(wall)} images/s wall, ${median(cpu)} per CPU-second (median of 3)`,
  );
}

const seed = { transform: [resize(96)], normalize: { mean: 0.5, std: 0.5 } };
console.log(`node ${process.version}, ${cpus()[0]?.model}, load average ${loadavg()[0].toFixed(1)}`);
await measure('seed transform, 96x96, batch 64, shuffled', { ...seed, shuffle: true });
await measure('seed transform + crop(pad 4) + flip, 96x96, batch 64', {
  ...seed,
  shuffle: true,
  transform: [randomCrop(32, 4), horizontalFlip(), resize(96)],
});
await measure('no transform, 32x32, batch 64', { shuffle: true });
