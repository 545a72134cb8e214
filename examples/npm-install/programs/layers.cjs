// Runs in an empty npm project that installed the packed tarballs (CommonJS): the residual block and the seed ResNet in
// tfjs-layers models, trained with fit on wasm on tfjs-core's Node bundle (gradients from @skipnet/nn), saved and
// loaded back.
const { Residual } = require('@skipnet/residual');
const { ResidualLayer, residualLayer } = require('@skipnet/residual/layers');
const { seedResNetLayer } = require('@skipnet/resnet/layers');
const { registerTrainingKernels } = require('@skipnet/wasm-kernels');
require('@tensorflow/tfjs-backend-wasm');
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');

async function main() {
  registerTrainingKernels();
  await tf.setBackend('wasm');
  const model = tfl.sequential({
    layers: [
      residualLayer({ outChannels: 4, stride: 2, inputShape: [8, 8, 3] }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const x = tf.randomNormal([8, 8, 8, 3]);
  const y = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1]);
  const history = await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
  let saved;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
  const equal = tf.all(tf.equal(model.predict(x), loaded.predict(x))).dataSync()[0] === 1;
  const block = loaded.layers[0];
  const resnet = tfl.sequential({
    layers: [seedResNetLayer({ widths: [4, 4, 4, 4], head: 'global', inputShape: [16, 16, 3] })],
  });
  console.log(
    JSON.stringify({
      backend: tf.getBackend(),
      losses: history.history.loss,
      equal,
      loadedClass: block instanceof ResidualLayer ? block.getClassName() : null,
      toModuleIsResidual: block.toModule() instanceof Residual,
      stateKeys: Object.keys(block.stateDict()).length,
      resnetOutput: resnet.predict(tf.zeros([1, 16, 16, 3])).shape,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
