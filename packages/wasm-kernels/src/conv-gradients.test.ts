import '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import { type ConvolutionMethods, setConvolutionMethods } from './kernels/methods.ts';
import { type Pad, pads, randomValues as random } from './test-util.ts';

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number | [number, number];
  pad: Pad;
  seed: number;
}

interface Grads {
  dx: Float32Array;
  dw: Float32Array;
}

/** Gradients of Σ conv2d(x, w) ⊙ r with respect to x and w, on the current backend. */
function convGrads(c: Case, x: Float32Array, w: Float32Array, r: Float32Array): Grads {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.cin]);
    const wt = tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
      return tf.sum(tf.mul(y, tf.tensor(r, y.shape)));
    };
    const [dx, dw] = tf.grads(f)([xt, wt]) as [tf.Tensor, tf.Tensor];
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function outSize(c: Case): [number, number] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.n, c.h, c.w, c.cin],
    [c.k, c.k, c.cin, c.cout],
    c.stride,
    1,
    c.pad,
  );
  return [info.outHeight, info.outWidth];
}

/** Runs a case on cpu (the reference) and on wasm, moving the inputs as arrays. */
async function compare(c: Case): Promise<{ dx: number; dw: number }> {
  await tf.setBackend('cpu');
  const [oh, ow] = outSize(c);
  const x = random(c.n * c.h * c.w * c.cin, c.seed);
  const w = random(c.k * c.k * c.cin * c.cout, c.seed + 1);
  const r = random(c.n * oh * ow * c.cout, c.seed + 2);
  const expected = convGrads(c, x, w, r);
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const actual = convGrads(c, x, w, r);
  expect(tf.memory().numTensors).toBe(before);
  return { dx: relativeL2Error(actual.dx, expected.dx), dw: relativeL2Error(actual.dw, expected.dw) };
}

const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 10 }),
    w: fc.integer({ min: 1, max: 10 }),
    cin: fc.integer({ min: 1, max: 5 }),
    cout: fc.integer({ min: 1, max: 5 }),
    k: fc.constantFrom(1, 3, 7),
    stride: fc.constantFrom(1, 2),
    pad: pads,
    seed: fc.nat(1000),
  })
  .filter((c) => {
    const [oh, ow] = outSize(c);
    return oh > 0 && ow > 0;
  });

describe('conv2d gradients on wasm match cpu', () => {
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
  });

  it('registers Conv2DBackpropFilter on wasm, idempotently', () => {
    registerTrainingKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
  });

  it.each<Case>([
    { n: 2, h: 8, w: 8, cin: 3, cout: 4, k: 3, stride: 1, pad: 'same', seed: 1 },
    { n: 2, h: 9, w: 8, cin: 3, cout: 4, k: 3, stride: 2, pad: 'same', seed: 2 },
    { n: 1, h: 9, w: 9, cin: 2, cout: 3, k: 3, stride: 2, pad: 'valid', seed: 3 },
    { n: 2, h: 8, w: 8, cin: 4, cout: 2, k: 1, stride: 2, pad: 'valid', seed: 4 },
    { n: 1, h: 12, w: 11, cin: 3, cout: 4, k: 7, stride: 2, pad: 'valid', seed: 5 },
    { n: 1, h: 7, w: 7, cin: 2, cout: 2, k: 3, stride: 2, pad: 1, seed: 6 },
    { n: 1, h: 7, w: 8, cin: 2, cout: 3, k: 3, stride: [2, 1], pad: 'same', seed: 7 },
    { n: 1, h: 1, w: 2, cin: 1, cout: 2, k: 1, stride: 1, pad: 1, seed: 8 },
  ])('k=$k stride=$stride pad=$pad on $h×$w', async (c) => {
    const err = await compare(c);
    expect(err.dw).toBeLessThan(1e-4);
    expect(err.dx).toBeLessThan(1e-4);
  });

  it('random shapes, strides, paddings and kernel sizes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const err = await compare(c);
        return err.dw <= 1e-4 && err.dx <= 1e-4;
      }),
      { numRuns: 100 },
    );
  });

  it.each<ConvolutionMethods['filterGradient']>(['direct', 'winograd', 'im2col', 'dilated'])(
    'the filter gradient forced to one formulation, %s (property)',
    async (forced) => {
      expect(setConvolutionMethods({ filterGradient: forced }).filterGradient).toBe('auto');
      try {
        await fc.assert(
          fc.asyncProperty(cases, async (c) => (await compare(c)).dw <= 1e-4),
          { numRuns: 60 },
        );
      } finally {
        setConvolutionMethods({ filterGradient: 'auto' });
      }
    },
  );

  // Past one block of 1,024 output pixels (the filter gradient's partial sums), one block of 64 filter rows and
  // one group of 64 output channels; against the dilated formulation (the cpu backend's is a scalar loop).
  it.each<Case>([
    { n: 3, h: 24, w: 24, cin: 8, cout: 70, k: 3, stride: 1, pad: 'same', seed: 9 },
    { n: 4, h: 40, w: 39, cin: 3, cout: 16, k: 7, stride: 2, pad: 'valid', seed: 10 },
  ])('direct filter gradient over several blocks: $n×$h×$w, $cin→$cout, k=$k stride=$stride', async (c) => {
    const [oh, ow] = outSize(c);
    const x = random(c.n * c.h * c.w * c.cin, c.seed);
    const w = random(c.k * c.k * c.cin * c.cout, c.seed + 1);
    const r = random(c.n * oh * ow * c.cout, c.seed + 2);
    const byFormulation = (forced: ConvolutionMethods['filterGradient']) => {
      setConvolutionMethods({ filterGradient: forced });
      try {
        return convGrads(c, x, w, r).dw;
      } finally {
        setConvolutionMethods({ filterGradient: 'auto' });
      }
    };
    expect(relativeL2Error(byFormulation('direct'), byFormulation('dilated'))).toBeLessThan(1e-5);
  });

  it.each<ConvolutionMethods['inputGradient']>(['direct', 'winograd', 'xnnpack'])(
    'the input gradient forced to one method, %s (property)',
    async (forced) => {
      expect(setConvolutionMethods({ inputGradient: forced }).inputGradient).toBe('auto');
      try {
        await fc.assert(
          fc.asyncProperty(cases, async (c) => (await compare(c)).dx <= 1e-4),
          { numRuns: 60 },
        );
      } finally {
        setConvolutionMethods({ inputGradient: 'auto' });
      }
    },
  );
});
