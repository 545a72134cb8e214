import { seedResNet } from '@skipnet/resnet';
import {
  fixturePath,
  formatParity,
  replaySeedFixture,
  summarizeParity,
  webgpuForTests,
} from '@skipnet/test-support';
import { registerWebGPUTrainingKernels, setupWebGPU } from '@skipnet/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

// On webgpu: a GPU where there is one, else Mesa's software adapter (CI installs it, see .ci/run). Only a
// machine with neither skips, and says so; under CI=true that is a failure instead.
const { info, skipReason } = await webgpuForTests(setupWebGPU);

describe.skipIf(!info)(
  `the seed fixture replay on webgpu${info ? ` (${info.adapter})` : ` (skipped: ${skipReason})`}`,
  () => {
    it('replays the narrow PyTorch fixture within its tolerances', async () => {
      expect(await tf.setBackend('webgpu')).toBe(true);
      // As the CLI trains: our filter gradient and the fused kernels (BatchNorm + ReLU, add + ReLU, SGD).
      registerWebGPUTrainingKernels();
      const before = tf.memory().numTensors;
      const model = seedResNet({ widths: [8, 16, 32, 64] });
      const report = await replaySeedFixture(fixturePath('seed-resnet-narrow'), model);
      model.dispose();
      const rows = summarizeParity(report.entries);
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
      for (const row of rows) expect(row.ok, `${row.check}: ${row.maxRelativeError}`).toBe(true);
    });
  },
);
