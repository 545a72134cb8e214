import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Conv2d } from './index.ts';

/** One training step's gradients of a small conv on the current backend. */
function step(conv: Conv2d): number {
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(() => tf.sum(conv.forward(tf.ones([1, 4, 4, 1]))));
    return Object.keys(grads).length;
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the backend a conv net trains on', () => {
  it('on wasm without @skipnet/wasm-kernels, fails saying what to import instead of naming a kernel', async () => {
    await tf.setBackend('wasm');
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeUndefined(); // stock tfjs-backend-wasm
    const conv = new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, seed: 1 });
    expect(() => step(conv)).toThrow(
      /'wasm' backend needs a Conv2DBackpropFilter kernel.*Install @skipnet\/wasm-kernels.*registerTrainingKernels\(\)/,
    );
    // Inference needs no gradient kernel, and once one is registered (as @skipnet/wasm-kernels does) training runs.
    tf.tidy(() => conv.forward(tf.ones([1, 4, 4, 1])));
    const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: string): tf.TensorInfo };
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: 'wasm',
      kernelFunc: ({ attrs }) => backend.makeOutput(attrs?.filterShape as number[], 'float32'),
    });
    try {
      expect(step(conv)).toBe(2);
    } finally {
      tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
      conv.dispose();
    }
  });

  it('on cpu with its stock filter gradient, warns once that training will be slow and what to use', async () => {
    await tf.setBackend('cpu');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // tfjs itself suggests tfjs-node in Node; count ours.
    const ours = () =>
      warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('@skipnet/nn'));
    const conv = new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, seed: 1 });
    // A kernel marked as @skipnet/cpu-kernels marks its own: no warning.
    const stock = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')!;
    const fast: tf.KernelFunc = (args) => stock.kernelFunc(args);
    Object.defineProperty(fast, Symbol.for('@skipnet/cpu-kernels kernel'), { value: true });
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
    tf.registerKernel({ ...stock, kernelFunc: fast });
    expect(step(conv)).toBe(2);
    expect(ours()).toEqual([]);

    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
    tf.registerKernel(stock);
    step(conv);
    step(conv);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]).toMatch(
      /training on the 'cpu' backend.*@skipnet\/wasm-kernels.*'@skipnet\/cpu-kernels\/register'/,
    );
    conv.dispose();
  });
});
