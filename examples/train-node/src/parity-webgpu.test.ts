import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatParity, replaySeedFixture, summarizeParity } from '@skipnet/resnet/parity';
import { setupWebGPU, type WebGPUInfo } from '@skipnet/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

// On webgpu: a GPU where there is one, else Mesa's software adapter (CI installs it, see .ci/run). Only a
// machine with neither skips, and says so; under CI=true that is a failure instead.
const fixtures = resolve(import.meta.dirname, '../../../../shared/fixtures/seed-resnet-narrow');
let info: WebGPUInfo | undefined;
let reason = '';
try {
  info = await setupWebGPU({ allowSoftware: true });
} catch (error) {
  if (process.env['CI'] === 'true') throw error;
  reason = (error as Error).message.split('\n')[0]!;
}

describe.skipIf(!info)(
  `the seed fixture replay on webgpu${info ? ` (${info.adapter})` : ` (skipped: ${reason})`}`,
  () => {
    it('replays the narrow PyTorch fixture within its tolerances', async () => {
      if (!existsSync(fixtures))
        throw new Error(`PyTorch fixtures missing at ${fixtures} (../shared beside the repo)`);
      expect(await tf.setBackend('webgpu')).toBe(true);
      const before = tf.memory().numTensors;
      const rows = summarizeParity((await replaySeedFixture(fixtures, { widths: [8, 16, 32, 64] })).entries);
      console.log(formatParity(rows).join('\n'));
      expect(rows.map((r) => r.check)).toEqual([
        'logits (eval)',
        'logits (train)',
        'loss',
        'gradients',
        'state after one SGD step',
        'losses of 3 SGD steps',
      ]);
      expect(rows.find((r) => r.check === 'gradients')?.tensors).toBe(60);
      expect(tf.memory().numTensors).toBe(before);
      for (const row of rows) expect(row.maxRelativeError, row.check).toBeLessThanOrEqual(row.tolerance);
    });
  },
);
