import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { formatParity, seedParity } from './parity.ts';

// The same replay the GPU check runs on webgpu (scripts/gpu-check.sh), here on the cpu backend.
const fixtures = resolve(import.meta.dirname, '../../../../shared/fixtures/seed-resnet-narrow');

describe('seedParity', () => {
  it('replays the narrow PyTorch fixture within its tolerances on cpu', async () => {
    if (!existsSync(fixtures))
      throw new Error(`PyTorch fixtures missing at ${fixtures} (../shared beside the repo)`);
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const rows = await seedParity(fixtures, [8, 16, 32, 64]);
    console.log(formatParity(rows).join('\n'));
    expect(rows.map((r) => r.check)).toEqual([
      'logits (eval)',
      'logits (train)',
      'loss',
      'gradients',
      'state after one SGD step',
      'losses of 3 SGD steps',
    ]);
    for (const row of rows) expect(row.maxRelativeError, row.check).toBeLessThanOrEqual(row.tolerance);
    expect(rows.find((r) => r.check === 'gradients')?.tensors).toBe(60);
    expect(tf.memory().numTensors).toBe(before);
  });
});
