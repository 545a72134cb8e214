import '@tensorflow/tfjs-backend-cpu';
import '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countCorrect, softmaxCrossEntropy } from './loss.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// F.cross_entropy(logits, labels) and its gradient, PyTorch 1.13 (Debian python3-torch; scripts/torch_reference.py):
//   z = tensor([[1., 2., 3.], [1000., -1000., 0.], [-2., 0.5, 0.5]], requires_grad=True); y = tensor([2, 0, 1])
//   l = F.cross_entropy(z, y); l.backward()   (float64)
const Z = [
  [1, 2, 3],
  [1000, -1000, 0],
  [-2, 0.5, 0.5],
];
const Y = [2, 0, 1];
const TORCH_LOSS = 0.38032525309053056;
const TORCH_GRAD = [
  [0.030010191056793478, 0.08157615701826587, -0.1115863480750594],
  [0.0, 0.0, 0.0],
  [0.013141474159820688, -0.173237403746577, 0.1600959295867563],
];

describe('softmaxCrossEntropy', () => {
  it('equals PyTorch cross_entropy (mean) and stays finite for logits of ±1000', () => {
    const loss = tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(Z), tf.tensor1d(Y, 'int32')));
    expect(loss.dataSync()[0]).toBeCloseTo(TORCH_LOSS, 6);
    loss.dispose();
  });

  it('has the gradient (softmax − onehot) / batch, equal to PyTorch and to finite differences', () => {
    const z = tf.tensor2d(Z);
    const y = tf.tensor1d(Y, 'int32');
    const grad = tf.grad((t: tf.Tensor) => softmaxCrossEntropy(t, y))(z);
    const g = grad.arraySync() as number[][];
    g.forEach((row, i) => {
      row.forEach((v, j) => {
        expect(v).toBeCloseTo(TORCH_GRAD[i]![j]!, 5);
      });
    });
    // central differences on well-scaled logits (float32, so h = 1e-2)
    const base = [
      [0.3, -0.2, 0.8, 0.1],
      [-1.1, 0.4, 0.0, 0.9],
    ];
    const labels = tf.tensor1d([3, 1], 'int32');
    const f = (m: number[][]) => tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(m), labels).dataSync()[0]!);
    const analytic = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) => softmaxCrossEntropy(t, labels))(tf.tensor2d(base))
        .arraySync(),
    ) as number[][];
    const h = 1e-2;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 4; j++) {
        const up = base.map((r) => [...r]);
        const down = base.map((r) => [...r]);
        up[i]![j]! += h;
        down[i]![j]! -= h;
        expect(analytic[i]![j]!).toBeCloseTo((f(up) - f(down)) / (2 * h), 3);
      }
    }
    tf.dispose([z, y, grad, labels]);
  });

  it('rejects float labels and mismatched shapes with a message that says what to do', () => {
    const z = tf.zeros([2, 3]);
    const yf = tf.tensor1d([0, 1]);
    const y3 = tf.tensor1d([0, 1, 2], 'int32');
    expect(() => softmaxCrossEntropy(z, yf)).toThrow(/int32 class indices.*cast/);
    expect(() => softmaxCrossEntropy(z, y3)).toThrow(/\[batch\] = \[2\]/);
    tf.dispose([z, yf, y3]);
  });

  it('leaks nothing through forward and backward', () => {
    const z = tf.tensor2d(Z);
    const y = tf.tensor1d(Y, 'int32');
    const v = tf.variable(z);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(tf.mul(v, 1), y), [v]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([z, y, v]);
  });
});

describe('countCorrect', () => {
  it('counts argmax hits, first index on ties', () => {
    const n = tf.tidy(() =>
      countCorrect(
        tf.tensor2d([
          [0, 1, 0],
          [2, 2, 0],
          [5, 0, 0],
        ]),
        tf.tensor1d([1, 0, 2], 'int32'),
      ),
    );
    expect(n.dtype).toBe('int32');
    expect(n.dataSync()[0]).toBe(2);
    n.dispose();
  });
});

describe('softmaxCrossEntropy on wasm', () => {
  it('gives the PyTorch value there too (tfjs-backend-wasm OneHot ignores its dtype argument)', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    const loss = tf.tidy(() => softmaxCrossEntropy(tf.tensor2d(Z), tf.tensor1d(Y, 'int32')));
    expect(loss.dataSync()[0]).toBeCloseTo(TORCH_LOSS, 5);
    loss.dispose();
    await tf.setBackend('cpu');
  });
});
