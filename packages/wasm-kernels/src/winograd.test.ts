import '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels } from './index.ts';
import { setConvolutionMethods } from './kernels/methods.ts';
import { availableKernelBuilds, type Pad, pads, randomValues as random } from './test-util.ts';
import { type KernelBuild, kernelBuild, setKernelBuild } from './wasm-module.ts';

interface Case {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  pad: Pad;
  seed: number;
}

interface Grads {
  dx: Float32Array;
  dw: Float32Array;
}

/** The gradients of Σ conv2d(x, w) ⊙ r (3×3, stride 1), on the current backend. */
function convGrads(
  c: Case,
  x: Float32Array,
  w: Float32Array,
  r: Float32Array,
  oh: number,
  ow: number,
): Grads {
  return tf.tidy(() => {
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, c.pad), tf.tensor(r, [c.n, oh, ow, c.cout])),
      );
    const [dx, dw] = tf.grads(f)([
      tf.tensor4d(x, [c.n, c.h, c.w, c.cin]),
      tf.tensor4d(w, [3, 3, c.cin, c.cout]),
    ]);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  });
}

function outSize(c: Case): [number, number] {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.cin], [3, 3, c.cin, c.cout], 1, 1, c.pad);
  return [info.outHeight, info.outWidth];
}

/**
 * Relative errors of Winograd on wasm against a direct convolution: the cpu backend's, or for shapes too large for
 * its filter gradient (a scalar loop) the wasm backend's XNNPACK path, itself checked against cpu in
 * conv-gradients.test.ts.
 */
async function compare(c: Case, reference: 'cpu' | 'xnnpack' = 'cpu'): Promise<{ dx: number; dw: number }> {
  const [oh, ow] = outSize(c);
  const x = random(c.n * c.h * c.w * c.cin, c.seed);
  const w = random(9 * c.cin * c.cout, c.seed + 1);
  const r = random(c.n * oh * ow * c.cout, c.seed + 2);
  let expected: Grads;
  if (reference === 'cpu') {
    await tf.setBackend('cpu');
    expected = convGrads(c, x, w, r, oh, ow);
    await tf.setBackend('wasm');
  } else {
    useWinograd(false);
    expected = convGrads(c, x, w, r, oh, ow);
    useWinograd(true);
  }
  const before = tf.memory().numTensors;
  const actual = convGrads(c, x, w, r, oh, ow);
  expect(tf.memory().numTensors).toBe(before);
  return {
    dx: relativeL2Error(actual.dx, expected.dx),
    dw: relativeL2Error(actual.dw, expected.dw),
  };
}

/** Winograd for both gradients, or the XNNPACK paths (checked against cpu in conv-gradients.test.ts). */
function useWinograd(on: boolean): void {
  setConvolutionMethods(
    on
      ? { inputGradient: 'winograd', filterGradient: 'winograd' }
      : { inputGradient: 'xnnpack', filterGradient: 'dilated' },
  );
}

// Odd sizes, batch 1, channel counts that are not multiples of 4 or of the GEMM's 8-column panels.
const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 13 }),
    w: fc.integer({ min: 1, max: 13 }),
    cin: fc.integer({ min: 1, max: 11 }),
    cout: fc.integer({ min: 1, max: 19 }),
    pad: pads,
    seed: fc.nat(1000),
  })
  .filter((c) => {
    const [oh, ow] = outSize(c);
    return oh > 0 && ow > 0;
  });

// Past one GEMM block: more than 64 tiles, more than 256 input channels (the K blocks of the forward GEMM) or
// more than 256 tiles (those of the filter gradient's), more than 64 input channels (its row blocks).
const large: Case[] = [
  { n: 5, h: 16, w: 15, cin: 9, cout: 13, pad: 'same', seed: 1 },
  { n: 1, h: 6, w: 7, cin: 300, cout: 21, pad: 'same', seed: 2 },
  { n: 4, h: 36, w: 35, cin: 70, cout: 12, pad: 'valid', seed: 3 },
  { n: 2, h: 23, w: 23, cin: 64, cout: 64, pad: 1, seed: 4 }, // the seed ResNet's block2
];

const available = availableKernelBuilds();

describe.each(available)('conv gradients by Winograd F(4×4, 3×3) on wasm match cpu (%s build)', (build) => {
  let previousBuild: KernelBuild;
  beforeAll(async () => {
    registerTrainingKernels();
    await tf.setBackend('wasm');
    previousBuild = setKernelBuild(build);
    useWinograd(true);
  });
  afterAll(() => {
    setConvolutionMethods({ inputGradient: 'auto', filterGradient: 'auto' });
    setKernelBuild(previousBuild);
  });

  it('random shapes and paddings: input and filter gradients (property)', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const err = await compare(c);
        return err.dx <= 1e-5 && err.dw <= 1e-5;
      }),
      { numRuns: 80 },
    );
  });

  it.each(large)('$n×$h×$w, $cin→$cout channels, pad $pad (against XNNPACK)', async (c) => {
    const err = await compare(c, 'xnnpack');
    expect(err.dx).toBeLessThan(1e-5);
    expect(err.dw).toBeLessThan(1e-5);
  });
});

it('runs where the runtime has relaxed SIMD (V8 12+, Node 22+) with the fused multiply-add build', () => {
  const major = Number(process.versions.node.split('.')[0]);
  expect(kernelBuild()).toBe(major >= 22 ? 'relaxed-simd' : 'simd');
});
