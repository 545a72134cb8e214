// The hand-written train-mode BatchNorm gradient against tfjs autodiff through the ops it replaced
// (tf.moments, then tf.batchNorm4d with the batch statistics), on cpu and wasm.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import { batchNormTraining } from './batch-norm.ts';
import './register-gradients.ts';

/**
 * The train-mode forward as it was composed before: autodiff differentiates every op. tfjs-core's
 * FusedBatchNorm gradient cannot go without a scale, so no affine means scale 1 and offset 0 here.
 */
function composed(
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
): tf.Tensor4D {
  const c = x.shape[3];
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm4d(
    x,
    mean as tf.Tensor1D,
    variance as tf.Tensor1D,
    bias ?? tf.zeros<tf.Rank.R1>([c]),
    weight ?? tf.ones<tf.Rank.R1>([c]),
    eps,
  );
}

function custom(
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
): tf.Tensor4D {
  return batchNormTraining(x, weight, bias, eps, null);
}

type Norm = typeof composed;

/** y and the gradients of sum(y * g) w.r.t. x, weight and bias (those that are not null), from one forward. */
function valueAndGrads(
  norm: Norm,
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
  g: tf.Tensor4D,
): tf.Tensor[] {
  let y: tf.Tensor | undefined;
  const loss = (input: tf.Tensor, w?: tf.Tensor, b?: tf.Tensor): tf.Scalar => {
    const out = norm(
      input as tf.Tensor4D,
      (w ?? null) as tf.Tensor1D | null,
      (b ?? null) as tf.Tensor1D | null,
      eps,
    );
    y = tf.keep(out);
    return tf.sum(tf.mul(out, g));
  };
  const inputs = weight && bias ? [x, weight, bias] : [x];
  const { value, grads } = tf.valueAndGrads(loss as (...xs: tf.Tensor[]) => tf.Scalar)(inputs);
  value.dispose();
  return [y as tf.Tensor, ...grads];
}

/** max |actual - expected| / scale: the worst element against the size of the terms it sums (see termScales). */
function maxErrorOverScale(actual: tf.Tensor, expected: tf.Tensor, scale: number): number {
  return (tf.tidy(() => tf.max(tf.abs(tf.sub(actual, expected)))).dataSync()[0] as number) / scale;
}

/**
 * The size of the terms each result sums, which rounding errors are relative to: dx subtracts
 * terms of size |weight·dy|/std that cancel (exactly so when N·H·W = 2), and a channel's dweight
 * or dbias can sum to nearly 0, so their own size would say nothing.
 */
function termScales(
  x: tf.Tensor4D,
  y: tf.Tensor,
  weight: tf.Tensor1D | null,
  eps: number,
  g: tf.Tensor4D,
): number[] {
  return tf.tidy(() => {
    const axes = [0, 1, 2];
    const { mean, variance } = tf.moments(x, axes);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const xHat = tf.mul(tf.sub(x, mean), invStd);
    const max = (t: tf.Tensor) => tf.max(t).dataSync()[0] as number;
    const gammaG = weight ? tf.mul(g, weight) : g;
    return [
      max(tf.abs(y)),
      max(tf.mul(tf.abs(gammaG), invStd)),
      max(tf.sum(tf.abs(tf.mul(g, xHat)), axes)),
      max(tf.sum(tf.abs(g), axes)),
    ];
  });
}

/** Every kernel run by one forward and backward of `norm` on [8, 16, 16, 32]. */
async function profileKernels(norm: Norm): Promise<{ name: string; fullSize: boolean }[]> {
  const shape: [number, number, number, number] = [8, 16, 16, 32];
  const x = tf.randomNormal<tf.Rank.R4>(shape, 0, 1, 'float32', 1);
  const g = tf.randomNormal<tf.Rank.R4>(shape, 0, 1, 'float32', 2);
  const weight = tf.randomNormal<tf.Rank.R1>([32], 1, 0.2, 'float32', 3);
  const bias = tf.randomNormal<tf.Rank.R1>([32], 0, 0.2, 'float32', 4);
  const size = x.size;
  const profile = await tf.profile(() => {
    tf.dispose(valueAndGrads(norm, x, weight, bias, 1e-5, g));
  });
  tf.dispose([x, g, weight, bias]);
  return profile.kernels.map((k) => ({
    name: k.name,
    // Computes over a whole [8, 16, 16, 32] tensor (not a channel vector; Identity and Reshape
    // copy nothing, and the custom gradient's own entry only wraps the kernels it runs).
    fullSize:
      !['Identity', 'Reshape'].includes(k.name) &&
      tf.getKernel(k.name, tf.getBackend()) !== undefined &&
      [...k.inputShapes, ...k.outputShapes].some((s) => s !== null && tf.util.sizeFromShape(s) === size),
  }));
}

failOnLeakedTensors(tf);

describe.each(['cpu', 'wasm'])('batchNormTraining on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('y and the gradients w.r.t. x, weight and bias match autodiff of the composed ops within 1e-5', () => {
    const dim = (max: number) => fc.integer({ min: 1, max });
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.tuple(dim(3), dim(5), dim(5), dim(6)),
          seed: fc.integer({ min: 0, max: 1e6 }),
          mean: fc.double({ min: -3, max: 3, noNaN: true }),
          std: fc.double({ min: 0.1, max: 10, noNaN: true }),
          eps: fc.constantFrom(1e-5, 1e-3),
          affine: fc.boolean(),
        }),
        ({ shape, seed, mean, std, eps, affine }) => {
          fc.pre(shape[0] * shape[1] * shape[2] >= 2);
          const c = shape[3];
          tf.tidy(() => {
            const x = tf.randomNormal<tf.Rank.R4>(shape, mean, std, 'float32', seed);
            const g = tf.randomNormal<tf.Rank.R4>(shape, 0, 1, 'float32', seed + 1);
            const weight = affine ? tf.randomNormal<tf.Rank.R1>([c], 1, 0.5, 'float32', seed + 2) : null;
            const bias = affine ? tf.randomNormal<tf.Rank.R1>([c], 0, 0.5, 'float32', seed + 3) : null;
            const expected = valueAndGrads(composed, x, weight, bias, eps, g);
            const actual = valueAndGrads(custom, x, weight, bias, eps, g);
            expect(actual.length).toBe(affine ? 4 : 2);
            const scales = termScales(x, expected[0] as tf.Tensor, weight, eps, g);
            actual.forEach((t, i) => {
              const reference = expected[i] as tf.Tensor;
              const name = ['y', 'dx', 'dweight', 'dbias'][affine || i < 2 ? i : i + 2];
              expect(t.shape).toEqual(reference.shape);
              const error = maxErrorOverScale(t, reference, scales[affine || i < 2 ? i : i + 2] as number);
              expect(error, `${name} of ${shape}`).toBeLessThanOrEqual(1e-5);
            });
            tf.dispose([...expected, ...actual]);
          });
        },
      ),
      { numRuns: backend === 'cpu' ? 60 : 30, seed: 20261130 },
    );
  });

  it('updates the running statistics (variance unbiased) off the gradient tape, and leaks nothing', () => {
    const x = tf.tensor4d([1, 2, 3, 5, 8, 13, 21, 34], [2, 2, 1, 2]);
    // Momentum 1 keeps only this batch's statistics.
    const running = tf.tidy(() => ({
      mean: tf.variable(tf.zeros([2]), false),
      variance: tf.variable(tf.ones([2]), false),
      batches: tf.variable(tf.scalar(0, 'int32'), false),
      momentum: 1,
    }));
    const dx = tf.grad((input: tf.Tensor) =>
      tf.sum(tf.square(batchNormTraining(input as tf.Tensor4D, null, null, 1e-5, running))),
    )(x);
    // Channel 0 holds 1, 3, 8, 21 and channel 1 holds 2, 5, 13, 34 (mean 8.25 and 13.5; biased variances
    // 60.6875 and 156.25, unbiased ×4/3).
    const stats = [...running.mean.dataSync(), ...running.variance.dataSync()];
    stats.forEach((v, i) => {
      expect(v).toBeCloseTo([8.25, 13.5, (60.6875 * 4) / 3, (156.25 * 4) / 3][i] as number, 3);
    });
    expect(running.batches.dataSync()[0]).toBe(1);
    // sum(x̂²) is m per channel whatever x is, so its gradient is 0 (up to rounding).
    expect(Math.max(...Array.from(dx.dataSync(), Math.abs))).toBeLessThan(1e-5);
    tf.dispose([x, dx, running.mean, running.variance, running.batches]);
  });

  it('one forward and backward runs far fewer kernels than autodiff of the composed ops', async () => {
    const before = await profileKernels(composed);
    const after = await profileKernels(custom);
    const fullSize = (kernels: { fullSize: boolean }[]) => kernels.filter((k) => k.fullSize).length;
    // Measured on cpu and wasm, tfjs-core 4.22, counting the loss sum(y * g) and its gradient
    // (9 kernels, 5 full-size) in both: composed 73 kernels, 35 of them full-size passes;
    // custom 34 and 18 (forward Mean, Sub, Square, Mean, Multiply, Add; backward Sum, Multiply,
    // Sum, Multiply, Multiply, Add, Add).
    expect(after.length, after.map((k) => k.name).join(' ')).toBeLessThanOrEqual(34);
    expect(
      fullSize(after),
      after
        .filter((k) => k.fullSize)
        .map((k) => k.name)
        .join(' '),
    ).toBeLessThanOrEqual(18);
    expect(before.length).toBeGreaterThanOrEqual(after.length + 35);
    expect(fullSize(before)).toBeGreaterThanOrEqual(fullSize(after) + 15);
  });
});
