import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import { BatchNorm2d, Conv2d, Linear, Module, ReLU, Sequential } from './index.ts';

/** A two-level tree like a residual block inside a Sequential, to check the dotted names. */
class Block extends Module {
  readonly conv1 = this.registerModule(
    'conv1',
    new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1, bias: false }),
  );
  readonly bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: 2 }));

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.bn1.forward(this.conv1.forward(x)));
  }
}

function model(): Sequential {
  return new Sequential(new Block(), new ReLU(), new Sequential(new Block()));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});
failOnLeakedTensors(tf);

describe('Module', () => {
  it('names parameters, buffers and modules from the tree, in PyTorch order', () => {
    const m = model();
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      '0.conv1.weight',
      '0.bn1.weight',
      '0.bn1.bias',
      '2.0.conv1.weight',
      '2.0.bn1.weight',
      '2.0.bn1.bias',
    ]);
    expect(m.namedBuffers().map(([n]) => n)).toEqual([
      '0.bn1.running_mean',
      '0.bn1.running_var',
      '0.bn1.num_batches_tracked',
      '2.0.bn1.running_mean',
      '2.0.bn1.running_var',
      '2.0.bn1.num_batches_tracked',
    ]);
    expect(m.namedModules().map(([n]) => n)).toEqual([
      '',
      '0',
      '0.conv1',
      '0.bn1',
      '1',
      '2',
      '2.0',
      '2.0.conv1',
      '2.0.bn1',
    ]);
    expect(m.children().map(([n]) => n)).toEqual(['0', '1', '2']);
    expect(m.parameters().every((p) => p.trainable)).toBe(true);
    expect(m.namedBuffers().every(([, b]) => !(b as tf.Variable).trainable)).toBe(true);
    const state = m.stateDict();
    expect(Object.keys(state).slice(0, 6)).toEqual([
      '0.conv1.weight',
      '0.bn1.weight',
      '0.bn1.bias',
      '0.bn1.running_mean',
      '0.bn1.running_var',
      '0.bn1.num_batches_tracked',
    ]);
    expect(state['0.bn1.num_batches_tracked']?.dtype).toBe('int32');
    tf.dispose(state);
    m.dispose();
  });

  it('train()/eval() are recursive; apply visits children first, then self', () => {
    const m = model();
    expect(m.namedModules().every(([, x]) => x.training)).toBe(true);
    m.eval();
    expect(m.namedModules().some(([, x]) => x.training)).toBe(false);
    m.train();
    expect(m.namedModules().every(([, x]) => x.training)).toBe(true);
    const order: string[] = [];
    const names = new Map(m.namedModules().map(([n, x]) => [x, n]));
    m.apply((x) => order.push(names.get(x) as string));
    expect(order).toEqual(['0.conv1', '0.bn1', '0', '1', '2.0.conv1', '2.0.bn1', '2.0', '2', '']);
    m.dispose();
  });

  it('the d2l initialisation walk reaches every Conv2d and Linear', () => {
    const m = new Sequential(model(), new Linear({ inFeatures: 2, outFeatures: 3 }));
    const seen: string[] = [];
    m.apply((x) => {
      if (x instanceof Conv2d || x instanceof Linear) seen.push(x.constructor.name);
    });
    expect(seen).toEqual(['Conv2d', 'Conv2d', 'Linear']);
    m.dispose();
  });

  it('stateDict -> loadStateDict restores everything, buffers included; state tensors are copies', () => {
    const a = model();
    const b = model();
    const x = tf.randomNormal([2, 3, 3, 2]);
    tf.dispose(a.forward(x)); // moves a's running stats and counters
    const state = a.stateDict();
    b.loadStateDict(state);
    const again = b.stateDict();
    for (const [k, v] of Object.entries(state)) {
      expect(Array.from(again[k]?.dataSync() ?? []), k).toEqual(Array.from(v.dataSync()));
    }
    state['0.conv1.weight']?.dispose(); // the caller owns the state dict; the model is unaffected
    expect(a.parameters()[0]?.isDisposed).toBe(false);
    tf.dispose([x, state, again]);
    a.dispose();
    b.dispose();
  });

  it('loadStateDict accepts float num_batches_tracked (cast) and leaves the model untouched on error', () => {
    const m = model();
    const state = m.stateDict();
    const weight = m.parameters()[0] as tf.Variable;
    const original = Array.from(weight.dataSync());
    const changed = tf.onesLike(state['0.conv1.weight'] as tf.Tensor);
    const bad = { ...state, '0.conv1.weight': changed, '2.0.bn1.bias': tf.zeros([3]) };
    expect(() => m.loadStateDict(bad)).toThrow(/2\.0\.bn1\.bias: expected \[2\], got \[3\]/);
    expect(Array.from(weight.dataSync())).toEqual(original);
    const counter = tf.scalar(5);
    m.loadStateDict({ ...state, '0.bn1.num_batches_tracked': counter });
    expect(m.namedBuffers()[2]?.[1].dtype).toBe('int32');
    expect(m.namedBuffers()[2]?.[1].dataSync()[0]).toBe(5);
    tf.dispose([state, changed, bad['2.0.bn1.bias'], counter]);
    m.dispose();
  });

  it('refuses a second entry under one name', () => {
    class Twice extends Module {
      constructor() {
        super();
        this.registerModule('a', new ReLU());
        this.registerModule('a', new ReLU());
      }
      forward(x: tf.Tensor): tf.Tensor {
        return x;
      }
    }
    expect(() => new Twice()).toThrow(/already has an entry named 'a'/);
  });

  it('a training step inside tf.variableGrads leaks nothing and updates running stats once', () => {
    const m = model();
    const x = tf.randomNormal([2, 3, 3, 2]);
    const start = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(m.forward(x)) as tf.Scalar, m.parameters());
    expect(Object.keys(grads)).toHaveLength(6);
    tf.dispose([value, grads]);
    expect(tf.memory().numTensors).toBe(start);
    expect(m.namedBuffers()[2]?.[1].dataSync()[0]).toBe(1);
    x.dispose();
    m.dispose();
  });

  it('dispose frees every parameter and buffer', () => {
    const start = tf.memory().numTensors;
    const m = model();
    expect(tf.memory().numTensors - start).toBe(12);
    m.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('weightsLoaded says whether loadStateDict wrote into the tree, on the root and on each loaded branch', () => {
    const source = model();
    const state = source.stateDict();
    const target = model();
    expect(target.weightsLoaded).toBe(false);
    expect(() => target.loadStateDict({ ...state, extra: state['0.bn1.weight']! })).toThrow(/unexpected/);
    expect(target.weightsLoaded).toBe(false); // a refused load writes nothing
    const block = Object.fromEntries(
      Object.entries(state)
        .filter(([k]) => k.startsWith('2.'))
        .map(([k, t]) => [k, t]),
    );
    target.loadStateDict(block, { strict: false });
    expect(target.weightsLoaded).toBe(true);
    const branch = (name: string) => target.namedModules().find(([n]) => n === name)![1];
    expect(branch('2').weightsLoaded).toBe(true);
    expect(branch('2.0.conv1').weightsLoaded).toBe(true);
    expect(branch('0').weightsLoaded).toBe(false);
    const whole = model();
    whole.loadStateDict(state);
    expect(whole.weightsLoaded).toBe(true);
    tf.dispose(Object.values(state));
    for (const m of [source, target, whole]) m.dispose();
  });
});
