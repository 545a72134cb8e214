import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from '@tensorflow/tfjs-layers';
import { type LayerArgs, ModuleLayer, shapeText } from './module-layer.ts';
import { Residual, type ResidualOptions, type ResidualOrdering } from './residual.ts';

/**
 * Arguments of {@link ResidualLayer}: `Residual`'s options but `inChannels`, which the layer takes from its input
 * (the last axis, NHWC), plus the arguments of every tfjs-layers layer (`name`, `inputShape`, `trainable`, ...).
 */
export interface ResidualLayerArgs extends Omit<ResidualOptions, 'inChannels'>, LayerArgs {}

const ORDERINGS: readonly ResidualOrdering[] = ['seed', 'torchvision'];

function isPositiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/**
 * The seed's residual block ({@link Residual}) as a tfjs-layers layer, for `tf.sequential`, `tf.model`, `fit`
 * and `model.save`. Its weights are the block's own: conv kernels (HWIO) and biases, BatchNorm gamma and beta
 * trainable; BatchNorm's running mean and variance (and step counter) non-trainable, updated by every
 * training-mode call with PyTorch's momentum 0.1 and unbiased variance. Weight names are the block's PyTorch
 * names under the layer's name (`skipnet_residual_1/bn1.running_var`).
 */
export class ResidualLayer extends ModuleLayer<Residual> {
  /** The class name in a saved model's JSON (registered with `tf.serialization`, so `loadLayersModel` knows it). */
  static readonly className = 'SkipnetResidual';
  readonly outChannels: number;
  readonly stride: number;
  readonly projection: boolean | 'auto';
  readonly ordering: ResidualOrdering;
  readonly bnEps: number;
  private inChannels: number | null = null;

  constructor(args: ResidualLayerArgs) {
    super(args);
    this.outChannels = args.outChannels;
    this.stride = args.stride ?? 1;
    this.projection = args.projection ?? 'auto';
    this.ordering = args.ordering ?? 'seed';
    this.bnEps = args.bnEps ?? 1e-5;
    const problems: string[] = [];
    if (!isPositiveInteger(this.outChannels))
      problems.push(`outChannels ${this.outChannels}: a positive integer`);
    if (!isPositiveInteger(this.stride)) problems.push(`stride ${this.stride}: a positive integer`);
    if (![true, false, 'auto'].includes(this.projection)) {
      problems.push(`projection ${JSON.stringify(this.projection)}: true, false or 'auto'`);
    }
    if (!ORDERINGS.includes(this.ordering)) {
      problems.push(`ordering ${JSON.stringify(this.ordering)}: 'seed' or 'torchvision'`);
    }
    if (!(typeof this.bnEps === 'number' && this.bnEps > 0))
      problems.push(`bnEps ${this.bnEps}: a positive number`);
    if (problems.length > 0)
      throw new Error(`${this.describe()}: bad options, expected ${problems.join('; ')}`);
  }

  /**
   * A layer with `module`'s options and a copy of its weights (taken now, loaded when the layer is built); its
   * input must have `module`'s input channels. `args` gives the layer's name, `inputShape`, ...
   */
  static fromModule(module: Residual, args: LayerArgs = {}): ResidualLayer {
    const layer = new ResidualLayer({
      ...args,
      outChannels: module.conv1.outChannels,
      stride: module.conv1.stride[0],
      projection: module.conv3 !== null,
      ordering: module.ordering,
      bnEps: module.bn1.eps,
    });
    layer.inChannels = module.conv1.inChannels;
    layer.loadWhenBuilt(module);
    return layer;
  }

  protected override makeModule(inputShape: Shape): Residual {
    this.inChannels = inputShape[3] as number;
    return new Residual({
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      stride: this.stride,
      projection: this.projection,
      ordering: this.ordering,
      bnEps: this.bnEps,
    });
  }

  protected override checkInputShape(shape: Shape): void {
    if (shape.length !== 4) {
      throw new Error(
        `${this.describe()} expected a 4D NHWC input [batch, height, width, channels], got ${shapeText(shape)}` +
          ' (a model’s inputShape leaves out the batch axis: [height, width, channels])',
      );
    }
    const channels = shape[3];
    if (channels === null || channels === undefined) {
      throw new Error(
        `${this.describe()} needs a known number of input channels (the last axis), got ${shapeText(shape)}`,
      );
    }
    if (this.inChannels !== null && channels !== this.inChannels) {
      const hint =
        shape[1] === this.inChannels
          ? ' (it looks NCHW: transpose it with tf.transpose(x, [0, 2, 3, 1]))'
          : '';
      throw new Error(
        `${this.describe()} expected ${this.inChannels} input channels (NHWC, last axis), got ${shapeText(shape)}${hint}`,
      );
    }
  }

  protected override outputShapeFor(shape: Shape): Shape {
    // conv1 (3x3, padding 1) and conv3 (1x1, no padding) both give floor((size - 1) / stride) + 1.
    const down = (size: number | null | undefined) =>
      size === null || size === undefined ? null : Math.floor((size - 1) / this.stride) + 1;
    return [shape[0] ?? null, down(shape[1]), down(shape[2]), this.outChannels];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      outChannels: this.outChannels,
      stride: this.stride,
      projection: this.projection,
      ordering: this.ordering,
      bnEps: this.bnEps,
      ...super.getConfig(),
    };
  }
}

tf.serialization.registerClass(ResidualLayer, 'skipnet');

/**
 * The seed's residual block as a tfjs-layers layer (Keras style: `tf.layers.conv2d(...)`); see {@link ResidualLayer}.
 *
 * ```js
 * const model = tf.sequential({ layers: [residualLayer({ outChannels: 16, inputShape: [28, 28, 1] })] });
 * ```
 */
export function residualLayer(args: ResidualLayerArgs): ResidualLayer {
  return new ResidualLayer(args);
}
