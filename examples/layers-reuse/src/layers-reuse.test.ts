import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSynthetic } from '@skipnet/cifar10';
import { readSafetensors } from '@skipnet/nn';
import { Residual } from '@skipnet/residual';
import { registerTrainingKernels } from '@skipnet/wasm-kernels';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wholeSplit } from './data.ts';
import { registerFileRouter } from './file-io.ts';
import { residualBlocks, tinyClassifier } from './model.ts';
import { residualBlocksSafetensors } from './pytorch.ts';

let scratch: string;
let tensorsBefore: number;
let model: tfl.Sequential;
let x: tf.Tensor4D;
let y: tf.Tensor1D;
const epochs: Array<{ epoch: number; loss: number }> = [];
let initial: Record<string, tf.Tensor>;

beforeAll(async () => {
  registerTrainingKernels();
  await tf.setBackend('wasm');
  registerFileRouter();
  scratch = mkdtempSync(join(tmpdir(), 'skipnet-layers-reuse-'));
  tensorsBefore = tf.memory().numTensors;
  const data = await loadSynthetic({ trainSize: 20, testSize: 10, seed: 1 });
  ({ x, y } = await wholeSplit(data.train));
  // Seeded weights, and batches in file order (fit shuffles with Math.random): the same run every time. Unseeded and
  // shuffled, the last epoch's loss ranged over 0.04–0.24 × the first in 47 runs, spiking to 0.36 within runs.
  model = tinyClassifier({ widths: [8, 16], seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-2), loss: 'sparseCategoricalCrossentropy' });
  initial = Object.fromEntries(
    residualBlocks(model).flatMap((block) =>
      Object.entries(block.stateDict()).map(([name, t]) => [`${block.name}.${name}`, t]),
    ),
  );
  await model.fit(x, y, {
    epochs: 40,
    batchSize: 10,
    shuffle: false,
    verbose: 0,
    callbacks: { onEpochEnd: async (epoch, logs) => void epochs.push({ epoch, loss: logs!['loss']! }) },
  });
});

afterAll(() => {
  tf.dispose([x, y, ...Object.values(initial)]);
  model.optimizer.dispose();
  model.dispose();
  expect(tf.memory().numTensors, 'tensors leaked by the tests').toBe(tensorsBefore);
  rmSync(scratch, { recursive: true, force: true });
});

describe('a tf.sequential built around the residual block, on wasm', () => {
  it('trains with fit and a callback: the loss falls, every weight and running statistic of the blocks moves', () => {
    expect(epochs.map((e) => e.epoch)).toEqual([...Array(40).keys()]);
    // Memorising 20 synthetic images, from chance (ln(10) ≈ 2.3). Measured over 24 seeds with batches in file order:
    // the last epoch's loss is 0.006–0.025 × the first (seed 1: 0.007), and 0.40–0.57 × with both blocks frozen
    // (trainable = false; the stem and the dense layer still learn). 0.1 lies 4× from either.
    expect(epochs[0]!.loss).toBeGreaterThan(1.8);
    expect(epochs.at(-1)!.loss).toBeLessThan(0.1 * epochs[0]!.loss);
    const state = Object.fromEntries(
      residualBlocks(model).flatMap((block) =>
        Object.entries(block.stateDict()).map(([name, t]) => [`${block.name}.${name}`, t]),
      ),
    );
    expect(Object.keys(state)).toHaveLength(2 * 12 + 2); // res2 also has conv3's weight and bias
    for (const [name, value] of Object.entries(state)) {
      const changed = tf.tidy(() => tf.any(tf.notEqual(value, initial[name]!)).dataSync()[0]);
      expect(changed, `${name} changed`).toBe(1);
    }
    expect(state['res1.bn1.num_batches_tracked']!.dataSync()[0]).toBe(40 * 2); // 40 epochs of 2 batches
    tf.dispose(Object.values(state));
  });

  it('saves with model.save(file://) and loads back with tf.loadLayersModel: equal predictions', async () => {
    const dir = join(scratch, 'model');
    await model.save(`file://${dir}`);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await tfl.loadLayersModel(`file://${join(dir, 'model.json')}`);
    expect(residualBlocks(loaded).map((b) => b.name)).toEqual(['res1', 'res2']);
    const [before, after] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    await expect(model.save(`file://${dir}`)).rejects.toThrow(/model.json exists: save into another folder/);
    tf.dispose([before, after]);
    loaded.dispose();
  });

  it('moves the blocks’ weights to PyTorch: a safetensors state dict that loads into Residual modules', () => {
    const tensors = readSafetensors(residualBlocksSafetensors(model));
    expect(tensors['res2.conv1.weight']!.shape).toEqual([16, 8, 3, 3]); // OIHW
    expect(tensors['res2.conv3.bias']!.shape).toEqual([16]);
    const prefixed = (prefix: string) =>
      Object.fromEntries(
        Object.entries(tensors)
          .filter(([name]) => name.startsWith(prefix))
          .map(([name, t]) => [name.slice(prefix.length), t]),
      );
    const res2 = new Residual({ inChannels: 8, outChannels: 16, stride: 2 });
    res2.loadStateDict(prefixed('res2.'));
    res2.eval();
    const [layer] = residualBlocks(model).filter((b) => b.name === 'res2');
    const input = tf.randomNormal([2, 12, 12, 8], 0, 1, 'float32', 3);
    const [ours, theirs] = [layer!.apply(input) as tf.Tensor, res2.forward(input)];
    expect(Array.from(theirs.dataSync())).toEqual(Array.from(ours.dataSync()));
    tf.dispose([input, ours, theirs, ...Object.values(tensors)]);
    res2.dispose();
  });
});
