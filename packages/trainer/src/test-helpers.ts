// Small models and data for the trainer's own tests (not part of the package's API).
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from './step.ts';

/** conv3x3(3→4) → BN → ReLU → global pool → Linear(4→3): every layer kind the trainer touches. */
export function tinyModel(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, seed: 1 }),
    new BatchNorm2d({ numFeatures: 4 }),
    new ReLU(),
    new AdaptiveAvgPool2d(),
    new Flatten(),
    new Linear({ inFeatures: 4, outFeatures: 3, seed: 2 }),
  );
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * `count` (a power of two, so the per-epoch order is a permutation) 6×6 images in 3 classes: noise plus a bright channel equal to the label. Batches are made fresh each
 * epoch from fixed arrays, in an order that depends on the epoch (as a shuffling loader's would).
 */
export function toyData(
  count: number,
  batchSize: number,
  options: { seed?: number; poison?: { epoch: number; batch: number } } = {},
): { length: number; batches(epoch: number): Iterable<Batch> } {
  const rand = lcg(options.seed ?? 7);
  const size = 6 * 6 * 3;
  const xs = new Float32Array(count * size);
  const ys = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    ys[i] = i % 3;
    for (let p = 0; p < 36; p++) {
      for (let c = 0; c < 3; c++) xs[i * size + p * 3 + c] = rand() - 0.5 + (c === ys[i] ? 0.6 : 0);
    }
  }
  const length = Math.ceil(count / batchSize);
  return {
    length,
    *batches(epoch: number): Iterable<Batch> {
      const order = Array.from({ length: count }, (_, i) => (i * (2 * epoch + 1)) % count);
      for (let b = 0; b < length; b++) {
        const idx = order.slice(b * batchSize, (b + 1) * batchSize);
        const x = new Float32Array(idx.length * size);
        idx.forEach((src, dst) => {
          x.set(xs.subarray(src * size, (src + 1) * size), dst * size);
        });
        if (options.poison && options.poison.epoch === epoch && options.poison.batch === b) x[0] = Number.NaN;
        yield {
          x: tf.tensor4d(x, [idx.length, 6, 6, 3]),
          y: tf.tensor1d(
            idx.map((i) => ys[i]!),
            'int32',
          ),
        };
      }
    },
  };
}

/**
 * Deterministic weights from an LCG (running statistics 0 and 1, num_batches_tracked 0), so a test's numbers do
 * not depend on any initialiser.
 */
export function loadFixedWeights(model: Sequential, seed = 12345): void {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const sd = model.stateDict();
  const fixed: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(sd)) {
    if (k.includes('num_batches')) fixed[k] = tf.zerosLike(t);
    else if (k.includes('running_var')) fixed[k] = tf.onesLike(t);
    else fixed[k] = tf.tensor(Array.from({ length: t.size }, next), t.shape);
  }
  tf.dispose(Object.values(sd));
  model.loadStateDict(fixed);
  tf.dispose(Object.values(fixed));
}
