import '@tensorflow/tfjs-backend-cpu';
import { BatchNorm2d, Conv2d, type Module, Sequential } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import { Residual } from './index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
failOnLeakedTensors(tf);

/** The block's formula written out with the block's own layers, independently of its forward. */
function byHand(block: Residual, x: tf.Tensor, ordering: 'seed' | 'torchvision'): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.relu(block.bn1.forward(block.conv1.forward(x)));
    const b = block.bn2.forward(block.conv2.forward(a));
    const y = ordering === 'seed' ? tf.relu(b) : b;
    return tf.relu(tf.add(y, block.conv3 ? block.conv3.forward(x) : x));
  });
}

function randomise(m: Module): void {
  let seed = 1;
  for (const v of m.parameters()) {
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', seed++)));
  }
}

describe('Residual', () => {
  it('has PyTorch’s child names and the seed’s layer shapes', () => {
    const block = new Residual({ inChannels: 4, outChannels: 8, stride: 2 });
    const state = block.stateDict();
    expect(Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.shape]))).toEqual({
      'conv1.weight': [8, 4, 3, 3],
      'bn1.weight': [8],
      'bn1.bias': [8],
      'bn1.running_mean': [8],
      'bn1.running_var': [8],
      'bn1.num_batches_tracked': [],
      'conv2.weight': [8, 8, 3, 3],
      'bn2.weight': [8],
      'bn2.bias': [8],
      'bn2.running_mean': [8],
      'bn2.running_var': [8],
      'bn2.num_batches_tracked': [],
      'conv3.weight': [8, 4, 1, 1],
      'conv3.bias': [8],
    });
    tf.dispose(state);
    block.dispose();
  });

  it("projection 'auto' adds conv3 only when the shortcut needs it; false refuses a mismatch", () => {
    const same = new Residual({ inChannels: 4, outChannels: 4 });
    expect(same.conv3).toBeNull();
    const forced = new Residual({ inChannels: 4, outChannels: 4, projection: true });
    expect(forced.conv3?.stride).toEqual([1, 1]);
    const strided = new Residual({ inChannels: 4, outChannels: 4, stride: 2 });
    expect(strided.conv3?.stride).toEqual([2, 2]);
    expect(() => new Residual({ inChannels: 4, outChannels: 8, projection: false })).toThrow(
      /needs inChannels === outChannels and stride 1.*4 -> 8/,
    );
    for (const m of [same, forced, strided]) m.dispose();
  });

  it.each(['seed', 'torchvision'] as const)(
    '%s ordering computes its formula, in train and eval mode',
    (ordering) => {
      const block = new Residual({ inChannels: 3, outChannels: 6, stride: 2, ordering, bnEps: 1e-3 });
      expect(block.bn1.eps).toBe(1e-3);
      randomise(block);
      const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 9);
      for (const mode of ['eval', 'train'] as const) {
        block[mode]();
        const y = block.forward(x);
        const expected = byHand(block, x, ordering);
        expect(y.shape).toEqual([2, 4, 4, 6]);
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]);
        expect(diff).toBeLessThan(1e-5);
        tf.dispose([y, expected]);
      }
      x.dispose();
      block.dispose();
    },
  );

  it('the two orderings differ (the seed applies ReLU before the add as well)', () => {
    const seed = new Residual({ inChannels: 3, outChannels: 3, ordering: 'seed' });
    const tv = new Residual({ inChannels: 3, outChannels: 3, ordering: 'torchvision' });
    randomise(seed);
    const state = seed.stateDict();
    tv.loadStateDict(state);
    const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 3);
    const a = seed.forward(x);
    const b = tv.forward(x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBeGreaterThan(1e-3);
    tf.dispose([state, x, a, b]);
    seed.dispose();
    tv.dispose();
  });

  it('reuses in another model, with dotted names from the tree', () => {
    const net = new Sequential(
      new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1 }),
      new BatchNorm2d({ numFeatures: 4 }),
      new Residual({ inChannels: 4, outChannels: 8, stride: 2 }),
    );
    expect(net.namedParameters().map(([n]) => n)).toContain('2.conv3.bias');
    const x = tf.randomNormal([2, 8, 8, 1]);
    const { value, grads } = tf.variableGrads(() => tf.mean(net.forward(x)) as tf.Scalar, net.parameters());
    expect(Object.keys(grads)).toHaveLength(net.parameters().length);
    tf.dispose([x, value, grads]);
    net.dispose();
  });
});
