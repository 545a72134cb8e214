// `@skipnet/resnet/layers`: the seed ResNet as one tfjs-layers layer. Importing it registers the layer class with
// tf.serialization, so that `tf.loadLayersModel` reads models that hold it.
import { type LayerArgs, ModuleLayer } from '@skipnet/residual/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import {
  checkResNetInput,
  ResNet,
  type ResNetConfig,
  type ResNetHead,
  type ResNetOptions,
  type ResNetStem,
  withDefaults,
} from './resnet.ts';

/**
 * Arguments of {@link ResNetLayer}: the model's options but `inChannels`, which the layer takes from its input
 * (the last axis, NHWC), plus the arguments of every tfjs-layers layer (`name`, `inputShape`, `trainable`, ...).
 */
export interface ResNetLayerArgs extends Omit<ResNetOptions, 'inChannels'>, LayerArgs {
  /** Default 'seed' (7x7 stride-2 conv and max-pool); 'cifar' is `cifarResNet`'s 3x3 stem. */
  stem?: ResNetStem;
  /** Default 'seed' (AvgPool2d(3): 96x96 input and its neighbours); 'global' takes any size. */
  head?: ResNetHead;
}

type LayerConfig = Omit<ResNetConfig, 'inChannels'>;

function configProblems(config: LayerConfig): string[] {
  const positiveIntegers = (value: unknown, length: number) =>
    Array.isArray(value) && value.length === length && value.every((v) => Number.isInteger(v) && v > 0);
  const problems: string[] = [];
  if (!positiveIntegers([config.numClasses], 1))
    problems.push(`numClasses ${config.numClasses}: a positive integer`);
  if (!positiveIntegers(config.widths, 4))
    problems.push(`widths ${JSON.stringify(config.widths)}: 4 positive integers`);
  if (!positiveIntegers(config.depths, 4))
    problems.push(`depths ${JSON.stringify(config.depths)}: 4 positive integers`);
  if (!['seed', 'torchvision'].includes(config.ordering)) {
    problems.push(`ordering ${JSON.stringify(config.ordering)}: 'seed' or 'torchvision'`);
  }
  if (!['seed', 'cifar'].includes(config.stem))
    problems.push(`stem ${JSON.stringify(config.stem)}: 'seed' or 'cifar'`);
  if (!['seed', 'global'].includes(config.head))
    problems.push(`head ${JSON.stringify(config.head)}: 'seed' or 'global'`);
  return problems;
}

/**
 * The seed's ResNet ({@link ResNet}) as a single tfjs-layers layer: NHWC images in, logits out (no softmax), for
 * `tf.sequential`, `fit` and `model.save`. Its weights are the model's own under its PyTorch names
 * (`skipnet_res_net_1/block2.0.bn1.running_var`); BatchNorm's running statistics are non-trainable and updated by
 * every training-mode call with PyTorch's momentum 0.1 and unbiased variance.
 */
export class ResNetLayer extends ModuleLayer<ResNet> {
  /** The class name in a saved model's JSON (registered with `tf.serialization`, so `loadLayersModel` knows it). */
  static readonly className = 'SkipnetResNet';
  readonly config: LayerConfig;
  private inChannels: number | null = null;

  constructor(args: ResNetLayerArgs = {}) {
    super(args);
    const { inChannels: _, ...options } = withDefaults(args);
    this.config = { ...options, stem: args.stem ?? 'seed', head: args.head ?? 'seed' };
    const problems = configProblems(this.config);
    if (problems.length > 0)
      throw new Error(`${this.describe()}: bad options, expected ${problems.join('; ')}`);
  }

  /**
   * A layer with `model`'s configuration and a copy of its weights (taken now, loaded when the layer is built);
   * its input must have `model`'s input channels. `args` gives the layer's name, `inputShape`, ...
   */
  static fromModule(model: ResNet, args: LayerArgs = {}): ResNetLayer {
    const { inChannels, ...config } = model.config;
    const layer = new ResNetLayer({ ...args, ...config });
    layer.inChannels = inChannels;
    layer.loadWhenBuilt(model);
    return layer;
  }

  protected override makeModule(inputShape: Shape): ResNet {
    this.inChannels = inputShape[3] as number;
    return new ResNet({ ...this.config, inChannels: this.inChannels });
  }

  protected override checkInputShape(shape: Shape): void {
    const channels = shape[3];
    if (shape.length === 4 && (channels === null || channels === undefined)) {
      throw new Error(
        `${this.describe()} needs a known number of input channels (the last axis of its input)`,
      );
    }
    try {
      checkResNetInput({ ...this.config, inChannels: this.inChannels ?? (channels as number) }, shape);
    } catch (error) {
      throw new Error(`${this.describe()}: ${(error as Error).message}`);
    }
  }

  protected override outputShapeFor(inputShape: Shape): Shape {
    return [inputShape[0] ?? null, this.config.numClasses];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config, ...super.getConfig() };
  }
}

tf.serialization.registerClass(ResNetLayer, 'skipnet');

/**
 * The seed's model (`seedResNet`) as a tfjs-layers layer; see {@link ResNetLayer}. For 96x96 RGB images:
 *
 * ```js
 * const model = tf.sequential({ layers: [seedResNetLayer({ inputShape: [96, 96, 3] })] });
 * ```
 */
export function seedResNetLayer(args: Omit<ResNetLayerArgs, 'stem'> = {}): ResNetLayer {
  return new ResNetLayer({ ...args, stem: 'seed' });
}
