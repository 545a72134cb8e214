import '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import { relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import type { WasmBackend } from './kernels/run.ts';
import { kernelsFor } from './parallel.ts';
import { randomValues } from './test-util.ts';
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
      expect(relativeL2Error(onWasm[i] as Float32Array, expected)).toBeLessThan(1e-4);
    });
  });

  it('runs our own kernels on both threads (work split in chunks), matching cpu', async () => {
    await tf.setBackend('wasm');
    expect(kernelsFor(tf.backend() as unknown as WasmBackend)?.threads).toBe(2);
    // A stem-like 7×7/2 convolution (our direct kernels: 1,156 output pixels in 19 blocks forward, two partial
    // sums for the filter gradient), then a 3×3 stride-1 one (Winograd gradients: 4 images of 5×5 tiles).
    const x = randomValues(4 * 40 * 39 * 3, 3);
    const w1 = randomValues(7 * 7 * 3 * 12, 4);
    const w2 = randomValues(3 * 3 * 12 * 20, 5);
    const compute = () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const h = tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'valid'));
          return tf.sum(tf.square(tf.conv2d(h, c as tf.Tensor4D, 1, 'same')));
        };
        return tf
          .grads(f)([
            tf.tensor4d(x, [4, 40, 39, 3]),
            tf.tensor4d(w1, [7, 7, 3, 12]),
            tf.tensor4d(w2, [3, 3, 12, 20]),
          ])
          .map((g) => g.dataSync());
      });
    const onWasm = compute();
    await tf.setBackend('cpu');
    const onCpu = compute();
    onCpu.forEach((expected, i) => {
      expect(relativeL2Error(onWasm[i] as Float32Array, expected)).toBeLessThan(1e-5);
    });
  });
});
