import * as tf from '@tensorflow/tfjs-core';

/** The non-linearity a gain is computed for, as in `torch.nn.init.calculate_gain`. */
export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

/** Seeds a draw; without one, each call draws differently. */
export interface Seeded {
  seed?: number;
}

/**
 * Fan-in and fan-out of a weight in skipnet's internal layouts: conv HWIO [kh, kw, in, out] and
 * linear [in, out]. Equal to PyTorch's `_calculate_fan_in_and_fan_out` on the OIHW / [out, in] forms.
 */
export function calculateFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new Error(
      `Fan in and fan out need a weight of at least 2 dimensions, got shape [${shape.join(', ')}]`,
    );
  }
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return {
    fanIn: (shape.at(-2) as number) * receptive,
    fanOut: (shape.at(-1) as number) * receptive,
  };
}

/** `torch.nn.init.calculate_gain`. `param` is the negative slope for leaky_relu (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

function fill(v: tf.Variable, make: () => tf.Tensor): void {
  tf.tidy(() => {
    const value = make();
    v.assign(value.dtype === v.dtype ? value : tf.cast(value, v.dtype));
  });
}

/** Uniform on [low, high) (defaults 0, 1). */
export function uniform(v: tf.Variable, options: { low?: number; high?: number } & Seeded = {}): void {
  fill(v, () => tf.randomUniform(v.shape, options.low ?? 0, options.high ?? 1, 'float32', options.seed));
}

/** Normal with `mean` and `std` (defaults 0, 1). */
export function normal(v: tf.Variable, options: { mean?: number; std?: number } & Seeded = {}): void {
  fill(v, () => tf.randomNormal(v.shape, options.mean ?? 0, options.std ?? 1, 'float32', options.seed));
}

/** Every element `value`. */
export function constant(v: tf.Variable, value: number): void {
  fill(v, () => tf.fill(v.shape, value, v.dtype));
}

export function zeros(v: tf.Variable): void {
  constant(v, 0);
}

export function ones(v: tf.Variable): void {
  constant(v, 1);
}

/** Glorot: U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)); what d2l's `train_ch6` applies to conv and linear weights. */
export function xavierUniform(v: tf.Variable, options: { gain?: number } & Seeded = {}): void {
  const { fanIn, fanOut } = calculateFans(v.shape);
  const bound = (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  uniform(v, { low: -bound, high: bound, seed: options.seed });
}

/** Glorot normal: N(0, std), std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal(v: tf.Variable, options: { gain?: number } & Seeded = {}): void {
  const { fanIn, fanOut } = calculateFans(v.shape);
  normal(v, { std: (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), seed: options.seed });
}

/** Options of the He initialisers, as in `torch.nn.init.kaiming_*_`. */
export interface KaimingOptions extends Seeded {
  /** Negative slope of the leaky ReLU after this layer (used with 'leaky_relu'). Default 0. */
  a?: number;
  /** Keep the variance of the activations ('fanIn', default) or of the gradients ('fanOut'). */
  mode?: 'fanIn' | 'fanOut';
  /** Default 'leaky_relu' (with a = 0 that is ReLU's gain), like PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(v: tf.Variable, options: KaimingOptions): number {
  const fans = calculateFans(v.shape);
  const fan = options.mode === 'fanOut' ? fans.fanOut : fans.fanIn;
  return calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan);
}

/** He normal: N(0, std), std = gain / sqrt(fan). */
export function kaimingNormal(v: tf.Variable, options: KaimingOptions = {}): void {
  normal(v, { std: kaimingStd(v, options), seed: options.seed });
}

/** He uniform: U(-b, b), b = gain * sqrt(3 / fan). With a = sqrt(5) it is PyTorch's default for Conv2d and Linear. */
export function kaimingUniform(v: tf.Variable, options: KaimingOptions = {}): void {
  const bound = Math.sqrt(3) * kaimingStd(v, options);
  uniform(v, { low: -bound, high: bound, seed: options.seed });
}
