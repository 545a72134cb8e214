// The residual block inside tfjs-layers models, on tfjs-core's Node bundle (which registers no gradients: @skipnet/nn
// does) with the cpu backend. The reference is the `Residual` Module, itself checked against PyTorch's fixtures
// through @skipnet/resnet's parity tests.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import { Residual, type ResidualOptions } from './index.ts';
import { ResidualLayer, residualLayer } from './layers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
failOnLeakedTensors(tf);

/** ‖a − b‖ / ‖b‖ in float64 (‖a − b‖ when b is all zeros). */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const [x, y] = [a.dataSync(), b.dataSync()];
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < y.length; i++) {
    diff += (x[i]! - y[i]!) ** 2;
    norm += y[i]! ** 2;
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

/** Random parameters and running statistics (variance positive), so that every weight matters in both modes. */
function randomise(block: Residual): void {
  let seed = 1;
  for (const [name, v] of [...block.namedParameters(), ...block.namedBuffers()] as [string, tf.Variable][]) {
    if (name.endsWith('num_batches_tracked')) continue;
    tf.tidy(() => {
      const r = tf.randomNormal(v.shape, 0, 0.5, 'float32', seed++);
      v.assign(name.endsWith('running_var') ? tf.add(tf.abs(r), 0.5) : r);
    });
  }
}

/** The state dict with the layer-name prefix of tfjs-layers weight names removed. */
function weightsByName(layer: tfl.layers.Layer): Map<string, tf.Variable> {
  return new Map(
    layer.weights.map((w) => [w.originalName.slice(layer.name.length + 1), w.read() as tf.Variable]),
  );
}

function expectSameState(
  a: Record<string, tf.Tensor>,
  b: Record<string, tf.Tensor>,
  tolerance: number,
): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const [name, t] of Object.entries(a)) {
    const error = name.endsWith('num_batches_tracked')
      ? Math.abs(t.dataSync()[0]! - b[name]!.dataSync()[0]!)
      : relativeError(t, b[name]!);
    expect(error, name).toBeLessThanOrEqual(tolerance);
  }
}

/** What `model.save` writes, kept in memory (a file:// save needs tfjs-node). */
async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return saved!;
}

const blocks: Array<[string, ResidualOptions]> = [
  ['stride 2, projection, seed ordering', { inChannels: 3, outChannels: 6, stride: 2, bnEps: 1e-3 }],
  ['identity shortcut, torchvision ordering', { inChannels: 4, outChannels: 4, ordering: 'torchvision' }],
];

describe('ResidualLayer computes what the Residual module computes', () => {
  it.each(blocks)('%s: forward and gradients in inference and training mode', (_, options) => {
    const block = new Residual(options);
    randomise(block);
    const layer = ResidualLayer.fromModule(block, { inputShape: [7, 7, options.inChannels] });
    const model = tfl.sequential({ layers: [layer] });
    const x = tf.randomNormal([3, 7, 7, options.inChannels], 0, 1, 'float32', 5);
    const weights = tf.randomNormal(
      model.outputs[0]!.shape.map((d) => d ?? 3),
      0,
      1,
      'float32',
      6,
    );
    for (const training of [false, true]) {
      block.train(training);
      const ours = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x, { training }) as tf.Tensor, weights)),
        layer.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const reference = tf.variableGrads(() => tf.sum(tf.mul(block.forward(x), weights)), block.parameters());
      expect(relativeError(ours.value, reference.value)).toBeLessThanOrEqual(1e-5);
      const ourWeights = weightsByName(layer);
      for (const [name, variable] of block.namedParameters()) {
        const ourGradient = ours.grads[ourWeights.get(name)!.name]!;
        expect(
          relativeError(ourGradient, reference.grads[variable.name]!),
          `${name} gradient`,
        ).toBeLessThanOrEqual(1e-5);
      }
      const [inputGradient, referenceInputGradient] = [
        tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input, { training }) as tf.Tensor, weights)))(
          x,
        ),
        tf.grad((input: tf.Tensor) => tf.sum(tf.mul(block.forward(input), weights)))(x),
      ];
      expect(relativeError(inputGradient, referenceInputGradient)).toBeLessThanOrEqual(1e-5);
      tf.dispose([
        ours.value,
        reference.value,
        ...Object.values(ours.grads),
        ...Object.values(reference.grads),
      ]);
      tf.dispose([inputGradient, referenceInputGradient]);
    }
    // Both took three training-mode steps (the value, the input gradient and its reference): same statistics.
    const [state, referenceState] = [layer.stateDict(), block.stateDict()];
    expectSameState(state, referenceState, 1e-5);
    expect(state['bn1.num_batches_tracked']!.dataSync()[0]).toBe(2);
    tf.dispose([x, weights, ...Object.values(state), ...Object.values(referenceState)]);
    model.dispose();
    block.dispose();
  });

  it('predict and evaluate use the running statistics; apply({ training: true }) the batch’s and updates them', () => {
    const block = new Residual({ inChannels: 3, outChannels: 3 });
    randomise(block);
    const model = tfl.sequential({ layers: [ResidualLayer.fromModule(block, { inputShape: [5, 5, 3] })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const x = tf.randomNormal([4, 5, 5, 3], 0, 1, 'float32', 2);
    block.eval();
    const expected = block.forward(x);
    const predicted = model.predict(x) as tf.Tensor;
    expect(relativeError(predicted, expected)).toBeLessThanOrEqual(1e-6);
    const layer = model.layers[0] as ResidualLayer;
    const before = layer.stateDict();
    const zeros = tf.zerosLike(expected);
    const evaluated = model.evaluate(x, zeros) as tf.Scalar;
    const meanSquare = tf.tidy(() => tf.mean(tf.square(expected)));
    expect(relativeError(evaluated, meanSquare)).toBeLessThanOrEqual(1e-6);
    const afterEvaluate = layer.stateDict();
    expectSameState(afterEvaluate, before, 0);
    tf.dispose(model.apply(x, { training: true }) as tf.Tensor);
    const after = layer.stateDict();
    expect(relativeError(after['bn1.running_mean']!, before['bn1.running_mean']!)).toBeGreaterThan(1e-3);
    expect(after['bn2.num_batches_tracked']!.dataSync()[0]).toBe(1);
    tf.dispose([x, zeros, expected, predicted, evaluated, meanSquare]);
    tf.dispose([...Object.values(before), ...Object.values(afterEvaluate), ...Object.values(after)]);
    model.optimizer.dispose();
    model.dispose();
    block.dispose();
  });
});

describe('fit', () => {
  it('trains every weight and updates the running statistics as the Module’s SGD steps do', async () => {
    const model = tfl.sequential({
      layers: [residualLayer({ outChannels: 4, stride: 2, inputShape: [6, 6, 3] })],
    });
    const layer = model.layers[0] as ResidualLayer;
    const reference = layer.toModule();
    const initial = reference.stateDict();
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const x = tf.randomNormal([8, 6, 6, 3], 0, 1, 'float32', 3);
    const y = tf.randomNormal([8, 3, 3, 4], 0, 1, 'float32', 4);
    const history = await model.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });

    // The same two steps by hand on the Module: train-mode forward, mean squared error, SGD.
    const sgd = tf.train.sgd(0.1);
    const losses: number[] = [];
    for (const start of [0, 4]) {
      const [xb, yb] = [tf.slice(x, start, 4), tf.slice(y, start, 4)];
      const cost = sgd.minimize(
        () => tf.mean(tf.square(tf.sub(reference.forward(xb), yb))) as tf.Scalar,
        true,
      );
      losses.push(cost!.dataSync()[0]!);
      tf.dispose([xb, yb, cost!]);
    }
    // tfjs-layers logs the epoch's loss as the mean over its batches.
    expect(history.history['loss']![0]).toBeCloseTo((losses[0]! + losses[1]!) / 2, 5);

    const [state, referenceState] = [layer.stateDict(), reference.stateDict()];
    expectSameState(state, referenceState, 1e-5);
    for (const [name, value] of Object.entries(state)) {
      const changed = tf.tidy(() => tf.any(tf.notEqual(value, initial[name]!)).dataSync()[0]);
      expect(changed, `${name} changed`).toBe(1);
    }
    expect(Object.keys(state)).toContain('bn2.running_var');
    tf.dispose([x, y, ...Object.values(initial), ...Object.values(state), ...Object.values(referenceState)]);
    model.optimizer.dispose();
    sgd.dispose();
    model.dispose();
    reference.dispose();
  });
});

describe('trainable = false', () => {
  it('freezes the block: fit leaves its parameters and trains the rest of the model', async () => {
    const model = tfl.sequential({
      layers: [
        residualLayer({ outChannels: 4, inputShape: [6, 6, 4] }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 2 }),
      ],
    });
    const layer = model.layers[0] as ResidualLayer;
    layer.trainable = false;
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    expect(model.trainableWeights.map((w) => w.originalName)).toEqual(
      model.layers[2]!.trainableWeights.map((w) => w.originalName),
    );
    const before = layer.stateDict();
    const dense = model.layers[2]!.getWeights().map((w) => tf.clone(w));
    const x = tf.randomNormal([4, 6, 6, 4], 0, 1, 'float32', 1);
    const y = tf.randomNormal([4, 2], 0, 1, 'float32', 2);
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const after = layer.stateDict();
    for (const name of ['conv1.weight', 'bn1.weight', 'bn2.bias']) {
      expect(Array.from(after[name]!.dataSync()), name).toEqual(Array.from(before[name]!.dataSync()));
    }
    const [kernel] = model.layers[2]!.getWeights();
    expect(relativeError(kernel!, dense[0]!)).toBeGreaterThan(1e-4);
    tf.dispose([x, y, ...dense, ...Object.values(before), ...Object.values(after)]);
    model.optimizer.dispose();
    model.dispose();
  });
});

describe('model.save and tf.loadLayersModel', () => {
  it('round-trip a model that holds the block: same class, weights and predictions', async () => {
    const model = tfl.sequential({
      layers: [
        residualLayer({
          outChannels: 4,
          stride: 2,
          ordering: 'torchvision',
          bnEps: 1e-3,
          inputShape: [8, 8, 2],
        }),
        tfl.layers.globalAveragePooling2d({}),
        tfl.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
    const x = tf.randomNormal([6, 8, 8, 2], 0, 1, 'float32', 8);
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2]);
    await model.fit(x, labels, { epochs: 2, batchSize: 3, verbose: 0 }); // moving statistics away from 0 and 1

    const saved = await saveToMemory(model);
    const topology = JSON.stringify(saved.modelTopology);
    expect(topology).toContain('"class_name":"SkipnetResidual"');
    expect(topology).toContain('"ordering":"torchvision"');
    const names = saved.weightSpecs!.map((s) => s.name);
    expect(names).toContain(`${model.layers[0]!.name}/bn2.running_var`);
    expect(names).toContain(`${model.layers[0]!.name}/conv3.bias`);

    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved));
    const layer = loaded.layers[0] as ResidualLayer;
    expect(layer).toBeInstanceOf(ResidualLayer);
    expect([layer.outChannels, layer.stride, layer.ordering, layer.bnEps]).toEqual([
      4,
      2,
      'torchvision',
      1e-3,
    ]);
    const [before, after] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    const [state, loadedState] = [(model.layers[0] as ResidualLayer).stateDict(), layer.stateDict()];
    expectSameState(loadedState, state, 0);
    tf.dispose([x, labels, before, after, ...Object.values(state), ...Object.values(loadedState)]);
    model.optimizer.dispose();
    model.dispose();
    loaded.dispose();
  });
});

describe('weights to and from the Residual module (and so PyTorch state dicts)', () => {
  it('stateDict speaks PyTorch’s names and layouts; loadStateDict and toModule move the weights', () => {
    const model = tfl.sequential({
      layers: [residualLayer({ outChannels: 6, stride: 2, inputShape: [5, 5, 3] })],
    });
    const layer = model.layers[0] as ResidualLayer;
    const block = new Residual({ inChannels: 3, outChannels: 6, stride: 2 });
    randomise(block);
    const given = block.stateDict();
    expect(given['conv1.weight']!.shape).toEqual([6, 3, 3, 3]); // OIHW, as PyTorch
    layer.loadStateDict(given);
    const copy = layer.toModule();
    expect(copy).toBeInstanceOf(Residual);
    const [state, copied] = [layer.stateDict(), copy.stateDict()];
    expectSameState(state, given, 0);
    expectSameState(copied, given, 0);
    // The layer's own weights stay in tfjs's layout (conv HWIO), as tf.layers.conv2d's kernel.
    expect(weightsByName(layer).get('conv1.weight')!.shape).toEqual([3, 3, 3, 6]);
    const partial = { 'conv1.weight': tf.zeros([6, 3, 3, 3]) };
    expect(() => layer.loadStateDict(partial)).toThrow(/missing keys: bn1/);
    tf.dispose([
      ...Object.values(given),
      ...Object.values(state),
      ...Object.values(copied),
      partial['conv1.weight'],
    ]);
    copy.dispose();
    block.dispose();
    model.dispose();
  });

  it('fromModule takes the module’s options and weights, and refuses an input of other channels', () => {
    const block = new Residual({ inChannels: 3, outChannels: 4, projection: true, ordering: 'torchvision' });
    const layer = ResidualLayer.fromModule(block);
    expect([layer.outChannels, layer.stride, layer.projection, layer.ordering]).toEqual([
      4,
      1,
      true,
      'torchvision',
    ]);
    expect(() =>
      tfl.sequential({ layers: [ResidualLayer.fromModule(block, { inputShape: [5, 5, 2] })] }),
    ).toThrow(/expected 3 input channels \(NHWC, last axis\), got \[null, 5, 5, 2\]/);
    const model = tfl.sequential({ layers: [tfl.layers.inputLayer({ inputShape: [5, 5, 3] }), layer] });
    const [state, given] = [layer.stateDict(), block.stateDict()];
    expectSameState(state, given, 0);
    tf.dispose([...Object.values(state), ...Object.values(given)]);
    model.dispose();
    block.dispose();
  });
});

describe('clear errors', () => {
  it('for a wrong input rank, unknown or wrong channels, an NCHW input, and bad options', () => {
    expect(() =>
      tfl.sequential({ layers: [residualLayer({ outChannels: 4, inputShape: [28, 28] })] }),
    ).toThrow(
      /expected a 4D NHWC input \[batch, height, width, channels\], got \[null, 28, 28\].*inputShape leaves out the batch axis/,
    );
    expect(() => residualLayer({ outChannels: 4 }).apply(tfl.input({ shape: [8, 8, null] }))).toThrow(
      /needs a known number of input channels/,
    );
    const model = tfl.sequential({ layers: [residualLayer({ outChannels: 4, inputShape: [8, 8, 3] })] });
    const nchw = tf.zeros([2, 3, 8, 8]);
    expect(() => model.layers[0]!.apply(nchw)).toThrow(
      /expected 3 input channels \(NHWC, last axis\), got \[2, 3, 8, 8\] \(it looks NCHW: transpose it/,
    );
    expect(() => residualLayer({ outChannels: 0, stride: 1.5, ordering: 'keras' as 'seed' })).toThrow(
      /bad options, expected outChannels 0: a positive integer; stride 1.5: a positive integer; ordering "keras"/,
    );
    expect(() =>
      tfl.sequential({
        layers: [residualLayer({ outChannels: 4, projection: false, inputShape: [8, 8, 3] })],
      }),
    ).toThrow(/without projection needs inChannels === outChannels/);
    expect(() => residualLayer({ outChannels: 4 }).stateDict()).toThrow(
      /is not built yet: add it to a model/,
    );
    nchw.dispose();
    model.dispose();
  });
});
