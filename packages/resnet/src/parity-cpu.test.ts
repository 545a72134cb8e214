// Parity with PyTorch 1.13 on the cpu backend, against the shared fixtures made by
// shared/reference/make_fixtures.py from the seed's own model code (see shared/fixtures/README.md).
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingKernels } from '@skipnet/cpu-kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFullParity, checkNarrowParity } from './parity-checks.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTrainingKernels(); // the cpu filter gradient without its per-element loop
});

describe('seed ResNet matches PyTorch on the cpu backend', () => {
  it('narrow (8-16-32-64): logits, loss, every gradient, the state after one SGD step, three losses', async () => {
    await checkNarrowParity();
  });

  it('full width (64-128-256-512, 11M parameters): logits, loss, four gradients', async () => {
    await checkFullParity();
  });
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(0);
});
