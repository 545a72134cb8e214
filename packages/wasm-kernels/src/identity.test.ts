import '@skipnet/nn';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';

interface RefCounting {
  refCount(dataId: tf.DataId): number;
}

describe('Identity and Cast on wasm', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('shares the memory of its input and frees it with the last reference', () => {
    const backend = tf.backend() as unknown as RefCounting;
    const a = tf.tensor([1, 2, 3, 4], [2, 2]);
    const b = tf.clone(a);
    expect(b.dataId).toBe(a.dataId);
    expect(backend.refCount(a.dataId)).toBe(2);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4]);
    expect(backend.refCount(b.dataId)).toBe(1);
    b.dispose();
    expect(backend.refCount(b.dataId)).toBe(0);
  });

  it('keeps a saved input intact for the backward pass after the caller disposes it', () => {
    const x = tf.tensor([1, -2, 3]);
    const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => {
      const squared = tf.square(t);
      return tf.sum(squared);
    })([x]);
    expect(value.dataSync()[0]).toBe(14);
    expect(Array.from(grads[0]!.dataSync())).toEqual([2, -4, 6]);
    tf.dispose([x, value, ...grads]);
  });

  it('a Cast to the same dtype shares memory; other casts convert', () => {
    const backend = tf.backend() as unknown as RefCounting;
    const a = tf.tensor([1.5, -2.5, 3, 0]);
    const same = tf.cast(a, 'float32');
    expect(same.dataId).toBe(a.dataId);
    expect(backend.refCount(a.dataId)).toBe(2);
    const ints = tf.cast(a, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3, 0]);
    // The stock kernel stored -2.5 as 254.
    const bools = tf.cast(a, 'bool');
    expect(Array.from(bools.dataSync())).toEqual([1, 1, 1, 0]);
    tf.dispose([a, same, ints, bools]);
    expect(backend.refCount(a.dataId)).toBe(0);
  });

  it('copies strings through the stock kernel', () => {
    const s = tf.tensor(['a', 'b']);
    const t = tf.clone(s);
    expect(t.dataSync()).toEqual(['a', 'b']);
    tf.dispose([s, t]);
  });
});
