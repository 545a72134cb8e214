// Runs in an empty npm project that installed the packed tarballs (ESM): trains two steps on wasm.
import { selectBackend } from '@skipnet/backend';
import { loadSynthetic } from '@skipnet/cifar10';
import { init, readSafetensors, writeSafetensors } from '@skipnet/nn';
import { Residual } from '@skipnet/residual';
import { seedResNet } from '@skipnet/resnet';
import { SGD, trainStep } from '@skipnet/trainer';
import * as webgpu from '@skipnet/webgpu';
import * as tf from '@tensorflow/tfjs-core';

await selectBackend('wasm', { threads: 1 }); // tfjs-backend-wasm with @skipnet/wasm-kernels' training kernels
const data = await loadSynthetic({ trainSize: 16, testSize: 8, seed: 1 });
const model = seedResNet({ widths: [4, 8, 8, 8], head: 'global' });
init.xavierInit(model, { seed: 0 });
model.train();
const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
const losses = [];
for await (const { x, y } of data.train.batches({ batchSize: 8, normalize: { mean: 0.5, std: 0.5 } })) {
  losses.push((await trainStep(model, optimizer, x, y)).loss);
  tf.dispose([x, y]);
}
const weights = readSafetensors(writeSafetensors(model.stateDict()));
const block = new Residual({ inChannels: 4, outChannels: 8, stride: 2 });
const shape = block.forward(tf.zeros([1, 8, 8, 4])).shape;
console.log(
  JSON.stringify({
    backend: tf.getBackend(),
    losses,
    keys: Object.keys(weights).length,
    residual: shape,
    webgpu: typeof webgpu.setupWebGPU,
  }),
);
