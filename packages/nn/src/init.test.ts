import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, init, Linear, type Module, Sequential } from './index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function stats(v: tf.Variable): { max: number; mean: number; std: number } {
  const values = Array.from(v.dataSync());
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { max: Math.max(...values.map(Math.abs)), mean, std };
}

describe('init', () => {
  it('fans in skipnet layouts equal PyTorch’s on the OIHW / [out, in] forms', () => {
    // torch: Conv2d(16, 32, 3).weight [32, 16, 3, 3] -> fan_in 144, fan_out 288; Linear(5, 7) -> 5, 7
    expect(init.calculateFans([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
    expect(init.calculateFans([5, 7])).toEqual({ fanIn: 5, fanOut: 7 });
    expect(() => init.calculateFans([4])).toThrow(/at least 2 dimensions/);
    expect(init.calculateGain('leaky_relu', 0)).toBeCloseTo(Math.SQRT2);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3);
  });

  it('xavierUniform stays within gain*sqrt(6/(fanIn+fanOut)) and is seeded', () => {
    const a = tf.variable(tf.zeros([3, 3, 16, 32]));
    const b = tf.variable(tf.zeros([3, 3, 16, 32]));
    init.xavierUniform(a, { seed: 1 });
    init.xavierUniform(b, { seed: 1 });
    const bound = Math.sqrt(6 / (144 + 288));
    const s = stats(a);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.std).toBeCloseTo(bound / Math.sqrt(3), 2); // U(-b, b) has std b/sqrt(3)
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b]);
  });

  it('kaimingNormal has std gain/sqrt(fan); kaimingUniform bound sqrt(3) times that', () => {
    const v = tf.variable(tf.zeros([3, 3, 64, 64]));
    init.kaimingNormal(v, { seed: 2, nonlinearity: 'relu' });
    expect(stats(v).std).toBeCloseTo(Math.SQRT2 / Math.sqrt(576), 2);
    init.kaimingNormal(v, { seed: 2, mode: 'fanOut', nonlinearity: 'relu' });
    expect(stats(v).std).toBeCloseTo(Math.SQRT2 / Math.sqrt(576), 2);
    init.kaimingUniform(v, { seed: 3 });
    const s = stats(v);
    expect(s.max).toBeLessThanOrEqual(Math.sqrt(6 / 576));
    expect(s.max).toBeGreaterThan(0.95 * Math.sqrt(6 / 576));
    v.dispose();
  });

  it('zeros, ones, constant, uniform, normal fill in place without leaking', () => {
    const v = tf.variable(tf.zeros([100, 10]));
    const start = tf.memory().numTensors;
    init.ones(v);
    expect(stats(v).mean).toBe(1);
    init.constant(v, 0.5);
    expect(stats(v).mean).toBe(0.5);
    init.zeros(v);
    expect(stats(v).max).toBe(0);
    init.uniform(v, { low: 2, high: 3, seed: 4 });
    expect(Math.min(...v.dataSync())).toBeGreaterThanOrEqual(2);
    init.normal(v, { mean: 1, std: 0.1, seed: 5 });
    expect(stats(v).mean).toBeCloseTo(1, 1);
    expect(tf.memory().numTensors).toBe(start);
    v.dispose();
  });
});

/** Two convolutions of one shape (so per-layer streams can be told apart), a BatchNorm and a Linear with bias. */
function smallNet(): Sequential {
  return new Sequential(
    new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 }),
    new BatchNorm2d({ numFeatures: 4 }),
    new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3 }),
    new Linear({ inFeatures: 4, outFeatures: 2 }),
  );
}

function values(model: Module): Record<string, number[]> {
  const state = model.stateDict();
  const out = Object.fromEntries(Object.entries(state).map(([k, t]) => [k, Array.from(t.dataSync())]));
  tf.dispose(Object.values(state));
  return out;
}

describe('model walks', () => {
  it("xavierInit is d2l's init: Xavier-uniform on every Conv2d and Linear weight, nothing else", () => {
    const model = smallNet();
    const before = values(model);
    init.xavierInit(model, { seed: 7 });
    const after = values(model);
    for (const [name, fans] of [
      ['0.weight', 3 * 9 + 4 * 9],
      ['2.weight', 4 * 9 + 4 * 9],
      ['3.weight', 4 + 2],
    ] as const) {
      const bound = Math.sqrt(6 / fans);
      expect(Math.max(...after[name]!.map(Math.abs)), name).toBeLessThanOrEqual(bound);
      expect(after[name], name).not.toEqual(before[name]);
    }
    for (const name of ['0.bias', '1.weight', '1.bias', '1.running_var', '2.bias', '3.bias']) {
      expect(after[name], name).toEqual(before[name]);
    }
    expect(after['2.weight']!.slice(0, 9)).not.toEqual(after['0.weight']!.slice(0, 9));
    model.dispose();
  });

  it('the same seed gives the same model, biases included; another seed another one', () => {
    // Built without seeds: the constructors draw at random, the seeded walks must replace every draw.
    const models = [smallNet(), smallNet(), smallNet()];
    models.forEach((model, i) => {
      init.resetParameters(model, { seed: i < 2 ? 1 : 2 });
      init.xavierInit(model, { seed: i < 2 ? 1 : 2 });
    });
    const [a, b, c] = models.map(values);
    expect(b).toEqual(a);
    for (const name of ['0.weight', '0.bias', '2.bias', '3.weight', '3.bias']) {
      expect(c![name], name).not.toEqual(a![name]);
    }
    for (const model of models) model.dispose();
  });

  it("resetParameters redraws PyTorch's defaults and resets BatchNorm, leaving other layers' streams alone", () => {
    const model = smallNet();
    init.resetParameters(model, { seed: 3 });
    const first = values(model);
    // PyTorch's default bounds: weight gain*sqrt(3/fanIn) with a = sqrt(5) is 1/sqrt(fanIn), bias 1/sqrt(fanIn).
    expect(Math.max(...first['0.weight']!.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(27));
    expect(Math.max(...first['0.bias']!.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(27));
    const bn = model.at(1) as BatchNorm2d;
    bn.train();
    tf.tidy(() => bn.forward(tf.randomNormal([2, 3, 3, 4], 5, 2, 'float32', 1)));
    init.constant(bn.weight!, 9);
    init.zeros((model.at(3) as Linear).weight);
    init.resetParameters(model, { seed: 3 });
    expect(values(model)).toEqual(first);
    expect(first['1.running_mean']).toEqual([0, 0, 0, 0]);
    expect(first['1.num_batches_tracked']).toEqual([0]);

    // A layer added at the end leaves the others' values: each module's stream comes from the seed and its path.
    const longer = new Sequential(...smallNet().layers, new Linear({ inFeatures: 2, outFeatures: 2 }));
    init.resetParameters(longer, { seed: 3 });
    const extended = values(longer);
    for (const name of Object.keys(first)) expect(extended[name], name).toEqual(first[name]);
    model.dispose();
    longer.dispose();
  });
});
