import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { init } from './index.ts';

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
