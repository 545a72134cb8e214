import '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import { onCpuAndWasm, randomValues } from './test-util.ts';
import { type KernelBuild, kernelBuild, setKernelBuild } from './wasm-module.ts';

describe('Slice and MaxPoolGrad on wasm match cpu', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('Slice of any rank, begin and size (property)', async () => {
    const cases = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        begin: fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }))),
        fractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
          minLength: shape.length,
          maxLength: shape.length,
        }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ shape, begin, fractions }) => {
        const size = shape.map((d, i) =>
          Math.max(1, Math.round((fractions[i] as number) * (d - (begin[i] as number)))),
        );
        const x = randomValues(tf.util.sizeFromShape(shape), 5);
        const { cpu, wasm, leaked } = await onCpuAndWasm(() =>
          tf.tidy(() => Array.from(tf.slice(tf.tensor(x, shape), begin, size).dataSync())),
        );
        return leaked === 0 && relativeL2Error(wasm, cpu) === 0;
      }),
      { numRuns: 80 },
    );
  });

  it.each<KernelBuild>([kernelBuild(), 'none'])(
    'max-pool gradient over shapes, windows, strides and paddings, with ties (property; %s build)',
    async (build) => {
      const previous = setKernelBuild(build);
      const cases = fc.record({
        n: fc.integer({ min: 1, max: 2 }),
        // From 4 a side, windows from 2: the stock wasm MaxPool forward aborts on degenerate pools.
        h: fc.integer({ min: 4, max: 9 }),
        w: fc.integer({ min: 4, max: 9 }),
        c: fc.integer({ min: 1, max: 9 }),
        k: fc.integer({ min: 2, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        pad: fc.constantFrom<'same' | 'valid' | number>('same', 'valid', 0, 1),
        seed: fc.nat(100),
      });
      try {
        await fc.assert(
          fc.asyncProperty(
            cases.filter(
              (p) =>
                (p.pad !== 'valid' || (p.h >= p.k && p.w >= p.k)) &&
                (typeof p.pad !== 'number' || 2 * p.pad < p.k + 1),
            ),
            async (p) => {
              const shape: [number, number, number, number] = [p.n, p.h, p.w, p.c];
              // Rounded values give ties inside windows, as after a ReLU.
              const x = randomValues(p.n * p.h * p.w * p.c, p.seed).map((v) => Math.round(v * 2));
              const { cpu, wasm, leaked } = await onCpuAndWasm(() =>
                tf.tidy(() => {
                  const f = (a: tf.Tensor) => {
                    const y = tf.maxPool(a as tf.Tensor4D, p.k, p.stride, p.pad);
                    return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 9), y.shape)));
                  };
                  return Array.from(tf.grad(f)(tf.tensor4d(x, shape)).dataSync());
                }),
              );
              return leaked === 0 && relativeL2Error(wasm, cpu) <= 1e-6;
            },
          ),
          { numRuns: 80 },
        );
      } finally {
        setKernelBuild(previous);
      }
    },
  );
});
