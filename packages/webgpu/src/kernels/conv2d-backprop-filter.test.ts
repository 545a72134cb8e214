import '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { relativeMaxError, webgpuForTests } from '@skipnet/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { registerWebGPUTrainingKernels } from '../register-kernels.ts';
import { setupWebGPU } from '../setup.node.ts';
import {
  coveredConv,
  FILTER_GRADIENT_METHODS,
  type FilterGradientMethod,
  imagesPerChunk,
  reductionParts,
} from './conv2d-backprop-filter.ts';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  strides: [number, number];
  pad: Pad;
  method: FilterGradientMethod;
  seed: number;
}

function outShape(c: Case): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.n, c.h, c.w, c.cin],
    [c.kh, c.kw, c.cin, c.cout],
    c.strides,
    1,
    c.pad,
  );
  return [c.n, info.outHeight, info.outWidth, c.cout];
}

/** Conv2DBackpropFilter through the engine on the current backend, as tfjs's conv2d gradient calls it. */
async function filterGradient(c: Case, x: Float32Array, dy: Float32Array): Promise<Float32Array> {
  const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]);
  const dyt = tf.tensor4d(dy, outShape(c));
  const dw = tf
    .engine()
    .runKernel(
      tf.Conv2DBackpropFilter,
      { x: xt, dy: dyt },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: [c.kh, c.kw, c.cin, c.cout] },
    ) as tf.Tensor;
  const values = (await dw.data()) as Float32Array;
  tf.dispose([xt, dyt, dw]);
  return values;
}

function random(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array);
}

/** Relative error of the webgpu result against the cpu backend's stock kernel; also checks for leaked buffers. */
async function compare(c: Case, maxIm2colBytes?: number): Promise<number> {
  await tf.setBackend('cpu');
  const x = random([c.n, c.h, c.w, c.cin], c.seed);
  const dy = random(outShape(c), c.seed + 1);
  const expected = await filterGradient(c, x, dy);
  expect(await tf.setBackend('webgpu')).toBe(true);
  registerWebGPUTrainingKernels({
    filterGradient: c.method,
    ...(maxIm2colBytes === undefined ? {} : { maxIm2colBytes }),
  });
  const before = tf.memory().numDataBuffers;
  const actual = await filterGradient(c, x, dy);
  expect(tf.memory().numDataBuffers).toBe(before);
  return relativeMaxError(actual, expected);
}

const pads: fc.Arbitrary<Pad> = fc.oneof(
  fc.constant<Pad>('same'),
  fc.constant<Pad>('valid'),
  fc.integer({ min: 0, max: 3 }),
  fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)).map(
    ([t, b, l, r]): Pad => [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ],
  ),
);

const kernelSize = fc.constantFrom(1, 3, 7);
const stride = fc.constantFrom(1, 2);

// Images at least as large as the filter, so that every padding gives an output.
const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    dh: fc.nat(6),
    dw: fc.nat(6),
    cin: fc.integer({ min: 1, max: 8 }),
    cout: fc.integer({ min: 1, max: 8 }),
    kh: kernelSize,
    kw: kernelSize,
    strides: fc.tuple(stride, stride),
    pad: pads,
    method: fc.constantFrom(...FILTER_GRADIENT_METHODS),
    seed: fc.nat(1000),
  })
  // A numeric padding only with square filters: tfjs sizes both output dimensions from the filter's height then.
  .map(({ dh, dw, ...c }) => {
    const kw = typeof c.pad === 'number' ? c.kh : c.kw;
    return { ...c, kw, h: c.kh + dh, w: kw + dw };
  });

const { info, skipReason } = await webgpuForTests(setupWebGPU);

describe.skipIf(!info)(
  `Conv2DBackpropFilter on webgpu${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it('matches the cpu backend on random shapes, strides, paddings, kernel sizes and methods', async () => {
      await fc.assert(
        fc.asyncProperty(cases, async (c) => {
          expect(
            coveredConv([c.n, c.h, c.w, c.cin], 'float32', {
              ...c,
              dataFormat: 'NHWC',
              filterShape: [c.kh, c.kw, c.cin, c.cout],
            }),
          ).toBeDefined();
          expect(await compare(c)).toBeLessThan(1e-4);
        }),
        { numRuns: 120, seed: 7 },
      );
    });

    it("takes tfjs's split-K matmul when forced and the reduction is long (N·OH·OW = 2048)", async () => {
      const c: Case = {
        n: 2,
        h: 32,
        w: 32,
        cin: 3,
        cout: 4,
        kh: 3,
        kw: 3,
        strides: [1, 1],
        pad: 'same',
        method: 'im2col-splitk',
        seed: 3,
      };
      expect(await compare(c)).toBeLessThan(1e-4);
    });

    it('splits a long reduction into parts and sums them (N·OH·OW = 1800 in 25 parts)', async () => {
      expect(reductionParts(1800, 3 * 3 * 4, 4)).toBe(25);
      const c: Case = {
        n: 2,
        h: 30,
        w: 30,
        cin: 4,
        cout: 4,
        kh: 3,
        kw: 3,
        strides: [1, 1],
        pad: 'same',
        method: 'im2col',
        seed: 5,
      };
      expect(await compare(c)).toBeLessThan(1e-4);
    });

    it('builds the im2col matrix in chunks of images when it exceeds the byte budget, or convolves', async () => {
      const c: Case = {
        n: 5,
        h: 8,
        w: 8,
        cin: 2,
        cout: 3,
        kh: 3,
        kw: 3,
        strides: [1, 1],
        pad: 'same',
        method: 'im2col',
        seed: 9,
      };
      // 4·8·8·3·3·2 = 4608 bytes an image: a 10,000-byte budget takes 2, 2 and 1 images; 100 bytes none.
      expect(imagesPerChunk(5, 4608, 10_000)).toBe(2);
      expect(imagesPerChunk(5, 4608, 100)).toBe(0);
      expect(await compare(c, 10_000)).toBeLessThan(1e-4);
      expect(await compare({ ...c, method: 'im2col-splitk' }, 10_000)).toBeLessThan(1e-4);
      expect(await compare(c, 100)).toBeLessThan(1e-4);
    });

    it('hands strides over 2, kernels over 7 and NCHW to the stock kernel, which still answers', async () => {
      const attrs = {
        strides: 3,
        pad: 'same' as const,
        dataFormat: 'NHWC' as const,
        filterShape: [3, 3, 2, 2] as [number, number, number, number],
      };
      expect(coveredConv([1, 9, 9, 2], 'float32', attrs)).toBeUndefined();
      expect(
        coveredConv([1, 12, 12, 2], 'float32', { ...attrs, strides: 1, filterShape: [9, 9, 2, 2] }),
      ).toBeUndefined();
      expect(
        coveredConv([1, 2, 9, 9], 'float32', { ...attrs, strides: 1, dataFormat: 'NCHW' }),
      ).toBeUndefined();
      for (const c of [
        {
          n: 2,
          h: 10,
          w: 11,
          cin: 2,
          cout: 3,
          kh: 3,
          kw: 3,
          strides: [3, 3],
          pad: 'same',
          method: 'im2col',
          seed: 11,
        },
        {
          n: 1,
          h: 10,
          w: 10,
          cin: 2,
          cout: 2,
          kh: 9,
          kw: 9,
          strides: [1, 1],
          pad: 'valid',
          method: 'im2col',
          seed: 12,
        },
      ] as Case[]) {
        expect(await compare(c)).toBeLessThan(1e-4);
      }
    });

    it('is registered once however often it is called, and gives conv2d gradients as on cpu', async () => {
      await tf.setBackend('webgpu');
      registerWebGPUTrainingKernels();
      const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu');
      registerWebGPUTrainingKernels();
      expect(tf.getKernel(tf.Conv2DBackpropFilter, 'webgpu')?.kernelFunc).toBe(kernel?.kernelFunc);

      const grads = async () => {
        const x = tf.randomNormal([2, 9, 9, 3], 0, 1, 'float32', 21) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 22) as tf.Tensor4D;
        const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 2, 'same'))))(w);
        const values = await dw.data();
        tf.dispose([x, w, dw]);
        return values as Float32Array;
      };
      const actual = await grads();
      await tf.setBackend('cpu');
      expect(relativeMaxError(actual, await grads())).toBeLessThan(1e-4);
    });

    it('rejects an unknown method by name', () => {
      expect(() => registerWebGPUTrainingKernels({ filterGradient: 'fft' as FilterGradientMethod })).toThrow(
        /unknown filterGradient 'fft'/,
      );
    });
  },
);

describe('imagesPerChunk', () => {
  it('covers the batch in evenly sized chunks that each fit the budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 512 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1e6 }),
        (n, bytes, budget) => {
          const per = imagesPerChunk(n, bytes, budget);
          if (bytes > budget) {
            expect(per).toBe(0);
            return;
          }
          expect(per * bytes).toBeLessThanOrEqual(budget);
          expect(per).toBeGreaterThanOrEqual(1);
          expect(per).toBeLessThanOrEqual(n);
          // Evenly: no more chunks than the fewest possible.
          expect(Math.ceil(n / per)).toBe(Math.ceil(n / Math.min(n, Math.floor(budget / bytes))));
        },
      ),
    );
  });
});

describe('reductionParts', () => {
  it('divides N·OH·OW, aims at ~4096 workgroups, keeps 64 rows a part, and is 1 for short reductions', () => {
    // seed ResNet block2 at batch 64: k = 64·23·23, m = 3·3·64, 36 output tiles → ≤ 114 parts; 92 divides k.
    expect(reductionParts(64 * 23 * 23, 576, 64)).toBe(92);
    expect(reductionParts(100, 27, 4)).toBe(1);
    expect(reductionParts(128, 27, 4)).toBe(2);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 600 }),
        (k, m, cout) => {
          const parts = reductionParts(k, m, cout);
          expect(k % parts).toBe(0);
          expect(parts === 1 || k / parts >= 64).toBe(true);
        },
      ),
    );
  });
});
