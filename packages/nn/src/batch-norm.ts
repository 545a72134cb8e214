import * as tf from '@tensorflow/tfjs-core';

const SPATIAL_AXES = [0, 1, 2];

/**
 * Training-mode batch normalisation of NHWC `x` over N, H, W with the batch mean and biased
 * variance, `y = (x - mean) / sqrt(variance + eps) * weight + bias`, and a hand-written gradient.
 *
 * Composed of tfjs ops, autodiff would run about a dozen full-size elementwise kernels per layer
 * (through moments, sub, rsqrt, mul, ...) plus a copy of every tensor it saves. Here the forward
 * runs two reductions and four elementwise passes, and the backward two reductions and five
 * passes, with the closed form (per channel, m = N·H·W, xc = x - mean, s = 1/sqrt(variance + eps),
 * x̂ = xc·s, a = weight·s):
 *   dbias = Σ dy;  dweight = s·Σ dy·xc;  dx = a·dy - xc·(a·s·dweight/m) - a·dbias/m.
 * Only plain binary ops and sums make the passes: FusedBatchNorm would fuse some of them, but on
 * wasm it is a scalar loop, ten times slower than XNNPACK's Mul or Add.
 *
 * `onStatistics` receives the batch mean and biased variance (disposed afterwards) to update
 * running statistics; it runs inside the custom gradient's forward, which is off the gradient tape.
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
  onStatistics: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  const count = x.size / x.shape[3];
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor4D;
    const mean = tf.mean<tf.Tensor1D>(input, SPATIAL_AXES);
    const centred = tf.sub<tf.Tensor4D>(input, mean);
    const variance = tf.mean<tf.Tensor1D>(tf.square(centred), SPATIAL_AXES);
    onStatistics(mean, variance);
    const invStd = tf.rsqrt(tf.add<tf.Tensor1D>(variance, eps));
    const scale = weight ? tf.mul<tf.Tensor1D>(weight, invStd) : invStd;
    const scaled = tf.mul<tf.Tensor4D>(centred, scale);
    const value = bias ? tf.add<tf.Tensor4D>(scaled, bias) : scaled;
    // The centred input, not x̂: x̂'s pass would serve only the backward, where s folds into per-channel factors.
    save([centred, invStd, scale]);
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] =>
      tf.tidy(() => {
        const [xc, s, a] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
        const dBias = tf.sum<tf.Tensor1D>(dy, SPATIAL_AXES);
        const dWeight = tf.mul<tf.Tensor1D>(tf.sum(tf.mul(dy, xc), SPATIAL_AXES), s);
        const minusAOverCount = tf.div<tf.Tensor1D>(a, -count);
        const xcFactor = tf.mul(minusAOverCount, tf.mul(s, dWeight));
        const dx = tf.add<tf.Tensor4D>(
          tf.add(tf.mul(dy, a), tf.mul(xc, xcFactor)),
          tf.mul(minusAOverCount, dBias),
        );
        const grads: tf.Tensor[] = [dx];
        if (weight) grads.push(dWeight);
        if (bias) grads.push(dBias);
        return grads;
      });
    return { value, gradFunc };
  });
  const inputs = [x, weight, bias].filter((t): t is tf.Tensor4D | tf.Tensor1D => t !== null);
  return normalise(...inputs) as tf.Tensor4D;
}
