// Loader throughput: images/s through batches({ batchSize: 64 }) with the seed transform (PIL-bilinear resize to
// 96×96, /255, (x − 0.5)/0.5), tensors made on tfjs's CPU backend and disposed by the iterator. Uses the built-in
// synthetic set (same 32×32 uint8 layout as CIFAR-10), so it runs offline. Run: pnpm bench (builds first).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { horizontalFlip, loadSynthetic, randomCrop, resize } from '../dist/index.js';

await tf.setBackend('cpu');
const data = await loadSynthetic({ trainSize: 5000, testSize: 10, seed: 0 });

async function measure(label, options) {
  const rates = [];
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    let n = 0;
    for await (const b of data.train.batches({ batchSize: 64, epoch: run, ...options })) n += b.x.shape[0];
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(56)} ${Math.round(rates[1]).toLocaleString('en-US').padStart(7)} images/s (median of 3)`,
  );
}

const seed = { transform: [resize(96)], normalize: { mean: 0.5, std: 0.5 } };
console.log(`node ${process.version}, ${(await import('node:os')).cpus()[0]?.model}`);
await measure('seed transform, 96x96, batch 64, shuffled', { ...seed, shuffle: true });
await measure('seed transform + crop(pad 4) + flip, 96x96, batch 64', {
  ...seed,
  shuffle: true,
  transform: [randomCrop(32, 4), horizontalFlip(), resize(96)],
});
await measure('no transform, 32x32, batch 64', { shuffle: true });
