// Trains a Keras-style tf.sequential built around the seed's residual block on the built-in synthetic set, on wasm,
// with `fit` and a callback; saves it with `model.save`, loads it back with `tf.loadLayersModel` and checks that the
// predictions are equal; writes the residual blocks' weights for PyTorch. Usage: node dist/train.js [folder]
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSynthetic } from '@skipnet/cifar10';
import { registerTrainingKernels } from '@skipnet/wasm-kernels';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { wholeSplit } from './data.ts';
import { registerFileRouter } from './file-io.ts';
import { tinyClassifier } from './model.ts';
import { residualBlocksSafetensors } from './pytorch.ts';

const out = resolve(process.argv[2] ?? 'runs/layers-reuse');
if (existsSync(out)) {
  console.error(`${out} exists: pass another folder (node dist/train.js <folder>) or delete that one`);
  process.exit(1);
}
registerTrainingKernels();
await tf.setBackend('wasm');
registerFileRouter();

const data = await loadSynthetic({ trainSize: 1000, testSize: 300, seed: 1 });
console.log(`data: the built-in SYNTHETIC set (${data.classNames.length} classes), not CIFAR-10`);
const train = await wholeSplit(data.train);
const test = await wholeSplit(data.test);
const model = tinyClassifier({ numClasses: data.classNames.length, widths: [8, 16] });
model.summary();
model.compile({
  optimizer: tf.train.adam(3e-3),
  loss: 'sparseCategoricalCrossentropy',
  metrics: ['accuracy'],
});
await model.fit(train.x, train.y, {
  epochs: 3,
  batchSize: 50,
  validationData: [test.x, test.y],
  verbose: 0,
  callbacks: {
    onEpochEnd: async (epoch, logs = {}) => {
      const f = (name: string) => (logs[name] ?? Number.NaN).toFixed(3);
      console.log(
        `epoch ${epoch + 1}: loss ${f('loss')}, acc ${f('acc')}, test loss ${f('val_loss')}, test acc ${f('val_acc')}`,
      );
    },
  },
});

await model.save(`file://${out}`);
const loaded = await tfl.loadLayersModel(`file://${join(out, 'model.json')}`);
const [before, after] = [model.predict(test.x) as tf.Tensor, loaded.predict(test.x) as tf.Tensor];
const equal = tf.tidy(() => tf.all(tf.equal(before, after)).dataSync()[0] === 1);
console.log(
  `saved ${join(out, 'model.json')} and weights.bin; loaded back, predictions ${equal ? 'equal' : 'DIFFER'}`,
);
await writeFile(join(out, 'residual-blocks.safetensors'), residualBlocksSafetensors(model));
console.log(`PyTorch weights of the blocks: ${join(out, 'residual-blocks.safetensors')}`);
if (!equal) process.exitCode = 1;
