import '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import { onCpuAndWasm, randomValues } from './test-util.ts';

const shapes = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });

describe('Tile, Sum and Mean on wasm match cpu', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('Tile of float32, int32 and bool, block repetition and the general case (property)', async () => {
    const cases = shapes.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        reps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: shape.length, maxLength: shape.length }),
        leadingOnes: fc.integer({ min: 0, max: shape.length }),
        dtype: fc.constantFrom<'float32' | 'int32' | 'bool'>('float32', 'int32', 'bool'),
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ shape, reps, leadingOnes, dtype }) => {
        // Ones in front make the block-repetition case (BatchNorm's; a scalar's, for tf.where) frequent.
        const xShape = shape.map((d, i) => (i < leadingOnes ? 1 : d));
        const x = Array.from(randomValues(tf.util.sizeFromShape(xShape), 7), (v) =>
          dtype === 'float32' ? v : Math.round(3 * v),
        );
        const { cpu, wasm, leaked } = await onCpuAndWasm(() =>
          tf.tidy(() => Array.from(tf.tile(tf.tensor(x, xShape, dtype), reps).dataSync())),
        );
        return leaked === 0 && relativeL2Error(wasm, cpu) === 0;
      }),
      { numRuns: 80 },
    );
  });

  it('Sum and Mean over any axes, with and without keepDims (property)', async () => {
    const cases = shapes.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        axes: fc.subarray(shape.map((_, i) => i)),
        keepDims: fc.boolean(),
        op: fc.constantFrom('sum', 'mean'),
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ shape, axes, keepDims, op }) => {
        const x = randomValues(tf.util.sizeFromShape(shape), 3);
        const reduce = op === 'sum' ? tf.sum : tf.mean;
        const { cpu, wasm, leaked } = await onCpuAndWasm(() =>
          tf.tidy(() => {
            const y = reduce(tf.tensor(x, shape), axes.length > 0 ? axes : undefined, keepDims);
            return { shape: y.shape, values: Array.from(y.dataSync()) };
          }),
        );
        expect(wasm.shape).toEqual(cpu.shape);
        return leaked === 0 && relativeL2Error(wasm.values, cpu.values) <= 1e-6;
      }),
      { numRuns: 80 },
    );
  });

  it('Sum and Mean over N, H, W of a large NHWC tensor (BatchNorm statistics, through average pooling)', async () => {
    const shape = [3, 37, 29, 5];
    const x = randomValues(tf.util.sizeFromShape(shape), 5).map((v) => v + 2);
    const { cpu, wasm, leaked } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const t = tf.tensor(x, shape);
        return [tf.sum(t, [0, 1, 2]), tf.mean(t, [0, 1, 2], true)].map((y) => ({
          shape: y.shape,
          values: Array.from(y.dataSync()),
        }));
      }),
    );
    expect(leaked).toBe(0);
    expect(wasm.map((r) => r.shape)).toEqual([[5], [1, 1, 1, 5]]);
    cpu.forEach((expected, i) => {
      expect(relativeL2Error(wasm[i]!.values, expected.values)).toBeLessThan(1e-6);
    });
  });

  it('int32 Sum goes to the stock kernel', async () => {
    const { cpu, wasm } = await onCpuAndWasm(() =>
      tf.tidy(() =>
        Array.from(
          tf
            .sum(
              tf.tensor(
                [
                  [1, 2],
                  [3, 4],
                ],
                [2, 2],
                'int32',
              ),
              0,
            )
            .dataSync(),
        ),
      ),
    );
    expect(wasm).toEqual(cpu);
    expect(cpu).toEqual([4, 6]);
  });

  it('gradients of train-mode batch normalisation (moments + batchNorm) on NHWC', async () => {
    const shape: [number, number, number, number] = [3, 5, 4, 6];
    const x = randomValues(3 * 5 * 4 * 6, 11);
    const scale = randomValues(6, 12);
    const offset = randomValues(6, 13);
    const r = randomValues(3 * 5 * 4 * 6, 14);
    const { cpu, wasm, leaked } = await onCpuAndWasm(() =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          const y = tf.batchNorm4d(
            a as tf.Tensor4D,
            mean as tf.Tensor1D,
            variance as tf.Tensor1D,
            b as tf.Tensor1D,
            g as tf.Tensor1D,
            1e-5,
          );
          return tf.sum(tf.mul(y, tf.tensor(r, shape)));
        };
        const grads = tf.grads(f)([tf.tensor(x, shape), tf.tensor(scale), tf.tensor(offset)]);
        return grads.map((g) => Array.from(g.dataSync()));
      }),
    );
    expect(leaked).toBe(0);
    cpu.forEach((expected, i) => {
      expect(relativeL2Error(wasm[i] as number[], expected)).toBeLessThan(1e-4);
    });
  });
});
