// The fused kernels against the unfused path they replace, both on webgpu: nn's BatchNorm2d (with and without
// its ReLU), residual's block, the trainer's SGD, and the dispatches a training step saves.
import { BatchNorm2d, init, type Module } from '@skipnet/nn';
import { Residual, type ResidualOrdering } from '@skipnet/residual';
import { seedResNet } from '@skipnet/resnet';
import { relativeMaxError, webgpuForTests } from '@skipnet/test-support';
import { SGD, type SGDOptions, trainStep } from '@skipnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { countDispatches } from '../dispatches.ts';
import { registerWebGPUTrainingKernels } from '../register-kernels.ts';
import { setupWebGPU } from '../setup.node.ts';

const { info, skipReason } = await webgpuForTests(setupWebGPU);

/** Runs `compute` with the fused kernels registered or not and reads what it returns; checks for leaks. */
async function run(fused: boolean, compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  expect(await tf.setBackend('webgpu')).toBe(true);
  registerWebGPUTrainingKernels({ fused });
  const before = tf.memory().numTensors;
  const tensors = compute();
  const values = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(tensors);
  expect(tf.memory().numTensors).toBe(before);
  return values;
}

/** Both paths' results, pairwise within `tolerance` (max |fused − unfused| / max |unfused|), named for failures. */
async function expectSame(names: string[], compute: () => tf.Tensor[], tolerance: number): Promise<void> {
  const unfused = await run(false, compute);
  const fused = await run(true, compute);
  expect(fused.length).toBe(names.length);
  names.forEach((name, i) => {
    expect(relativeMaxError(fused[i]!, unfused[i]!), name).toBeLessThan(tolerance);
  });
}

/** The output and the gradients of sum(output · g) for the input and every parameter, from one forward. */
function outputAndGradients(module: Module, x: tf.Tensor, forward: (x: tf.Tensor) => tf.Tensor): tf.Tensor[] {
  const input = tf.variable(x, true);
  const params = module.namedParameters().map(([, v]) => v);
  let y: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = forward(input);
    y = tf.keep(out);
    const g = tf.randomNormal(out.shape, 0, 1, 'float32', 99);
    return tf.sum(tf.mul(out, g));
  }, [input, ...params]);
  const results = [y!, grads[input.name]!, ...params.map((p) => grads[p.name]!)];
  value.dispose();
  input.dispose();
  return results;
}

describe.skipIf(!info)(`fused kernels on webgpu${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  afterAll(() => registerWebGPUTrainingKernels({ fused: true }));

  it.each([
    { channels: 1, affine: true, relu: false },
    { channels: 3, affine: true, relu: true },
    { channels: 11, affine: false, relu: true },
    { channels: 20, affine: true, relu: true },
    { channels: 20, affine: false, relu: false },
  ])(
    'BatchNorm2d, $channels channels, affine $affine, relu $relu: output, gradients, running statistics',
    async ({ channels, affine, relu }) => {
      const names = ['y', 'dx', ...(affine ? ['dweight', 'dbias'] : []), 'running mean', 'running var'];
      await expectSame(
        names,
        () => {
          const bn = new BatchNorm2d({ numFeatures: channels, affine, momentum: 0.3 });
          tf.tidy(() => {
            bn.weight?.assign(tf.randomNormal([channels], 1, 0.5, 'float32', 3));
            bn.bias?.assign(tf.randomNormal([channels], 0, 0.5, 'float32', 4));
          });
          const x = tf.randomNormal([2, 3, 5, channels], 0.5, 2, 'float32', 5);
          const results = outputAndGradients(bn, x, (input) =>
            relu ? bn.forwardRelu(input) : bn.forward(input),
          );
          results.push(tf.clone(bn.runningMean), tf.clone(bn.runningVar));
          expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
          bn.dispose();
          x.dispose();
          return results;
        },
        1e-5,
      );
    },
  );

  it.each([
    { ordering: 'seed', stride: 2 },
    { ordering: 'torchvision', stride: 1 },
  ] as Array<{ ordering: ResidualOrdering; stride: number }>)(
    'the residual block ($ordering, stride $stride): output and every gradient',
    async ({ ordering, stride }) => {
      const channels = stride === 1 ? 4 : 3;
      const names = ['y', 'dx'];
      await expectSame(
        names.concat(
          new Residual({ inChannels: channels, outChannels: 4, stride, ordering })
            .namedParameters()
            .map(([name]) => name),
        ),
        () => {
          const block = new Residual({ inChannels: channels, outChannels: 4, stride, ordering });
          init.resetParameters(block, { seed: 1 });
          init.xavierInit(block, { seed: 1 });
          const x = tf.randomNormal([2, 6, 6, channels], 0, 1, 'float32', 6);
          const results = outputAndGradients(block, x, (input) => block.forward(input));
          block.dispose();
          x.dispose();
          return results;
        },
        1e-4,
      );
    },
  );

  it.each([
    { lr: 0.1 },
    { lr: 0.1, momentum: 0.9 },
    { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.5, dampening: 0.2, weightDecay: 0.1 },
  ] as SGDOptions[])(
    'SGD %o: three steps (a guarded-off one between), parameters and buffers',
    async (options) => {
      const names = ['w', 'b', ...(options.momentum ? ['w buffer', 'b buffer'] : [])];
      await expectSame(
        names,
        () => {
          const [w, b] = tf.tidy(() => [
            tf.variable(tf.randomNormal([3, 4], 0, 1, 'float32', 7), true, 'sgd-test-w'),
            tf.variable(tf.randomNormal([4], 0, 1, 'float32', 8), true, 'sgd-test-b'),
          ]) as [tf.Variable, tf.Variable];
          const sgd = new SGD(
            [
              ['w', w],
              ['b', b],
            ],
            options,
          );
          const guards = [tf.scalar(true, 'bool'), tf.scalar(false, 'bool'), undefined];
          guards.forEach((guard, i) => {
            const grads = {
              [w.name]: tf.randomNormal([3, 4], 0, 1, 'float32', 10 + i),
              [b.name]: tf.randomNormal([4], 0, 1, 'float32', 20 + i),
            };
            sgd.step(grads, guard as tf.Scalar | undefined);
            tf.dispose([...Object.values(grads), ...(guard ? [guard] : [])]);
          });
          const state = sgd.stateDict();
          const results = [
            tf.clone(w),
            tf.clone(b),
            ...(options.momentum
              ? [state.tensors['w.momentum_buffer']!, state.tensors['b.momentum_buffer']!]
              : []),
          ];
          if (!options.momentum) tf.dispose(Object.values(state.tensors));
          sgd.dispose();
          tf.dispose([w, b]);
          return results;
        },
        1e-6,
      );
    },
  );

  it('halves the dispatches of a seed ResNet training step at least', async () => {
    const dispatches = async (fused: boolean) => {
      expect(await tf.setBackend('webgpu')).toBe(true);
      registerWebGPUTrainingKernels({ fused });
      const model = seedResNet({ widths: [4, 8, 8, 8], head: 'global' });
      const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
      const y = tf.tensor1d([3, 7], 'int32');
      await trainStep(model, optimizer, x, y); // compiles the shaders
      const { dispatches } = await countDispatches(() => trainStep(model, optimizer, x, y));
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
      return dispatches;
    };
    const unfused = await dispatches(false);
    const fused = await dispatches(true);
    console.log(`seed ResNet training step on webgpu: ${unfused} dispatches unfused, ${fused} fused`);
    expect(fused).toBeLessThanOrEqual(unfused / 2);
  });
});
