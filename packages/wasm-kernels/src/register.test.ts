import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

it('importing @skipnet/wasm-kernels/register registers the kernels on wasm, keeping the stock setup', async () => {
  expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeUndefined();
  const stockInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  await import('./register.ts');
  for (const name of [
    tf.Conv2DBackpropFilter,
    tf.Conv2DBackpropInput,
    tf.Tile,
    tf.Sum,
    tf.Mean,
    tf.Slice,
    tf.MaxPoolGrad,
    tf.Identity,
    tf.Cast,
  ]) {
    expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
  }
  const ours = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  expect(ours?.kernelFunc).not.toBe(stockInput?.kernelFunc);
  expect(ours?.setupFunc).toBe(stockInput?.setupFunc);
  // The backend starts after the registration: stock kernels the new ones fall back to still work.
  await tf.setBackend('wasm');
  const sum = tf.sum(
    tf.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      [2, 2],
      'int32',
    ),
    1,
  );
  expect(Array.from(sum.dataSync())).toEqual([3, 7]);
});
