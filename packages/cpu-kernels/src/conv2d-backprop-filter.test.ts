// Imported here, not in the test that uses it: loading nn's sources takes over a minute on a loaded machine, which
// counted against that test's timeout.
import { Conv2d } from '@skipnet/nn';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import { registerTrainingKernels } from './index.ts';

const stock = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')!.kernelFunc;

beforeAll(async () => {
  await tf.setBackend('cpu');
});
failOnLeakedTensors(tf);

type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];

/** The filter gradient of tf.conv2d(x, w, strides, pad) for `dy`, through the registered kernel. */
function filterGradient(
  x: tf.Tensor,
  dy: tf.Tensor,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: Pad,
  dataFormat: 'NHWC' | 'NCHW' = 'NHWC',
): Float32Array {
  // The op is not exported by tfjs-core; tfjs-core's conv2d gradient runs the kernel the same way.
  const attrs = { strides, pad, dataFormat, filterShape };
  const out = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never) as tf.Tensor;
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

function useStock(): void {
  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'cpu', kernelFunc: stock });
}

describe('Conv2DBackpropFilter on cpu', () => {
  it('gives the stock kernel’s bits over random shapes, strides and paddings', () => {
    const config = fc.record({
      batch: fc.integer({ min: 1, max: 3 }),
      size: fc.integer({ min: 1, max: 9 }),
      inChannels: fc.integer({ min: 1, max: 5 }),
      outChannels: fc.integer({ min: 1, max: 5 }),
      kernel: fc.constantFrom(1, 2, 3, 5),
      strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
      pad: fc.oneof(
        fc.constantFrom<'valid' | 'same'>('valid', 'same'),
        fc.integer({ min: 0, max: 2 }),
        fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(
          ([t, b, l, r]) =>
            [
              [0, 0],
              [t, b],
              [l, r],
              [0, 0],
            ] as [[0, 0], [number, number], [number, number], [0, 0]],
        ),
      ),
      seed: fc.nat(),
      zeros: fc.boolean(),
    });
    const cases: Float32Array[] = [];
    fc.assert(
      fc.property(config, ({ batch, size, inChannels, outChannels, kernel, strides, pad, seed, zeros }) => {
        const filterShape: [number, number, number, number] = [kernel, kernel, inChannels, outChannels];
        const info = (() => {
          try {
            return tf.backend_util.computeConv2DInfo(
              [batch, size, size, inChannels],
              filterShape,
              strides,
              1,
              pad,
            );
          } catch {
            return undefined; // a window larger than the padded input: no convolution to differentiate
          }
        })();
        if (!info || info.outHeight < 1 || info.outWidth < 1) return;
        // ReLU-like zeros in x, as in a conv net.
        const raw = tf.randomNormal([batch, size, size, inChannels], 0, 1, 'float32', seed);
        const x = zeros ? tf.relu(raw) : raw;
        const dy = tf.randomNormal(info.outShape, 0, 1, 'float32', seed + 1);
        useStock();
        const expected = filterGradient(x, dy, filterShape, strides, pad);
        registerTrainingKernels();
        const got = filterGradient(x, dy, filterShape, strides, pad);
        tf.dispose([raw, x, dy]);
        cases.push(got);
        expect(got).toEqual(expected);
      }),
      { numRuns: 150 },
    );
    expect(cases.length).toBeGreaterThan(100);
  });

  it('propagates NaN and infinity from dy as the stock kernel does', () => {
    const x = tf.tensor4d([0, 1, 0, 2], [1, 2, 2, 1]);
    const dy = tf.tensor4d([Number.NaN, 1, Number.POSITIVE_INFINITY, 1], [1, 2, 2, 1]);
    registerTrainingKernels();
    const fast = filterGradient(x, dy, [1, 1, 1, 1], [1, 1], 'valid');
    expect(Array.from(fast)).toEqual([Number.NaN]); // 0·NaN is NaN, as in the stock sum
    tf.dispose([x, dy]);
  });

  it('is idempotent, keeps the stock kernel for NCHW, and is the one @skipnet/nn does not warn about', () => {
    registerTrainingKernels();
    const registered = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')!.kernelFunc;
    registerTrainingKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')!.kernelFunc).toBe(registered);
    expect(registered).not.toBe(stock);

    const x = tf.randomNormal([2, 3, 5, 5], 0, 1, 'float32', 3); // NCHW
    const dy = tf.randomNormal([2, 4, 3, 3], 0, 1, 'float32', 4);
    const nchw = filterGradient(x, dy, [3, 3, 3, 4], [1, 1], 'valid', 'NCHW');
    useStock();
    expect(nchw).toEqual(filterGradient(x, dy, [3, 3, 3, 4], [1, 1], 'valid', 'NCHW'));
    tf.dispose([x, dy]);

    // A conv net's training step on cpu: nn warns once with the stock kernel, never with this one.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // tfjs itself suggests tfjs-node in Node; count nn's.
    const fromNn = () =>
      warn.mock.calls.map(([message]) => String(message)).filter((m) => m.includes('@skipnet/nn'));
    const conv = new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, seed: 1 });
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.sum(conv.forward(tf.ones([1, 4, 4, 1]))));
        return Object.keys(grads).length;
      });
    registerTrainingKernels();
    expect(step()).toBe(2);
    expect(fromNn()).toEqual([]);
    useStock();
    step();
    expect(fromNn()).toHaveLength(1);
    expect(fromNn()[0]).toMatch(/@skipnet\/cpu-kernels/);
    warn.mockRestore();
    conv.dispose();
  });
});
