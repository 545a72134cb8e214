import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import { setConvolutionMethods } from './kernels/methods.ts';
import { availableKernelBuilds, type Pad, pads, randomValues as random } from './test-util.ts';
import { type KernelBuild, setKernelBuild } from './wasm-module.ts';

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number | [number, number];
  dilation: number;
  pad: Pad;
  seed: number;
}

function conv(c: Case, x: Float32Array, w: Float32Array): Float32Array {
  return tf.tidy(
    () =>
      tf
        .conv2d(
          tf.tensor4d(x, [c.n, c.h, c.w, c.cin]),
          tf.tensor4d(w, [c.k, c.k, c.cin, c.cout]),
          c.stride,
          c.pad,
          'NHWC',
          c.dilation,
        )
        .dataSync() as Float32Array,
  );
}

async function compare(c: Case): Promise<number> {
  const x = random(c.n * c.h * c.w * c.cin, c.seed);
  const w = random(c.k * c.k * c.cin * c.cout, c.seed + 1);
  await tf.setBackend('cpu');
  const expected = conv(c, x, w);
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const actual = conv(c, x, w);
  expect(tf.memory().numTensors).toBe(before);
  return relativeL2Error(actual, expected);
}

function valid(c: Case): boolean {
  if (c.dilation > 1 && c.stride !== 1) return false; // tfjs-core takes no strided dilated convolution
  const info = tf.backend_util.computeConv2DInfo(
    [c.n, c.h, c.w, c.cin],
    [c.k, c.k, c.cin, c.cout],
    c.stride,
    c.dilation,
    c.pad,
  );
  return info.outHeight > 0 && info.outWidth > 0;
}

// Odd sizes, batch 1, channel counts that are not multiples of 4 or 8, strides 1/2/3 and unequal, kernels 1 to 7.
const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 14 }),
    w: fc.integer({ min: 1, max: 14 }),
    cin: fc.integer({ min: 1, max: 11 }),
    cout: fc.integer({ min: 1, max: 19 }),
    k: fc.constantFrom(1, 2, 3, 5, 7),
    stride: fc.oneof(fc.constantFrom(1, 2, 3), fc.constant<[number, number]>([2, 1])),
    dilation: fc.constantFrom(1, 1, 1, 2),
    pad: pads,
    seed: fc.nat(1000),
  })
  .filter(valid);

const available = availableKernelBuilds();

describe.each(available)('forward convolution on wasm matches cpu (%s build)', (build) => {
  let previousBuild: KernelBuild;
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
    previousBuild = setKernelBuild(build);
    setConvolutionMethods({ forward: 'direct' });
  });
  afterAll(() => {
    setConvolutionMethods({ forward: 'auto' });
    setKernelBuild(previousBuild);
  });

  it('random shapes, strides, paddings, kernel sizes and dilations (property)', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => (await compare(c)) <= 1e-5),
      { numRuns: 100 },
    );
  });

  // Past one block of 64 output pixels and one panel of 8 output channels; the seed ResNet's stem.
  it.each<Case>([
    { n: 3, h: 17, w: 13, cin: 9, cout: 21, k: 3, stride: 1, dilation: 1, pad: 'same', seed: 1 },
    { n: 2, h: 40, w: 40, cin: 3, cout: 16, k: 7, stride: 2, dilation: 1, pad: 'valid', seed: 2 },
  ])('$n×$h×$w, $cin→$cout, $k×$k stride $stride', async (c) => {
    expect(await compare(c)).toBeLessThan(1e-5);
  });
});
