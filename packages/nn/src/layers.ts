import * as tf from '@tensorflow/tfjs-core';
import { batchNormTraining } from './batch-norm.ts';
import { BRAND } from './brand.ts';
import { calculateFans, kaimingUniform, ones, type Seeded, uniform, zeros } from './initializers.ts';
import { Module } from './module.ts';

const CONV_TO_TORCH = [3, 2, 0, 1]; // HWIO -> OIHW
const LINEAR_TO_TORCH = [1, 0]; // [in, out] -> [out, in]

type Pair = number | [number, number];

/** A variable whose initial tensor does not outlive it (tf.variable copies it). */
function variable(make: () => tf.Tensor, trainable: boolean): tf.Variable {
  return tf.tidy(() => tf.variable(make(), trainable));
}

function pair(value: Pair): [number, number] {
  return typeof value === 'number' ? [value, value] : value;
}

function shapeText(x: tf.Tensor): string {
  return `[${x.shape.join(', ')}]`;
}

/** PyTorch's `_check_input_dim` for NHWC images, with a hint when the input looks NCHW. */
function checkImage(layer: string, x: tf.Tensor, channels?: number): void {
  if (x.rank !== 4) {
    throw new Error(`${layer} expected a 4D NHWC input [N, H, W, C], got ${x.rank}D input ${shapeText(x)}`);
  }
  if (channels !== undefined && x.shape[3] !== channels) {
    const hint =
      x.shape[1] === channels
        ? ' (the input looks NCHW: transpose it with tf.transpose(x, [0, 2, 3, 1]))'
        : '';
    throw new Error(
      `${layer} expected ${channels} input channels (NHWC, last axis), got ${shapeText(x)}${hint}`,
    );
  }
}

/** Pads height and width of an NHWC tensor by `[ph, pw]` on both sides with `value`. */
function padImage(x: tf.Tensor4D, [ph, pw]: [number, number], value: number): tf.Tensor4D {
  if (ph === 0 && pw === 0) return x;
  return tf.pad(
    x,
    [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ],
    value,
  );
}

/**
 * PyTorch's `reset_parameters` of Conv2d and Linear: kaiming uniform with a = sqrt(5) on the weight, and the bias
 * U(-b, b) with b = 1/sqrt(fanIn). The bias draws from `seed + 1`, so one seed makes both.
 */
function resetAffine(weight: tf.Variable, bias: tf.Variable | null, { seed }: Seeded): void {
  kaimingUniform(weight, { a: Math.sqrt(5), seed });
  if (bias) {
    const bound = 1 / Math.sqrt(calculateFans(weight.shape).fanIn);
    uniform(bias, { low: -bound, high: bound, seed: seed === undefined ? undefined : seed + 1 });
  }
}

function checkWindow(layer: string, x: tf.Tensor, kernel: [number, number], padding: [number, number]): void {
  const [h, w] = [x.shape[1] as number, x.shape[2] as number];
  if (h + 2 * padding[0] < kernel[0] || w + 2 * padding[1] < kernel[1]) {
    throw new Error(
      `${layer}: input ${h}x${w} (padding ${padding[0]}x${padding[1]}) is smaller than the kernel ${kernel[0]}x${kernel[1]}`,
    );
  }
}

/** Arguments of {@link Conv2d}; names and defaults as in `torch.nn.Conv2d`. */
export interface Conv2dArgs {
  inChannels: number;
  outChannels: number;
  /** Square size or [height, width]. */
  kernelSize: Pair;
  /** Default 1. */
  stride?: Pair;
  /** Zeros added on each side, like PyTorch's integer padding (not tfjs 'same'). Default 0. */
  padding?: Pair;
  /** Default true. */
  bias?: boolean;
  /** Seed of the default initialisation (PyTorch's: kaiming uniform with a = sqrt(5)). */
  seed?: number;
}

/**
 * 2-D convolution over NHWC input. `weight` is HWIO inside ([kh, kw, in, out]); the state dict
 * shows it OIHW like PyTorch. Groups and dilation are not supported.
 */
export class Conv2d extends Module {
  static override readonly [BRAND] = '@skipnet/nn:Conv2d';
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(args: Conv2dArgs) {
    super();
    this.inChannels = args.inChannels;
    this.outChannels = args.outChannels;
    this.kernelSize = pair(args.kernelSize);
    this.stride = pair(args.stride ?? 1);
    this.padding = pair(args.padding ?? 0);
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter(
      'weight',
      variable(() => tf.zeros([kh, kw, this.inChannels, this.outChannels]), true),
      { toTorch: CONV_TO_TORCH },
    );
    this.bias = this.registerParameter(
      'bias',
      args.bias === false ? null : variable(() => tf.zeros([this.outChannels]), true),
    );
    this.resetParameters({ seed: args.seed });
  }

  /** PyTorch's default: kaiming uniform (a = sqrt(5)) weight, bias U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  override resetParameters(options: Seeded = {}): void {
    resetAffine(this.weight, this.bias, options);
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    checkImage('Conv2d', x, this.inChannels);
    checkWindow('Conv2d', x, this.kernelSize, this.padding);
    const [ph, pw] = this.padding;
    return tf.tidy(() => {
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ];
      const y = tf.conv2d(x as tf.Tensor4D, this.weight as tf.Tensor4D, this.stride, pad);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

/** Arguments of {@link BatchNorm2d}; names and defaults as in `torch.nn.BatchNorm2d`. */
export interface BatchNorm2dArgs {
  numFeatures: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** PyTorch sense: running = (1 - momentum) * running + momentum * batch. Default 0.1. */
  momentum?: number;
  /** Learnable `weight` (gamma, ones) and `bias` (beta, zeros). Default true. */
  affine?: boolean;
}

/**
 * Batch normalisation over N, H, W of NHWC input, with PyTorch's semantics: training mode
 * normalises with the biased batch variance, stores the unbiased one in `running_var`, and counts
 * `num_batches_tracked` (int32); evaluation mode uses the running statistics.
 */
export class BatchNorm2d extends Module {
  static override readonly [BRAND] = '@skipnet/nn:BatchNorm2d';
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;

  constructor(args: BatchNorm2dArgs) {
    super();
    const c = args.numFeatures;
    this.numFeatures = c;
    this.eps = args.eps ?? 1e-5;
    this.momentum = args.momentum ?? 0.1;
    const affine = args.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? variable(() => tf.ones([c]), true) : null);
    this.bias = this.registerParameter('bias', affine ? variable(() => tf.zeros([c]), true) : null);
    this.runningMean = this.registerBuffer(
      'running_mean',
      variable(() => tf.zeros([c]), false),
    );
    this.runningVar = this.registerBuffer(
      'running_var',
      variable(() => tf.ones([c]), false),
    );
    this.numBatchesTracked = this.registerBuffer(
      'num_batches_tracked',
      variable(() => tf.scalar(0, 'int32'), false),
    );
  }

  /** PyTorch's `reset_parameters`: running mean 0, variance 1, count 0; weight 1, bias 0. Nothing is random. */
  override resetParameters(): void {
    zeros(this.runningMean);
    ones(this.runningVar);
    zeros(this.numBatchesTracked);
    if (this.weight) ones(this.weight);
    if (this.bias) zeros(this.bias);
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    return this.normalise(x, false);
  }

  /**
   * `tf.relu(this.forward(x))`. Where the backend registers skipnet's fused BatchNorm kernels (`@skipnet/webgpu`),
   * training runs the normalisation and the ReLU as one kernel and their gradient as one; elsewhere it is exactly
   * `tf.relu(this.forward(x))`.
   */
  forwardRelu(x: tf.Tensor): tf.Tensor4D {
    return this.normalise(x, true);
  }

  private normalise(x: tf.Tensor, relu: boolean): tf.Tensor4D {
    checkImage('BatchNorm2d', x, this.numFeatures);
    const x4 = x as tf.Tensor4D;
    const scale = (this.weight ?? undefined) as tf.Tensor1D | undefined;
    const offset = (this.bias ?? undefined) as tf.Tensor1D | undefined;
    if (!this.training) {
      return tf.tidy(() => {
        const y = tf.batchNorm4d(
          x4,
          this.runningMean as tf.Tensor1D,
          this.runningVar as tf.Tensor1D,
          offset,
          scale,
          this.eps,
        );
        return relu ? tf.relu(y) : y;
      });
    }
    const count = (x.shape[0] as number) * (x.shape[1] as number) * (x.shape[2] as number);
    if (count < 2) {
      throw new Error(
        `BatchNorm2d expected more than 1 value per channel when training, got input ${shapeText(x)}`,
      );
    }
    const running = {
      mean: this.runningMean,
      variance: this.runningVar,
      batches: this.numBatchesTracked,
      momentum: this.momentum,
    };
    return batchNormTraining(x4, scale ?? null, offset ?? null, this.eps, running, relu);
  }
}

/** Arguments of {@link Linear}; names and defaults as in `torch.nn.Linear`. */
export interface LinearArgs {
  inFeatures: number;
  outFeatures: number;
  /** Default true. */
  bias?: boolean;
  /** Seed of the default initialisation (PyTorch's: kaiming uniform with a = sqrt(5)). */
  seed?: number;
}

/** y = x W + b over [N, in] input. `weight` is [in, out] inside; the state dict shows [out, in] like PyTorch. */
export class Linear extends Module {
  static override readonly [BRAND] = '@skipnet/nn:Linear';
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(args: LinearArgs) {
    super();
    this.inFeatures = args.inFeatures;
    this.outFeatures = args.outFeatures;
    this.weight = this.registerParameter(
      'weight',
      variable(() => tf.zeros([this.inFeatures, this.outFeatures]), true),
      { toTorch: LINEAR_TO_TORCH },
    );
    this.bias = this.registerParameter(
      'bias',
      args.bias === false ? null : variable(() => tf.zeros([this.outFeatures]), true),
    );
    this.resetParameters({ seed: args.seed });
  }

  /** PyTorch's default: kaiming uniform (a = sqrt(5)) weight, bias U(-1/sqrt(in), 1/sqrt(in)). */
  override resetParameters(options: Seeded = {}): void {
    resetAffine(this.weight, this.bias, options);
  }

  forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(`Linear expected input [N, ${this.inFeatures}], got ${shapeText(x)}`);
    }
    return tf.tidy((): tf.Tensor2D => {
      const y: tf.Tensor2D = tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D);
      return this.bias ? tf.add<tf.Tensor2D>(y, this.bias) : y;
    });
  }
}

/** max(x, 0). */
export class ReLU extends Module {
  static override readonly [BRAND] = '@skipnet/nn:ReLU';
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** Arguments of {@link MaxPool2d}; names and defaults as in `torch.nn.MaxPool2d`. */
export interface MaxPool2dArgs {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair;
  /** Padding on each side with -Infinity, like PyTorch (so padding never wins the max). Default 0. */
  padding?: Pair;
}

/** Max pooling over NHWC input with PyTorch's output size (floor mode). */
export class MaxPool2d extends Module {
  static override readonly [BRAND] = '@skipnet/nn:MaxPool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(args: MaxPool2dArgs) {
    super();
    this.kernelSize = pair(args.kernelSize);
    this.stride = pair(args.stride ?? args.kernelSize);
    this.padding = pair(args.padding ?? 0);
    if (this.padding[0] * 2 > this.kernelSize[0] || this.padding[1] * 2 > this.kernelSize[1]) {
      throw new Error('MaxPool2d: padding should be at most half of the kernel size (as PyTorch requires)');
    }
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    checkImage('MaxPool2d', x);
    checkWindow('MaxPool2d', x, this.kernelSize, this.padding);
    return tf.tidy(() =>
      tf.maxPool(
        padImage(x as tf.Tensor4D, this.padding, Number.NEGATIVE_INFINITY),
        this.kernelSize,
        this.stride,
        'valid',
      ),
    );
  }
}

/** Arguments of {@link AvgPool2d}; names and defaults as in `torch.nn.AvgPool2d`. */
export interface AvgPool2dArgs {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair;
  /** Zero padding on each side; the zeros count in the average (PyTorch's count_include_pad=True). Default 0. */
  padding?: Pair;
}

/** Average pooling over NHWC input with PyTorch's output size (floor mode). */
export class AvgPool2d extends Module {
  static override readonly [BRAND] = '@skipnet/nn:AvgPool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(args: AvgPool2dArgs) {
    super();
    this.kernelSize = pair(args.kernelSize);
    this.stride = pair(args.stride ?? args.kernelSize);
    this.padding = pair(args.padding ?? 0);
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    checkImage('AvgPool2d', x);
    checkWindow('AvgPool2d', x, this.kernelSize, this.padding);
    return tf.tidy(() =>
      tf.avgPool(padImage(x as tf.Tensor4D, this.padding, 0), this.kernelSize, this.stride, 'valid'),
    );
  }
}

/** Arguments of {@link AdaptiveAvgPool2d}. */
export interface AdaptiveAvgPool2dArgs {
  /** Output height and width. Default 1 (global average pooling). */
  outputSize?: Pair;
}

/**
 * PyTorch's `AdaptiveAvgPool2d`: averages to a fixed output size whatever the input size. Output
 * size 1 (the default) is global average pooling, [N, H, W, C] -> [N, 1, 1, C]. Other sizes need
 * the input size to be a multiple of them (then the bins are PyTorch's).
 */
export class AdaptiveAvgPool2d extends Module {
  static override readonly [BRAND] = '@skipnet/nn:AdaptiveAvgPool2d';
  readonly outputSize: [number, number];

  constructor(args: AdaptiveAvgPool2dArgs = {}) {
    super();
    this.outputSize = pair(args.outputSize ?? 1);
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    checkImage('AdaptiveAvgPool2d', x);
    const [oh, ow] = this.outputSize;
    const [h, w] = [x.shape[1] as number, x.shape[2] as number];
    if (oh === 1 && ow === 1) {
      return tf.mean(x, [1, 2], true) as tf.Tensor4D;
    }
    if (h % oh !== 0 || w % ow !== 0) {
      throw new Error(`AdaptiveAvgPool2d: input ${h}x${w} is not a multiple of the output size ${oh}x${ow}`);
    }
    return tf.avgPool(x as tf.Tensor4D, [h / oh, w / ow], [h / oh, w / ow], 'valid');
  }
}

/**
 * Flattens all axes but the batch into one, in PyTorch's order (channels first), so a Linear layer
 * after it takes PyTorch weights unchanged: NHWC is transposed to NCHW first when H*W > 1.
 */
export class Flatten extends Module {
  static override readonly [BRAND] = '@skipnet/nn:Flatten';
  forward(x: tf.Tensor): tf.Tensor2D {
    const n = x.shape[0] as number;
    if (x.rank === 4 && (x.shape[1] as number) * (x.shape[2] as number) > 1) {
      return tf.tidy(() => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, -1]) as tf.Tensor2D);
    }
    return tf.reshape(x, [n, -1]) as tf.Tensor2D;
  }
}

/** Runs its children in order; they are named '0', '1', ... like `torch.nn.Sequential`. */
export class Sequential extends Module {
  static override readonly [BRAND] = '@skipnet/nn:Sequential';
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((layer, i) => this.registerModule(String(i), layer));
  }

  /** The child at `index` (negative counts from the end). */
  at(index: number): Module {
    const layer = this.layers.at(index);
    if (!layer) {
      throw new Error(`Sequential has ${this.layers.length} layers, no index ${index}`);
    }
    return layer;
  }

  get length(): number {
    return this.layers.length;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.layers.reduce((y: tf.Tensor, layer) => layer.forward(y), x));
  }
}
