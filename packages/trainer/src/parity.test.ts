import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingKernels } from '@skipnet/cpu-kernels';
import { seedResNet } from '@skipnet/resnet';
import { PYTORCH_TOLERANCES, readFixtureTensors, relativeL2Error } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SGD } from './optim.ts';
import { trainStep } from './step.ts';

// ../shared/fixtures beside the repository (see its README): the seed's PyTorch code at widths 8-16-32-64,
// three torch.optim.SGD(lr=0.01) steps on one batch of 4 images of 96×96. Tolerances: the fixtures README's.
const read = (file: string) => readFixtureTensors('seed-resnet-narrow', file);

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTrainingKernels(); // the cpu filter gradient without its per-element loop: the same bits, far sooner
});

describe('parity with PyTorch (seed-resnet-narrow fixture, cpu)', () => {
  it('three trainStep calls with SGD(lr=0.01) reproduce losses.3steps within 1e-3, and step 1 the weights after it', async () => {
    const io = read('io.safetensors');
    const weights = read('weights.safetensors');
    const model = seedResNet({ widths: [8, 16, 32, 64] });
    model.loadStateDict(weights);
    model.train();
    const x = tf.transpose(io['x']!, [0, 2, 3, 1]); // NCHW → NHWC
    const y = io['y']!; // int64 in the file, int32 here
    expect(y.dtype).toBe('int32');
    const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
    const losses: number[] = [];
    let afterOne: Record<string, tf.Tensor> = {};
    for (let i = 0; i < 3; i++) {
      losses.push((await trainStep(model, optimizer, x, y)).loss);
      if (i === 0) afterOne = model.stateDict();
    }
    const reference = Array.from(await io['losses.3steps']!.data());
    losses.forEach((l, i) => {
      expect(Math.abs(l - reference[i]!), `step ${i + 1}: ${l} vs ${reference[i]}`).toBeLessThan(
        PYTORCH_TOLERANCES.gradient,
      );
    });
    // the first step's result, parameters and running statistics: ‖a − b‖/‖b‖ (fixtures README)
    for (const [name, t] of Object.entries(afterOne)) {
      const error = relativeL2Error(await t.data(), await io[`after.${name}`]!.data());
      expect(error, name).toBeLessThan(PYTORCH_TOLERANCES.gradient);
    }
    tf.dispose([x, ...Object.values(io), ...Object.values(weights), ...Object.values(afterOne)]);
    optimizer.dispose();
    model.dispose();
  });
});
