import type { CifarSplit } from '@skipnet/cifar10';
import * as tf from '@tensorflow/tfjs-core';

/**
 * A whole split as `fit` takes it: images NHWC float32 scaled to [-1, 1] (the seed's normalisation) and labels as
 * float32 class indices (what `sparseCategoricalCrossentropy` expects). The caller disposes both.
 */
export async function wholeSplit(split: CifarSplit): Promise<{ x: tf.Tensor4D; y: tf.Tensor1D }> {
  for await (const { x, y } of split.batches({
    batchSize: split.length,
    normalize: { mean: 0.5, std: 0.5 },
  })) {
    const labels = tf.cast(y, 'float32');
    y.dispose();
    return { x, y: labels };
  }
  throw new Error(`the ${split.name} split is empty`);
}
