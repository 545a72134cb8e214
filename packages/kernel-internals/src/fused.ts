import * as tf from '@tensorflow/tfjs-core';

/**
 * Fused kernels: one kernel for a chain of tfjs ops that a training step runs many times. A backend package
 * registers them where a kernel call costs more than its arithmetic (`@skipnet/webgpu`: each op is a GPU dispatch);
 * their callers (nn's BatchNorm2d, residual's block, the trainer's SGD) use them only when the active backend has
 * every one they need, and otherwise run the chain as the plain tfjs ops it stands for, so other backends compute
 * exactly as before.
 *
 * Shapes: x, y, dy are NHWC [N, H, W, C]; `stats` is [2, C] (row 0 the batch mean over N·H·W, row 1 the biased
 * batch variance); `weight` and `bias` are [C] and optional (an affine-free BatchNorm has neither).
 */
export const FusedKernel = {
  /** `{ x }` → `stats`: the mean, then the mean of squared deviations from it (two passes over x). */
  BatchNormStatistics: 'SkipnetBatchNormStatistics',
  /** `{ x, stats, weight?, bias? }`, {@link BatchNormApplyAttrs} → (x − mean)·weight/√(var + eps) + bias, relu'd if asked. */
  BatchNormApply: 'SkipnetBatchNormApply',
  /** `{ running, stats }` [C], [2, C], {@link RunningAverageAttrs} → running·(1 − momentum) + stats[row]·factor·momentum. */
  RunningAverage: 'SkipnetRunningAverage',
  /**
   * `{ dy, x, stats, y? }`, {@link BatchNormGradAttrs} → [2, C]: row 0 Σ g (the bias gradient), row 1
   * Σ g·(x − mean)/√(var + eps) (the weight gradient), sums over N·H·W, where g = dy, or with `relu` dy where the
   * forward's output y > 0 and 0 elsewhere.
   */
  BatchNormGradSums: 'SkipnetBatchNormGradSums',
  /**
   * `{ dy, x, stats, sums, weight?, y? }`, {@link BatchNormGradAttrs} → dx of training-mode BatchNorm (with relu when
   * asked), from the sums above; with m = N·H·W, s = 1/√(var + eps), a = weight·s:
   * dx = a·g − (x − mean)·a·s·sums[1]/m − a·sums[0]/m.
   */
  BatchNormGradInput: 'SkipnetBatchNormGradInput',
  /** `{ a, b }` of one shape → relu(a + b). */
  AddRelu: 'SkipnetAddRelu',
  /** `{ dy, y }` → dy where y > 0, else 0: relu's gradient from its output. */
  ReluGrad: 'SkipnetReluGrad',
  /**
   * `{ param, grad, buffer?, guard? }`, {@link SGDUpdateAttrs} → one output of `torch.optim.SGD`'s step for one
   * parameter. With `output: 'buffer'` (only when momentum ≠ 0), `buffer` is the old momentum buffer (absent on the
   * first step) and the result the new one; with `output: 'param'`, `buffer` is that new buffer (absent without
   * momentum) and the result the new parameter. `guard` (a bool scalar) false leaves the old value: the parameter,
   * the old buffer, or zeros when there was none.
   */
  SGDUpdate: 'SkipnetSGDUpdate',
} as const;

export interface BatchNormApplyAttrs {
  eps: number;
  relu: boolean;
}

export interface BatchNormGradAttrs {
  eps: number;
  /** The forward applied relu: `y`, its output, is an input and masks dy. */
  relu: boolean;
}

export interface RunningAverageAttrs {
  /** Which row of `stats` to average in: 0 the mean, 1 the variance. */
  row: 0 | 1;
  momentum: number;
  /** Multiplies the batch statistic first: m/(m − 1) makes the biased variance unbiased. */
  factor: number;
}

export interface SGDUpdateAttrs {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  output: 'param' | 'buffer';
}

/** True when the active backend has every one of `names`: only then may a caller take its fused path. */
export function fusedKernelsRegistered(...names: string[]): boolean {
  const backend = tf.getBackend();
  return names.every((name) => tf.getKernel(name, backend) !== undefined);
}
