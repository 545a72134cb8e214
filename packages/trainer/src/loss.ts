import * as tf from '@tensorflow/tfjs-core';

function checkShapes(logits: tf.Tensor, labels: tf.Tensor): void {
  if (logits.rank !== 2) {
    throw new Error(`cross-entropy: logits must be [batch, classes], got shape [${logits.shape}]`);
  }
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(
      `cross-entropy: labels must be [batch] = [${logits.shape[0]}] to match the logits, got shape [${labels.shape}]`,
    );
  }
  if (labels.dtype !== 'int32') {
    throw new Error(
      `cross-entropy: labels must be int32 class indices, got ${labels.dtype}; cast them first`,
    );
  }
}

/**
 * PyTorch's `F.cross_entropy(logits, labels)` with mean reduction: the mean over the batch of
 * `logsumexp(logits) - logits[label]`, computed stably (the row maximum is subtracted before `exp`).
 * Its gradient is written out, `(softmax(logits) - onehot(labels)) / batch`, so backprop costs one softmax
 * and never sees the `exp` of a large logit.
 *
 * @param logits float32 `[batch, classes]`
 * @param labels int32 `[batch]`, each in `[0, classes)`
 */
export function softmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  checkShapes(logits, labels);
  const classes = logits.shape[1]!;
  const batch = logits.shape[0]!;
  // int32 one-hot then a cast: tfjs-backend-wasm 4.22's OneHot ignores the dtype argument and writes int32 bits.
  const onehot = tf.tidy(() => tf.cast(tf.oneHot(labels as tf.Tensor1D, classes), 'float32'));
  const loss = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [z, target, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const logSoftmax = tf.logSoftmax(z as tf.Tensor2D, 1);
    save([logSoftmax, target]);
    const value = tf.div(tf.neg(tf.sum(tf.mul(logSoftmax, target))), batch) as tf.Scalar;
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedLogSoftmax, savedTarget] = saved as [tf.Tensor, tf.Tensor];
      const scale = tf.div(dy, batch);
      return [tf.mul(tf.sub(tf.exp(savedLogSoftmax), savedTarget), scale), tf.zerosLike(savedTarget)];
    };
    return { value, gradFunc };
  })(logits, onehot) as tf.Scalar;
  onehot.dispose();
  return loss;
}

/** How many rows of `logits` have their argmax (first one on ties, like PyTorch) equal to the label; an int32 scalar. */
export function countCorrect(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  checkShapes(logits, labels);
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32')));
}
