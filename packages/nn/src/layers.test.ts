// Layers against PyTorch 1.13: the numbers in layers.reference.ts come from
// scripts/make-layer-references.py (deterministic inputs, rebuilt here the same way).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnLeakedTensors } from '../../../vitest.leak-check.ts';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
} from './index.ts';
import { reference } from './layers.reference.ts';

/** x[i] = sin(0.37 i + 0.1) in NCHW order, returned NHWC (the script's X). */
function inputNchw(shape: [number, number, number, number]): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + 0.1));
  return tf.tidy(() => tf.transpose(tf.tensor4d(values, shape), [0, 2, 3, 1]));
}

/** w[i] = cos(0.23 i) / 4 in PyTorch's layout (the script's W). */
function torchWeight(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => Math.cos(0.23 * i) / 4),
    shape,
  );
}

function expectClose(actual: tf.Tensor, expected: readonly number[], tolerance = 1e-5): void {
  const got = Array.from(actual.dataSync());
  expect(got.length).toBe(expected.length);
  got.forEach((v, i) => {
    expect(Math.abs(v - (expected[i] as number)), `element ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(
      tolerance * (1 + Math.abs(expected[i] as number)),
    );
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

failOnLeakedTensors(tf);

describe('Conv2d', () => {
  function conv(args: ConstructorParameters<typeof Conv2d>[0], bias?: tf.Tensor): Conv2d {
    const layer = new Conv2d(args);
    const w = torchWeight([
      args.outChannels,
      args.inChannels,
      ...(typeof args.kernelSize === 'number' ? [args.kernelSize, args.kernelSize] : args.kernelSize),
    ]);
    const state: Record<string, tf.Tensor> = { weight: w };
    if (bias) state.bias = bias;
    layer.loadStateDict(state);
    tf.dispose([w, bias]);
    return layer;
  }

  it('stride 2, padding 1, bias: as F.conv2d', () => {
    const bias = tf.tidy(() => tf.add(torchWeight([4]), 0.1));
    const layer = conv({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }, bias);
    const x = inputNchw([2, 3, 5, 5]);
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 3, 3, 4]);
    expectClose(y, reference.conv_s2_p1);
    tf.dispose([x, y]);
    layer.dispose();
  });

  it('no padding, no bias; rectangular stride and padding', () => {
    const layer = conv({ inChannels: 3, outChannels: 4, kernelSize: 3, bias: false });
    expect(layer.bias).toBeNull();
    expect(layer.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const x = inputNchw([2, 3, 5, 5]);
    const y = layer.forward(x);
    expectClose(y, reference.conv_s1_p0_nobias);
    const rect = conv({
      inChannels: 3,
      outChannels: 2,
      kernelSize: [3, 2],
      stride: [2, 1],
      padding: [0, 1],
      bias: false,
    });
    const x2 = inputNchw([1, 3, 6, 7]);
    const y2 = rect.forward(x2);
    expect(y2.shape).toEqual([1, 2, 8, 2]);
    expectClose(y2, reference.conv_rect);
    tf.dispose([x, y, x2, y2]);
    layer.dispose();
    rect.dispose();
  });

  it('keeps HWIO inside and shows OIHW in the state dict', () => {
    const layer = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: [3, 2] });
    expect(layer.weight.shape).toEqual([3, 2, 3, 4]);
    const state = layer.stateDict();
    expect(state.weight?.shape).toEqual([4, 3, 3, 2]);
    const back = tf.tidy(() => tf.transpose(state.weight as tf.Tensor, [2, 3, 1, 0]));
    expect(Array.from(back.dataSync())).toEqual(Array.from(layer.weight.dataSync()));
    tf.dispose([state, back]);
    layer.dispose();
  });

  it('says what it expected when the input is wrong', () => {
    const layer = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 });
    const nchw = tf.zeros([1, 3, 8, 8]);
    expect(() => layer.forward(nchw)).toThrow(/expected 3 input channels.*\[1, 3, 8, 8\].*looks NCHW/);
    const flat = tf.zeros([1, 3]);
    expect(() => layer.forward(flat)).toThrow(/expected a 4D NHWC input.*got 2D/);
    const tiny = tf.zeros([1, 2, 2, 3]);
    expect(() => layer.forward(tiny)).toThrow(/smaller than the kernel 3x3/);
    tf.dispose([nchw, flat, tiny]);
    layer.dispose();
  });

  it('default initialisation is PyTorch’s: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias', () => {
    const layer = new Conv2d({ inChannels: 16, outChannels: 32, kernelSize: 3, seed: 3 });
    const bound = 1 / Math.sqrt(16 * 9);
    for (const v of [layer.weight, layer.bias as tf.Variable]) {
      const values = Array.from(v.dataSync());
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0.8 * bound);
    }
    layer.dispose();
  });
});

describe('BatchNorm2d', () => {
  function bn(): BatchNorm2d {
    const layer = new BatchNorm2d({ numFeatures: 3, eps: 1e-3 });
    const state = {
      weight: tf.tensor1d([1.1, 0.9, 1.3]),
      bias: tf.tensor1d([0.1, -0.2, 0.05]),
      running_mean: tf.tensor1d([0.05, -0.1, 0.2]),
      running_var: tf.tensor1d([0.9, 1.1, 1.3]),
      num_batches_tracked: tf.scalar(0, 'int32'),
    };
    layer.loadStateDict(state);
    tf.dispose(state);
    return layer;
  }

  it('eval mode normalises with the running statistics', () => {
    const layer = bn().eval();
    const x = inputNchw([2, 3, 5, 5]);
    const y = layer.forward(x);
    expectClose(y, reference.bn_eval);
    expect(layer.numBatchesTracked.dataSync()[0]).toBe(0);
    tf.dispose([x, y]);
    layer.dispose();
  });

  it('train mode: biased batch variance, unbiased running_var, momentum 0.1, gradients, inside tf.grad', () => {
    const layer = bn();
    const x = inputNchw([2, 3, 5, 5]);
    const g = tf.tidy(() => tf.transpose(torchWeight([2, 3, 5, 5]), [0, 2, 3, 1]));
    let y: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const out = layer.forward(x);
      y = tf.keep(out);
      return tf.sum(tf.mul(out, g)) as tf.Scalar;
    }, [layer.weight as tf.Variable, layer.bias as tf.Variable]);
    const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.forward(input), g)))(x);
    expectClose(y as tf.Tensor, reference.bn_train);
    expectClose(dx, reference.bn_train_dx, 1e-4);
    expectClose(grads[(layer.weight as tf.Variable).name] as tf.Tensor, reference.bn_train_dweight, 1e-4);
    expectClose(grads[(layer.bias as tf.Variable).name] as tf.Tensor, reference.bn_train_dbias, 1e-4);
    // Two train-mode forwards ran (variableGrads, grad): the reference made one; the second adds the same batch again.
    const m = reference.bn_running_mean;
    const once = [0.05, -0.1, 0.2].map((r0, i) => ((m[i] as number) - 0.9 * r0) / 0.1);
    expectClose(
      layer.runningMean,
      once.map((batch, i) => 0.9 * (m[i] as number) + 0.1 * batch),
    );
    expect(layer.numBatchesTracked.dtype).toBe('int32');
    expect(layer.numBatchesTracked.dataSync()[0]).toBe(2 * reference.bn_num_batches_tracked);
    tf.dispose([x, g, y, dx, value, grads]);
    layer.dispose();
  });

  it('one train forward updates running stats exactly as PyTorch', () => {
    const layer = bn();
    const x = inputNchw([2, 3, 5, 5]);
    tf.dispose(layer.forward(x));
    expectClose(layer.runningMean, reference.bn_running_mean);
    expectClose(layer.runningVar, reference.bn_running_var);
    expect(layer.numBatchesTracked.dataSync()[0]).toBe(reference.bn_num_batches_tracked);
    x.dispose();
    layer.dispose();
  });

  it('checks its input like _check_input_dim', () => {
    const layer = new BatchNorm2d({ numFeatures: 3 });
    const wrong = tf.zeros([2, 4, 4, 5]);
    expect(() => layer.forward(wrong)).toThrow(/expected 3 input channels/);
    const single = tf.zeros([1, 1, 1, 3]);
    expect(() => layer.forward(single)).toThrow(/more than 1 value per channel/);
    tf.dispose([wrong, single]);
    layer.dispose();
  });
});

describe('pooling, Flatten, Linear, ReLU', () => {
  function gradOf(
    layer: { forward(x: tf.Tensor): tf.Tensor },
    x: tf.Tensor,
    gShapeNchw: number[],
  ): tf.Tensor {
    return tf.tidy(() => {
      const g = tf.transpose(torchWeight(gShapeNchw), [0, 2, 3, 1]);
      return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.forward(input), g)))(x);
    });
  }

  it('MaxPool2d(3, 2, 1) pads with -Infinity, forward and gradient', () => {
    const layer = new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
    const x = inputNchw([2, 3, 5, 5]);
    const y = layer.forward(x);
    expectClose(y, reference.maxpool_3_2_1);
    const dx = gradOf(layer, x, [2, 3, 3, 3]);
    expectClose(dx, reference.maxpool_3_2_1_dx);
    const negative = tf.tidy(() => tf.sub(-1, tf.abs(inputNchw([1, 2, 4, 4]))));
    const yn = layer.forward(negative);
    expectClose(yn, reference.maxpool_negative);
    const plain = inputNchw([1, 2, 5, 5]);
    const y2 = new MaxPool2d({ kernelSize: 2 }).forward(plain);
    expectClose(y2, reference.maxpool_2);
    tf.dispose([x, y, dx, negative, yn, plain, y2]);
  });

  it('AvgPool2d: stride = kernel by default, floor mode, zero padding counted', () => {
    const x = inputNchw([2, 3, 7, 7]);
    const layer = new AvgPool2d({ kernelSize: 3 });
    const y = layer.forward(x);
    expect(y.shape).toEqual([2, 2, 2, 3]);
    expectClose(y, reference.avgpool_3);
    const dx = gradOf(layer, x, [2, 3, 2, 2]);
    expectClose(dx, reference.avgpool_3_dx);
    const x2 = inputNchw([1, 2, 4, 4]);
    const y2 = new AvgPool2d({ kernelSize: 2, stride: 1, padding: 1 }).forward(x2);
    expectClose(y2, reference.avgpool_2_1_1);
    tf.dispose([x, y, dx, x2, y2]);
  });

  it('AdaptiveAvgPool2d(1) and Flatten in PyTorch’s (channel-first) order', () => {
    const x = inputNchw([2, 3, 5, 5]);
    const pooled = new AdaptiveAvgPool2d().forward(x);
    expect(pooled.shape).toEqual([2, 1, 1, 3]);
    expectClose(pooled, reference.adaptive_1);
    const x2 = inputNchw([2, 3, 2, 2]);
    const flat = new Flatten().forward(x2);
    expect(flat.shape).toEqual([2, 12]);
    expectClose(flat, reference.flatten);
    tf.dispose([x, pooled, x2, flat]);
  });

  it('Linear keeps [in, out] inside, loads [out, in]', () => {
    const layer = new Linear({ inFeatures: 6, outFeatures: 4 });
    const state = { weight: torchWeight([4, 6]), bias: tf.tidy(() => tf.sub(torchWeight([4]), 0.1)) };
    layer.loadStateDict(state);
    expect(layer.weight.shape).toEqual([6, 4]);
    const x = tf.tensor2d(
      Float32Array.from({ length: 12 }, (_, i) => Math.sin(0.37 * i + 0.1)),
      [2, 6],
    );
    const y = layer.forward(x);
    expectClose(y, reference.linear);
    const wrong = tf.zeros([2, 5]);
    expect(() => layer.forward(wrong)).toThrow(/Linear expected input \[N, 6\], got \[2, 5\]/);
    tf.dispose([state, x, y, wrong]);
    layer.dispose();
  });

  it('ReLU and Sequential (children 0, 1, ...)', () => {
    const seq = new Sequential(new Linear({ inFeatures: 2, outFeatures: 2 }), new ReLU());
    expect(seq.children().map(([n]) => n)).toEqual(['0', '1']);
    expect(seq.length).toBe(2);
    expect(seq.at(-1)).toBeInstanceOf(ReLU);
    const x = tf.tensor1d([-1, 0, 2]);
    const y = new ReLU().forward(x);
    expect(Array.from(y.dataSync())).toEqual([0, 0, 2]);
    tf.dispose([x, y]);
    seq.dispose();
  });
});
