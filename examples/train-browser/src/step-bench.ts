// One SGD step of the seed ResNet, timed: the same code in a page (bench.html) and in Node (bench/), so that the
// two are measured on the same machine in the same run.
import { seedResNet } from '@skipnet/resnet';
import { SGD, trainStep } from '@skipnet/trainer';
import * as tf from '@tensorflow/tfjs-core';

export interface StepBench {
  batch: number;
  /** Timed steps, after one untimed warm-up step. */
  stepsMs: number[];
  medianMs: number;
  imagesPerSec: number;
}

/** Times `steps` SGD steps (lr 0.01) of the full-width seed ResNet at 96×96 on the active backend. */
export async function timeSeedSteps(batch = 64, steps = 5): Promise<StepBench> {
  const model = seedResNet();
  model.train();
  const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
  const x = tf.randomNormal([batch, 96, 96, 3], 0, 1, 'float32', 1);
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'int32',
  );
  const stepsMs: number[] = [];
  try {
    for (let i = 0; i <= steps; i++) {
      const started = performance.now();
      await trainStep(model, optimizer, x, y);
      if (i > 0) stepsMs.push(performance.now() - started);
    }
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
  const sorted = [...stepsMs].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)]!;
  return { batch, stepsMs, medianMs, imagesPerSec: (batch * 1000) / medianMs };
}
