// Parity with PyTorch 1.13 on the wasm backend (tfjs-backend-wasm 4.22 plus the training kernels
// it lacks, from @skipnet/wasm-kernels), against the same shared fixtures as parity-cpu.test.ts.
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '@skipnet/wasm-kernels';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFullParity, checkNarrowParity } from './parity-checks.js';

beforeAll(async () => {
  registerTrainingKernels();
  await tf.setBackend('wasm');
});

describe('seed ResNet matches PyTorch on the wasm backend', () => {
  it('narrow (8-16-32-64): logits, loss, every gradient, the state after one SGD step, three losses', () => {
    checkNarrowParity('wasm narrow');
  });

  it('full width (64-128-256-512, 11M parameters): logits, loss, classifier and block5 gradients', () => {
    checkFullParity('wasm full', ['classifier.weight', 'block5.1.conv2.weight']);
  });

  // One pre-activation of block4.1 (bn2's output, 1 of 18,432 values) lies within 1e-4 of ReLU's
  // kink: wasm's rounding (forward within 1e-6 of cpu) puts it on the other side, so ReLU passes
  // one gradient element that PyTorch and cpu stop. That moves every gradient below block5 by
  // ~5e-3 (measured 4.8e-3 and 4.2e-3); each kernel and block alone agrees with cpu to 1e-6. So
  // these two are held to 1e-2 here, which still catches any real error in the backward pass.
  it('full width gradients below block5 (block1.0.weight, block3.0.conv3.weight) within 1e-2: a ReLU kink crossing', () => {
    checkFullParity('wasm full (below block5)', ['block1.0.weight', 'block3.0.conv3.weight'], 1e-2);
  });
});

afterAll(() => {
  expect(tf.memory().numTensors).toBe(0);
});
