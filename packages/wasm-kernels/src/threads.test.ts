import '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import type { WasmBackend } from './kernels/run.ts';
import { kernelsFor } from './parallel.ts';
import { randomValues, relativeError } from './test-util.ts';
import { setThreadedWasmBackend } from './threads.ts';

describe('setThreadedWasmBackend', () => {
  it('starts XNNPACK with 2 threads under Node, and conv gradients still match cpu', async () => {
    registerTrainingKernels();
    expect(await setThreadedWasmBackend({ threads: 2 })).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    await expect(setThreadedWasmBackend()).rejects.toThrow(/already started/);

    const x = randomValues(2 * 9 * 9 * 8, 1);
    const w = randomValues(3 * 3 * 8 * 16, 2);
    const grads = () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
        return tf
          .grads(f)([tf.tensor4d(x, [2, 9, 9, 8]), tf.tensor4d(w, [3, 3, 8, 16])])
          .map((g) => g.dataSync());
      });
    const onWasm = grads();
    await tf.setBackend('cpu');
    const onCpu = grads();
    onCpu.forEach((expected, i) => {
      expect(relativeError(onWasm[i] as Float32Array, expected)).toBeLessThan(1e-4);
    });
  });

  it('runs Winograd F(4×4, 3×3) on both threads (work split in chunks), matching cpu', async () => {
    await tf.setBackend('wasm');
    expect(kernelsFor(tf.backend() as unknown as WasmBackend)?.threads).toBe(2);
    // 4 images of 5×5 tiles: 100 tiles, split into chunks for the two threads.
    const x = randomValues(4 * 20 * 19 * 12, 3);
    const w = randomValues(3 * 3 * 12 * 20, 4);
    const compute = () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
        return tf
          .grads(f)([tf.tensor4d(x, [4, 20, 19, 12]), tf.tensor4d(w, [3, 3, 12, 20])])
          .map((g) => g.dataSync());
      });
    const onWasm = compute();
    await tf.setBackend('cpu');
    const onCpu = compute();
    onCpu.forEach((expected, i) => {
      expect(relativeError(onWasm[i] as Float32Array, expected)).toBeLessThan(1e-5);
    });
  });
});
