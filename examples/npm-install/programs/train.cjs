// Runs in an empty npm project that installed the packed tarballs (CommonJS): trains two steps on wasm.
const { selectBackend } = require('@skipnet/backend');
const { loadSynthetic } = require('@skipnet/cifar10');
const { init, readSafetensors, writeSafetensors } = require('@skipnet/nn');
const { Residual } = require('@skipnet/residual');
const { seedResNet } = require('@skipnet/resnet');
const { SGD, trainStep } = require('@skipnet/trainer');
const webgpu = require('@skipnet/webgpu');
const tf = require('@tensorflow/tfjs-core');

async function main() {
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
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
