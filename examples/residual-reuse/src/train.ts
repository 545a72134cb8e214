// Trains the TinyResNet (built from @skipnet/residual blocks) on the built-in synthetic set, on wasm.
import { loadSynthetic } from '@skipnet/cifar10';
import { Adam, trainCh6 } from '@skipnet/trainer';
import { registerTrainingKernels } from '@skipnet/wasm-kernels';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { TinyResNet } from './tiny-resnet.ts';

registerTrainingKernels();
await tf.setBackend('wasm');
const data = await loadSynthetic({ trainSize: 1000, testSize: 300, seed: 1 });
const model = new TinyResNet({ numClasses: data.classNames.length, widths: [8, 16, 32] });
const batches = (split: typeof data.train, shuffle: boolean) => (epoch: number) =>
  split.batches({ batchSize: 50, shuffle, seed: 1, epoch, normalize: { mean: 0.5, std: 0.5 } });
await trainCh6(model, batches(data.train, true), batches(data.test, false), {
  epochs: 3,
  optimizer: (params) => new Adam(params, { lr: 3e-3 }),
  seed: 1,
  title: 'TinyResNet on the SYNTHETIC set',
});
model.dispose();
