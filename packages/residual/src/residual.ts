import { BatchNorm2d, Conv2d, Module } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Where the block applies its last ReLU.
 * - 'seed': relu(bn2(conv2(y))) then relu(y + shortcut): the seed tutorial's block (two ReLUs).
 * - 'torchvision': bn2(conv2(y)) then relu(y + shortcut): torchvision's `BasicBlock`.
 */
export type ResidualOrdering = 'seed' | 'torchvision';

/** Options of {@link Residual}. */
export interface ResidualOptions {
  inChannels: number;
  outChannels: number;
  /** Stride of conv1 and of the projection. Default 1. */
  stride?: number;
  /**
   * Add conv3, a 1x1 convolution (with bias, carrying the stride) on the shortcut. 'auto' (the
   * default) adds it exactly when the shortcut would not fit otherwise (channels or stride change).
   */
  projection?: boolean | 'auto';
  /** Default 'seed'. */
  ordering?: ResidualOrdering;
  /** eps of bn1 and bn2. Default 1e-5 (PyTorch's). */
  bnEps?: number;
}

/**
 * The seed's residual block: conv1 3x3 (stride, padding 1, no bias) -> bn1 -> relu -> conv2 3x3
 * (no bias) -> bn2 [-> relu] (+ conv3 1x1 projection of the input) -> relu. Children are named
 * conv1, bn1, conv2, bn2, conv3 as in PyTorch, so its state dict loads the seed's weights.
 */
export class Residual extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d | null;
  readonly ordering: ResidualOrdering;

  constructor(options: ResidualOptions) {
    super();
    const { inChannels, outChannels } = options;
    const stride = options.stride ?? 1;
    const eps = options.bnEps ?? 1e-5;
    const mismatch = stride !== 1 || inChannels !== outChannels;
    const projection = options.projection ?? 'auto';
    if (projection === false && mismatch) {
      throw new Error(
        `Residual without projection needs inChannels === outChannels and stride 1 (got ${inChannels} -> ${outChannels}, stride ${stride}); use projection: true or 'auto'`,
      );
    }
    this.ordering = options.ordering ?? 'seed';
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d({ inChannels, outChannels, kernelSize: 3, stride, padding: 1, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: outChannels, eps }));
    this.conv2 = this.registerModule(
      'conv2',
      new Conv2d({ inChannels: outChannels, outChannels, kernelSize: 3, padding: 1, bias: false }),
    );
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: outChannels, eps }));
    const useProjection = projection === true || (projection === 'auto' && mismatch);
    this.conv3 = useProjection
      ? this.registerModule('conv3', new Conv2d({ inChannels, outChannels, kernelSize: 1, stride }))
      : null;
  }

  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      let y = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      y = this.bn2.forward(this.conv2.forward(y));
      if (this.ordering === 'seed') y = tf.relu(y);
      const shortcut = this.conv3 ? this.conv3.forward(x) : x;
      return tf.relu(tf.add(y, shortcut)) as tf.Tensor4D;
    });
  }
}
