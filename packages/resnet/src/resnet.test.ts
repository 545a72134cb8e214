import '@tensorflow/tfjs-backend-cpu';
import { readSafetensors, writeSafetensors } from '@skipnet/nn';
import { readFixtureTensors } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import { cifarResNet, finalMapSize, seedResNet } from './resnet.ts';

const NARROW = [8, 16, 32, 64] as [number, number, number, number];

beforeAll(async () => {
  await tf.setBackend('cpu');
});
failOnLeakedTensors(tf);

describe('seedResNet', () => {
  it('has exactly the PyTorch state-dict keys and shapes of the seed (from the fixture)', () => {
    const weights = readFixtureTensors('seed-resnet-narrow', 'weights.safetensors');
    const model = seedResNet({ widths: NARROW });
    const state = model.stateDict();
    expect(Object.keys(state)).toEqual(Object.keys(weights));
    for (const [name, tensor] of Object.entries(state)) {
      expect(tensor.shape, name).toEqual(weights[name]?.shape);
    }
    expect(model.parameters().reduce((n, p) => n + p.size, 0)).toBe(177_258);
    tf.dispose([weights, state]);
    model.dispose();
  });

  it('full width has the seed’s 11,180,810 parameters', () => {
    const model = seedResNet();
    expect(model.parameters().reduce((n, p) => n + p.size, 0)).toBe(11_180_810);
    expect(model.namedParameters().at(0)?.[0]).toBe('block1.0.weight');
    expect(model.namedParameters().at(-1)?.[0]).toBe('classifier.bias');
    model.dispose();
  });

  it('round trip: writeSafetensors(stateDict) -> readSafetensors -> loadStateDict gives identical outputs', () => {
    const a = seedResNet({ widths: NARROW });
    const b = seedResNet({ widths: NARROW });
    const x = tf.randomNormal([2, 96, 96, 3], 0, 1, 'float32', 7);
    tf.dispose(a.forward(x)); // a train-mode step, so running stats and num_batches_tracked are not the defaults
    const state = a.stateDict();
    const bytes = writeSafetensors(state, { dtypes: { 'block1.1.num_batches_tracked': 'I64' } });
    const loaded = readSafetensors(bytes);
    b.loadStateDict(loaded);
    a.eval();
    b.eval();
    const ya = a.forward(x);
    const yb = b.forward(x);
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    expect(b.block1.at(1).namedBuffers().at(-1)?.[1].dataSync()[0]).toBe(1);
    tf.dispose([x, state, loaded, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('loadStateDict names every missing, unexpected and mis-shaped key in one error', () => {
    const model = seedResNet({ widths: NARROW });
    const state = model.stateDict();
    const bad: Record<string, tf.Tensor> = {
      ...state,
      extra: tf.zeros([1]),
      'classifier.weight': tf.zeros([10, 63]),
    };
    delete bad['block2.0.bn1.running_var'];
    expect(() => model.loadStateDict(bad)).toThrow(
      /missing keys: block2\.0\.bn1\.running_var.*unexpected keys: extra.*classifier\.weight: expected \[10, 64\], got \[10, 63\]/,
    );
    const partial = { 'classifier.bias': tf.ones([10]) };
    model.loadStateDict(partial, { strict: false });
    expect(Array.from(model.classifier.bias?.dataSync() ?? [])).toEqual(new Array(10).fill(1));
    tf.dispose([state, bad.extra, bad['classifier.weight'], partial]);
    model.dispose();
  });

  it('refuses an input size the seed head cannot take, naming the sizes that fit', () => {
    const model = seedResNet({ widths: NARROW });
    const x = tf.zeros([1, 64, 64, 3]);
    expect(() => model.forward(x)).toThrow(
      /height 64.*final feature map of 3\.\.5, and 64 gives 2.*Sizes that fit: 71\.\.166.*head: 'global'/,
    );
    const nchw = tf.zeros([1, 3, 96, 96]);
    expect(() => model.forward(nchw)).toThrow(
      /expected NHWC input \[N, H, W, 3\], got \[1, 3, 96, 96\].*NCHW/,
    );
    tf.dispose([x, nchw]);
    model.dispose();
  });

  it("finalMapSize follows the seed's arithmetic (96 -> 45 -> 23 -> 12 -> 6 -> 3)", () => {
    expect(finalMapSize('seed', 96)).toBe(3);
    expect(finalMapSize('seed', 224)).toBe(7);
    expect(finalMapSize('cifar', 32)).toBe(4);
  });

  it("head 'global' takes any size; eval forward gives [N, numClasses]", () => {
    const model = seedResNet({ widths: NARROW, head: 'global', numClasses: 5 }).eval();
    const x = tf.randomNormal([2, 64, 48, 3]);
    const y = model.forward(x);
    expect(y.shape).toEqual([2, 5]);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('cifarResNet', () => {
  it('takes small (CIFAR 32x32 or smaller) input, same module names, 3x3 stem without bias', () => {
    const model = cifarResNet({ widths: NARROW });
    expect(
      model.block1
        .at(0)
        .namedParameters()
        .map(([n]) => n),
    ).toEqual(['weight']);
    expect(model.namedParameters().map(([n]) => n)).toContain('block5.0.conv3.weight');
    const x = tf.randomNormal([2, 8, 8, 3]);
    const { value, grads } = tf.variableGrads(
      () => tf.mean(model.forward(x)) as tf.Scalar,
      model.parameters(),
    );
    expect(Object.keys(grads).length).toBe(model.parameters().length);
    tf.dispose([x, value, grads]);
    model.dispose();
  });
});
