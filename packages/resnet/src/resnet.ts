import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
} from '@skipnet/nn';
import { Residual, type ResidualOrdering } from '@skipnet/residual';
import * as tf from '@tensorflow/tfjs-core';

/** Widths of block2..block5 (the stem has the first). */
export type Widths = [number, number, number, number];

/**
 * The classifier head at the end of block5.
 * - 'seed': AvgPool2d(3) then Flatten, as the seed; needs a final feature map of 3..5 pixels a side.
 * - 'global': global average pooling (PyTorch's AdaptiveAvgPool2d(1)) then Flatten; any input size.
 */
export type ResNetHead = 'seed' | 'global';

/** The stem (block1). 'seed': 7x7 stride 2 conv (with bias), BN eps 1e-3, ReLU, 3/2/1 max-pool. 'cifar': 3x3 stride 1 conv, BN, ReLU. */
export type ResNetStem = 'seed' | 'cifar';

/** Options shared by {@link seedResNet} and {@link cifarResNet}. */
export interface ResNetOptions {
  /** Default 10 (CIFAR-10). */
  numClasses?: number;
  /** Default 3 (RGB). */
  inChannels?: number;
  /** Channels of block2..block5. Default [64, 128, 256, 512]. */
  widths?: Widths;
  /** Residual blocks in block2..block5. Default [2, 2, 2, 2] (the seed's ResNet-18 layout). */
  depths?: [number, number, number, number];
  /** Default 'seed' (ReLU before the add as well as after). See `@skipnet/residual`. */
  ordering?: ResidualOrdering;
}

/** Options of {@link seedResNet}. */
export interface SeedResNetOptions extends ResNetOptions {
  /** Default 'seed'. */
  head?: ResNetHead;
}

/** Everything {@link ResNet} is built from. */
export interface ResNetConfig extends Required<ResNetOptions> {
  stem: ResNetStem;
  head: ResNetHead;
}

/** The options with their defaults filled in. */
export function withDefaults(options: ResNetOptions): Required<ResNetOptions> {
  return {
    numClasses: options.numClasses ?? 10,
    inChannels: options.inChannels ?? 3,
    widths: options.widths ?? [64, 128, 256, 512],
    depths: options.depths ?? [2, 2, 2, 2],
    ordering: options.ordering ?? 'seed',
  };
}

/** The spatial size after block1..block5 (before the head) of an input `size` pixels a side. */
export function finalMapSize(stem: ResNetStem, size: number): number {
  const down = (s: number) => Math.floor((s - 1) / 2) + 1; // 3x3 pad 1 stride 2, and 1x1 stride 2
  let s = size;
  if (stem === 'seed') {
    if (s < 7) return 0;
    s = Math.floor((s - 7) / 2) + 1; // 7x7 stride 2, no padding
    s = down(s); // max-pool 3, stride 2, padding 1
  }
  return down(down(down(s)));
}

function fits(config: ResNetConfig, size: number): boolean {
  const s = finalMapSize(config.stem, size);
  return config.head === 'seed' ? s >= 3 && s < 6 : s >= 1;
}

/** The ranges of input sizes near `size` that the model takes, as text ('81..144'). */
function fittingSizes(config: ResNetConfig, size: number): string {
  const ranges: string[] = [];
  let start: number | null = null;
  const limit = Math.max(2 * size, 256);
  for (let s = 1; s <= limit + 1; s++) {
    const ok = s <= limit && fits(config, s);
    if (ok && start === null) start = s;
    if (!ok && start !== null) {
      ranges.push(start === s - 1 ? `${start}` : `${start}..${s - 1}`);
      start = null;
    }
  }
  return ranges.join(', ');
}

/**
 * Throws a clear error if a model of `config` cannot take NHWC input of `shape`: rank, channels, or a size the head
 * does not fit. Unknown sizes (null, as in a tfjs-layers model's input shape) pass.
 */
export function checkResNetInput(config: ResNetConfig, shape: readonly (number | null)[]): void {
  const { inChannels, stem, head } = config;
  const text = `[${shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
  if (shape.length !== 4 || shape[3] !== inChannels) {
    const hint =
      shape.length === 4 && shape[1] === inChannels
        ? ' (it looks NCHW: transpose it with tf.transpose(x, [0, 2, 3, 1]))'
        : '';
    throw new Error(`ResNet expected NHWC input [N, H, W, ${inChannels}], got ${text}${hint}`);
  }
  for (const [axis, size] of [
    ['height', shape[1]],
    ['width', shape[2]],
  ] as const) {
    if (size === null || size === undefined || fits(config, size)) continue;
    const reason =
      head === 'seed'
        ? `the 'seed' head (AvgPool2d(3)) needs a final feature map of 3..5, and ${size} gives ${finalMapSize(stem, size)}`
        : `it shrinks to nothing (final map ${finalMapSize(stem, size)})`;
    const alternative = head === 'seed' ? "; or use head: 'global' for any size" : '';
    throw new Error(
      `ResNet (stem '${stem}', head '${head}') cannot take input ${axis} ${size}: ${reason}. ` +
        `Sizes that fit: ${fittingSizes(config, size)}${alternative}`,
    );
  }
}

/**
 * The seed's ResNet (d2l style) with PyTorch's module tree, so PyTorch state dicts load as they
 * are: block1 (stem), block2..block5 (Sequentials of {@link Residual}; block5 also holds the
 * pooling and Flatten at indices 2, 3), classifier (Linear).
 */
export class ResNet extends Module {
  readonly block1: Sequential;
  readonly block2: Sequential;
  readonly block3: Sequential;
  readonly block4: Sequential;
  readonly block5: Sequential;
  readonly classifier: Linear;
  readonly config: ResNetConfig;

  constructor(config: ResNetConfig) {
    super();
    this.config = config;
    const { inChannels, widths, depths, ordering, numClasses } = config;
    const [a] = widths;
    this.block1 = this.registerModule(
      'block1',
      config.stem === 'seed'
        ? new Sequential(
            new Conv2d({ inChannels, outChannels: a, kernelSize: 7, stride: 2 }),
            new BatchNorm2d({ numFeatures: a, eps: 1e-3 }),
            new ReLU(),
            new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }),
          )
        : new Sequential(
            new Conv2d({ inChannels, outChannels: a, kernelSize: 3, padding: 1, bias: false }),
            new BatchNorm2d({ numFeatures: a }),
            new ReLU(),
          ),
    );
    const stage = (index: number, extra: Module[] = []) => {
      const cin = widths[Math.max(index - 1, 0)] as number;
      const cout = widths[index] as number;
      const blocks = Array.from({ length: depths[index] as number }, (_, i) =>
        i === 0
          ? new Residual({
              inChannels: cin,
              outChannels: cout,
              stride: index === 0 ? 1 : 2,
              projection: index > 0,
              ordering,
            })
          : new Residual({ inChannels: cout, outChannels: cout, projection: false, ordering }),
      );
      return new Sequential(...blocks, ...extra);
    };
    this.block2 = this.registerModule('block2', stage(0));
    this.block3 = this.registerModule('block3', stage(1));
    this.block4 = this.registerModule('block4', stage(2));
    const pool =
      config.head === 'seed' ? new AvgPool2d({ kernelSize: 3 }) : new AdaptiveAvgPool2d({ outputSize: 1 });
    this.block5 = this.registerModule('block5', stage(3, [pool, new Flatten()]));
    this.classifier = this.registerModule(
      'classifier',
      new Linear({ inFeatures: widths[3], outFeatures: numClasses }),
    );
  }

  /** Throws a clear error if the model cannot take `x` (NHWC): rank, channels, or a size the head does not fit. */
  checkInput(x: tf.Tensor): void {
    checkResNetInput(this.config, x.shape);
  }

  /** NHWC images [N, H, W, inChannels] to logits [N, numClasses]. */
  forward(x: tf.Tensor): tf.Tensor2D {
    this.checkInput(x);
    return tf.tidy(() => {
      let y: tf.Tensor = x;
      for (const block of [this.block1, this.block2, this.block3, this.block4, this.block5]) {
        y = block.forward(y);
      }
      return this.classifier.forward(y);
    });
  }
}

/**
 * The seed's model: 7x7 stride-2 stem and max-pool, four residual stages, AvgPool2d(3) head
 * (fits 96x96 input; `head: 'global'` for any size), Linear classifier. PyTorch names:
 * `block1.0.weight` ... `block5.1.conv2.weight`, `classifier.bias`.
 */
export function seedResNet(options: SeedResNetOptions = {}): ResNet {
  return new ResNet({ ...withDefaults(options), stem: 'seed', head: options.head ?? 'seed' });
}

/**
 * The CIFAR-style variant for 32x32 input: 3x3 stride-1 stem without bias or max-pool, the same
 * four stages, global average pooling. Same module names as {@link seedResNet}.
 */
export function cifarResNet(options: ResNetOptions = {}): ResNet {
  return new ResNet({ ...withDefaults(options), stem: 'cifar', head: 'global' });
}
