import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerTrainingKernels } from '@skipnet/cpu-kernels';
import { readSafetensors } from '@skipnet/nn';
import { seedResNet } from '@skipnet/resnet';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SGD } from './optim.ts';
import { trainStep } from './step.ts';

// ../shared/fixtures beside the repository (see its README): the seed's PyTorch code at widths 8-16-32-64,
// three torch.optim.SGD(lr=0.01) steps on one batch of 4 images of 96×96.
const FIXTURES = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/seed-resnet-narrow',
);
const read = (file: string) => readSafetensors(new Uint8Array(readFileSync(join(FIXTURES, file))));

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
      expect(Math.abs(l - reference[i]!), `step ${i + 1}: ${l} vs ${reference[i]}`).toBeLessThan(1e-3);
    });
    // the first step's result, parameters and running statistics: ‖a − b‖/‖b‖ ≤ 1e-3 (fixtures README)
    for (const [name, t] of Object.entries(afterOne)) {
      const ref = io[`after.${name}`]!;
      const a = await t.data();
      const b = await ref.data();
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < b.length; i++) {
        diff += (Number(a[i]) - Number(b[i])) ** 2;
        norm += Number(b[i]) ** 2;
      }
      expect(Math.sqrt(diff / Math.max(norm, 1e-30)), name).toBeLessThan(1e-3);
    }
    tf.dispose([x, ...Object.values(io), ...Object.values(weights), ...Object.values(afterOne)]);
    optimizer.dispose();
    model.dispose();
  });
});
