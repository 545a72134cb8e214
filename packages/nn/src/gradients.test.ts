import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';

describe('gradient registration', () => {
  it('lists every gradient config in tfjs-core’s dist/gradients folder', () => {
    const core = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json'));
    const files = readdirSync(join(core, 'dist', 'gradients'))
      .filter((f) => f.endsWith('_grad.js'))
      .sort();
    const source = readFileSync(new URL('./gradient-configs.ts', import.meta.url), 'utf8');
    const imported = [...source.matchAll(/'@tensorflow\/tfjs-core\/dist\/gradients\/([^']+)'/g)]
      .map((m) => m[1])
      .sort();
    expect(imported).toEqual(files);
  });

  it('registers conv2d, batchnorm, pooling, matmul and softmax-cross-entropy gradients on import, without warnings', async () => {
    const warn = vi.spyOn(console, 'warn');
    const kernels = [
      'Conv2D',
      'FusedBatchNorm',
      'MaxPool',
      'AvgPool',
      'BatchMatMul',
      'LogSoftmax',
      'Softmax',
      'Relu',
      'PadV2',
    ];
    expect(kernels.filter((k) => tf.getGradient(k) !== undefined)).toEqual([]);
    const { registerGradients } = await import('./index.ts');
    await import('./register-gradients.ts');
    // tfjs-core only says "Overriding the gradient for ..." in DEBUG mode: turn it on for the repeat.
    tf.env().set('DEBUG', true);
    registerGradients();
    tf.env().set('DEBUG', false);
    expect(kernels.filter((k) => tf.getGradient(k) === undefined)).toEqual([]);
    const overrides = warn.mock.calls.filter((args) => String(args[0]).includes('Overriding'));
    expect(overrides).toEqual([]);
  });

  it('never replaces a gradient registered before it, and the gradients compute', async () => {
    await tf.setBackend('cpu');
    const { registerGradients } = await import('./index.ts');
    const mine: tf.GradConfig = {
      kernelName: 'Relu',
      gradFunc: (dy) => ({ x: () => tf.mul(dy as tf.Tensor, 7) }),
    };
    tf.unregisterGradient('Relu');
    tf.registerGradient(mine);
    registerGradients();
    expect(tf.getGradient('Relu')).toBe(mine);
    const x = tf.tensor1d([1, -1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(x);
    expect(Array.from(g.dataSync())).toEqual([7, 7]);
    const logits = tf.tensor2d([[1, 2, 3]]);
    const labels = tf.tensor2d([[0, 0, 1]]);
    const dl = tf.grad((l: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, l))(logits);
    // d/dlogits of cross-entropy = softmax(logits) - onehot
    const softmax = [1, 2, 3].map((v) => Math.exp(v) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    Array.from(dl.dataSync()).forEach((v, i) => {
      expect(v).toBeCloseTo((softmax[i] as number) - (i === 2 ? 1 : 0), 5);
    });
    tf.dispose([x, g, logits, labels, dl]);
  });
});
