import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { relativeMaxError, webgpuForTests } from '@skipnet/test-support';
import { describe, expect, it } from 'vitest';
import { setupWebGPU } from './setup.node.ts';

const { info, skipReason } = await webgpuForTests(setupWebGPU);

describe.skipIf(!info)(`setupWebGPU${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('reports the adapter it found', () => {
    expect(info!.adapter.length).toBeGreaterThan(0);
    expect(info!.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('runs a strided convolution as the cpu backend does', async () => {
    const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
    await tf.setBackend('cpu');
    const expected = tf.conv2d(x, f, 2, 'same').dataSync();
    expect(await tf.setBackend('webgpu')).toBe(true);
    const actual = await tf.conv2d(x, f, 2, 'same').data();
    expect(relativeMaxError(actual as Float32Array, expected as Float32Array)).toBeLessThan(1e-5);
  });
});
