import {
  type BatchNormApplyAttrs,
  type BatchNormGradAttrs,
  FusedKernel,
  fusedKernelsRegistered,
  type RunningAverageAttrs,
} from '@skipnet/kernel-internals';
import * as tf from '@tensorflow/tfjs-core';

const SPATIAL_AXES = [0, 1, 2];

/** The running statistics a training step updates, with PyTorch's momentum. */
export interface RunningStatistics {
  mean: tf.Variable;
  /** The unbiased variance. */
  variance: tf.Variable;
  /** `num_batches_tracked` (int32). */
  batches: tf.Variable;
  /** running = (1 - momentum) * running + momentum * batch. */
  momentum: number;
}

const FUSED_KERNELS = [
  FusedKernel.BatchNormStatistics,
  FusedKernel.BatchNormApply,
  FusedKernel.RunningAverage,
  FusedKernel.BatchNormGradSums,
  FusedKernel.BatchNormGradInput,
];

/**
 * Training-mode batch normalisation of NHWC `x` over N, H, W with the batch mean and biased
 * variance, `y = (x - mean) / sqrt(variance + eps) * weight + bias` (then ReLU when `relu`), and a
 * hand-written gradient. `running` (when given) takes the batch statistics, the variance unbiased.
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
 * Where the active backend registers skipnet's fused BatchNorm kernels (`@skipnet/webgpu` does: there every
 * op is a GPU dispatch), the same maths runs as one reduction and one elementwise pass each way, ReLU and its
 * gradient included; other backends run the ops above, then `tf.relu`, exactly as without them.
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
  running: RunningStatistics | null,
  relu = false,
): tf.Tensor4D {
  if (fusedKernelsRegistered(...FUSED_KERNELS)) {
    return fusedBatchNormTraining(x, weight, bias, eps, running, relu);
  }
  if (!relu) return composedBatchNormTraining(x, weight, bias, eps, running);
  return tf.tidy(() => tf.relu(composedBatchNormTraining(x, weight, bias, eps, running)));
}

function composedBatchNormTraining(
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
  running: RunningStatistics | null,
): tf.Tensor4D {
  const count = x.size / x.shape[3];
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor4D;
    const mean = tf.mean<tf.Tensor1D>(input, SPATIAL_AXES);
    const centred = tf.sub<tf.Tensor4D>(input, mean);
    const variance = tf.mean<tf.Tensor1D>(tf.square(centred), SPATIAL_AXES);
    if (running) updateRunningStatistics(running, mean, variance, count);
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

/**
 * PyTorch's update, the variance unbiased. Assigns in its own tidy, so the temporaries go at once. It runs inside
 * the forward of the custom gradient, which the gradient tape does not record.
 */
function updateRunningStatistics(
  running: RunningStatistics,
  mean: tf.Tensor,
  variance: tf.Tensor,
  count: number,
): void {
  tf.tidy(() => {
    const m = running.momentum;
    const unbiased = tf.mul(variance, count / (count - 1));
    running.mean.assign(tf.add(tf.mul(running.mean, 1 - m), tf.mul(mean, m)));
    running.variance.assign(tf.add(tf.mul(running.variance, 1 - m), tf.mul(unbiased, m)));
    running.batches.assign(tf.add(running.batches, tf.scalar(1, 'int32')));
  });
}

function runFused<T extends tf.Tensor>(name: string, inputs: tf.NamedTensorMap, attrs: object = {}): T {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as T;
}

/** The same maths as the composed path in fused kernels (see `FusedKernel` for what each computes). */
function fusedBatchNormTraining(
  x: tf.Tensor4D,
  weight: tf.Tensor1D | null,
  bias: tf.Tensor1D | null,
  eps: number,
  running: RunningStatistics | null,
  relu: boolean,
): tf.Tensor4D {
  const count = x.size / x.shape[3];
  const channels = x.shape[3];
  const affine = (inputs: tf.NamedTensorMap): tf.NamedTensorMap => ({
    ...inputs,
    ...(weight ? { weight } : {}),
    ...(bias ? { bias } : {}),
  });
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor4D;
    const stats = runFused<tf.Tensor2D>(FusedKernel.BatchNormStatistics, { x: input });
    if (running) {
      tf.tidy(() => {
        const average = (variable: tf.Variable, attrs: RunningAverageAttrs) =>
          variable.assign(runFused(FusedKernel.RunningAverage, { running: variable, stats }, attrs));
        average(running.mean, { row: 0, momentum: running.momentum, factor: 1 });
        average(running.variance, { row: 1, momentum: running.momentum, factor: count / (count - 1) });
        running.batches.assign(tf.add(running.batches, tf.scalar(1, 'int32')));
      });
    }
    const attrs: BatchNormApplyAttrs = { eps, relu };
    const value = runFused<tf.Tensor4D>(FusedKernel.BatchNormApply, affine({ x: input, stats }), attrs);
    // With relu the output's sign masks the gradient.
    save(relu ? [input, stats, value] : [input, stats]);
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] =>
      tf.tidy(() => {
        const [xs, st, y] = saved as [tf.Tensor4D, tf.Tensor2D, tf.Tensor4D | undefined];
        const gradAttrs: BatchNormGradAttrs = { eps, relu };
        const masked = { dy, x: xs, stats: st, ...(y ? { y } : {}) };
        const sums = runFused<tf.Tensor2D>(FusedKernel.BatchNormGradSums, masked, gradAttrs);
        const grads: tf.Tensor[] = [
          runFused(FusedKernel.BatchNormGradInput, affine({ ...masked, sums }), gradAttrs),
        ];
        const row = (r: number) => tf.reshape(tf.slice(sums, [r, 0], [1, channels]), [channels]);
        if (weight) grads.push(row(1));
        if (bias) grads.push(row(0));
        return grads;
      });
    return { value, gradFunc };
  });
  const inputs = [x, weight, bias].filter((t): t is tf.Tensor4D | tf.Tensor1D => t !== null);
  return normalise(...inputs) as tf.Tensor4D;
}
