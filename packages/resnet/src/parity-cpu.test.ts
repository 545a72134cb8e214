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

  // CPU-bound in plain JavaScript: 8 s alone on the 2 cores, but 87 s and 141 s inside full `pnpm test` runs at load
  // 14-28 (turbo runs every package's tests at once), past the default 120 s. A timeout for that, not for a hang.
  it('full width (64-128-256-512, 11M parameters): logits, loss, four gradients', async () => {
    await checkFullParity();
  }, 400_000);
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(0);
});
