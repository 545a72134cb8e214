import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { compositeKernels } from './composite.ts';
import { dilatedConvFilterGradient } from './conv.ts';

interface CpuBackend {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

const options = { backendName: 'cpu', owner: '@skipnet/example', whenMissing: 'load the cpu backend first.' };

describe('compositeKernels', () => {
  it("runs the backend's own kernels on tensor infos", async () => {
    await tf.setBackend('cpu');
    const kernels = compositeKernels<CpuBackend>(options);
    const backend = tf.backend() as unknown as CpuBackend;
    const a = tf.tensor1d([1, 2, 3]);
    const sum = kernels.runKernel('Add', backend, { a, b: a }, {});
    expect(Array.from(tf.engine().makeTensorFromTensorInfo(sum).dataSync())).toEqual([2, 4, 6]);
    tf.dispose(a);
  });

  it('names the package, the kernel and the fix when the backend lacks a kernel or a stock kernel', async () => {
    await tf.setBackend('cpu');
    const kernels = compositeKernels<CpuBackend>(options);
    const backend = tf.backend() as unknown as CpuBackend;
    expect(() => kernels.runKernel('NoSuchKernel', backend, {}, {})).toThrow(
      "@skipnet/example needs the cpu backend's NoSuchKernel kernel: load the cpu backend first.",
    );
    expect(() => kernels.runStockKernel('Add', { inputs: {}, backend, attrs: {} })).toThrow(
      '@skipnet/example: the cpu backend has no stock Add kernel for this case.',
    );
  });

  it('keeps the first stock kernel it is given', async () => {
    const kernels = compositeKernels<CpuBackend>(options);
    const first = () => ({ dataId: {}, shape: [1], dtype: 'float32' as const });
    kernels.rememberStockKernel('Add', first);
    kernels.rememberStockKernel('Add', () => {
      throw new Error('not the first');
    });
    const backend = tf.backend() as unknown as CpuBackend;
    expect(kernels.runStockKernel('Add', { inputs: {}, backend, attrs: {} }).shape).toEqual([1]);
  });
});

describe('dilatedConvFilterGradient', () => {
  it.each([
    { stride: 1, pad: 'same' as const, h: 5 },
    { stride: 2, pad: 'same' as const, h: 6 },
    { stride: 2, pad: 'valid' as const, h: 8 }, // the last row and column unread: a slice
    { stride: 2, pad: 1, h: 8 },
  ])(
    "is the cpu backend's filter gradient (stride $stride, pad $pad, $h×$h), freeing what it made",
    async (c) => {
      await tf.setBackend('cpu');
      const kernels = compositeKernels<CpuBackend>(options);
      const backend = tf.backend() as unknown as CpuBackend;
      const x = tf.randomNormal<tf.Rank.R4>([2, c.h, c.h, 3], 0, 1, 'float32', 1);
      const filterShape: [number, number, number, number] = [3, 3, 3, 4];
      const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, c.stride, 1, c.pad);
      const dy = tf.randomNormal<tf.Rank.R4>([2, info.outHeight, info.outWidth, 4], 0, 1, 'float32', 2);
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape };
      const expected = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
      // The transposes and the convolution's own output are freed: only dW's data stays.
      const before = tf.memory().numDataBuffers;
      const dw = tf
        .engine()
        .makeTensorFromTensorInfo(dilatedConvFilterGradient(kernels, backend, x, dy, info));
      expect(tf.memory().numDataBuffers).toBe(before + 1);
      expect(dw.shape).toEqual(filterShape);
      const error = tf.tidy(() => tf.max(tf.abs(tf.sub(dw, expected))).dataSync()[0]!);
      expect(error).toBeLessThan(1e-4);
      dw.dispose();
      tf.dispose([x, dy, expected]);
    },
  );
});
