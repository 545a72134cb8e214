import '@tensorflow/tfjs-backend-cpu';
import '@skipnet/nn';
import { cifarResNet, seedResNet, type Widths } from '@skipnet/resnet';
import { SGD, trainStep } from '@skipnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  checkImageSize,
  type MemoryBudget,
  memoryBudget,
  type StepShape,
  sizesThatFit,
  stepActivationBytes,
} from './image-size.ts';

const seedShape: StepShape = {
  stem: 'seed',
  widths: [64, 128, 256, 512],
  depths: [2, 2, 2, 2],
  batchSize: 64,
};
const wasm = memoryBudget('wasm');

describe('stepActivationBytes', () => {
  it.each([
    ['cifar', 12, 2, [4, 4, 8, 8]],
    ['seed', 40, 2, [4, 4, 8, 8]],
  ] as const)(
    'is a lower bound of the measured peak of a training step (%s stem, %i px, batch %i)',
    async (stem, size, batch, widths) => {
      await tf.setBackend('cpu');
      const w = [...widths] as Widths;
      const model = stem === 'seed' ? seedResNet({ widths: w, head: 'global' }) : cifarResNet({ widths: w });
      const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
      const x = tf.randomNormal([batch, size, size, 3]);
      const y = tf.tensor1d(
        Array.from({ length: batch }, (_, i) => i % 10),
        'int32',
      );
      const profile = await tf.profile(async () => {
        await trainStep(model, optimizer, x, y);
      });
      // The peak also holds the weights, their gradients and the updated weights: activations are the rest.
      const weights = model.parameters().reduce((n, p) => n + p.size * 4, 0);
      const activations = profile.peakBytes - 3 * weights;
      const bound = stepActivationBytes(
        { stem, widths: w, depths: [2, 2, 2, 2], batchSize: batch },
        size,
      ).total;
      expect(bound).toBeLessThanOrEqual(profile.peakBytes);
      // …and a useful one: within a factor of 4 of what the step really holds.
      expect(bound).toBeGreaterThan(activations / 4);
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  );
});

describe('checkImageSize', () => {
  it("accepts the seed's 96×96 at batch 64 on wasm", () => {
    expect(checkImageSize(seedShape, wasm, 96)).toBeNull();
  });

  it('refuses a side that cannot fit, naming the memory and the sides that can', () => {
    const message = checkImageSize(seedShape, wasm, 100_000);
    expect(message).toMatch(
      /^--image-size 100000 does not fit in memory: at --batch-size 64 one training step keeps at least [\d.]+ TiB of activations, and wasm32 memory holds at most 4 GiB\. At --batch-size 64 the sides that can fit are 7\.\.(\d+); lower --image-size or --batch-size\.$/,
    );
    const hi = Number(/7\.\.(\d+)/.exec(message!)![1]);
    expect(checkImageSize(seedShape, wasm, hi)).toBeNull();
    expect(checkImageSize(seedShape, wasm, hi + 1)).not.toBeNull();
    // A smaller batch leaves room for larger images.
    expect(sizesThatFit({ ...seedShape, batchSize: 8 }, wasm)!.hi).toBeGreaterThan(hi);
  });

  it('refuses a side the model shrinks to nothing', () => {
    expect(checkImageSize(seedShape, wasm, 6)).toMatch(/--image-size 6 is too small for this model.*7\.\./);
  });

  it('checks the largest tensor where only that is known (WebGPU)', () => {
    const gpu: MemoryBudget = {
      total: null,
      largest: 128 * 2 ** 20,
      source: 'the GPU binds buffers of at most 128 MiB',
    };
    expect(checkImageSize(seedShape, gpu, 96)).toBeNull();
    expect(checkImageSize(seedShape, gpu, 2000)).toMatch(/its largest activation alone is .*128 MiB/);
  });
});
