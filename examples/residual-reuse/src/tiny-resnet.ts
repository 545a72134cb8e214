import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  Module,
  ReLU,
  Sequential,
} from '@skipnet/nn';
import { Residual } from '@skipnet/residual';
import * as tf from '@tensorflow/tfjs-core';

export interface TinyResNetOptions {
  /** Default 10. */
  numClasses?: number;
  /** Channels of the three stages. Default [16, 32, 64]. */
  widths?: [number, number, number];
  /** Where the block's last ReLU goes: the seed's order (default) or torchvision's BasicBlock. */
  ordering?: 'seed' | 'torchvision';
}

/**
 * Not the seed: a small classifier for 32×32 images built from the seed's residual block. A 3×3 stem without
 * max-pool keeps the small images' detail; two of the three stages halve the map; global average pooling makes
 * the head fit any input size.
 */
export class TinyResNet extends Module {
  readonly stem: Sequential;
  readonly stages: Sequential;
  readonly head: Sequential;

  constructor(options: TinyResNetOptions = {}) {
    super();
    const [a, b, c] = options.widths ?? [16, 32, 64];
    const ordering = options.ordering ?? 'seed';
    this.stem = this.registerModule(
      'stem',
      new Sequential(
        new Conv2d({ inChannels: 3, outChannels: a, kernelSize: 3, padding: 1, bias: false }),
        new BatchNorm2d({ numFeatures: a }),
        new ReLU(),
      ),
    );
    this.stages = this.registerModule(
      'stages',
      new Sequential(
        new Residual({ inChannels: a, outChannels: a, ordering }),
        new Residual({ inChannels: a, outChannels: b, stride: 2, ordering }),
        new Residual({ inChannels: b, outChannels: c, stride: 2, ordering }),
      ),
    );
    this.head = this.registerModule(
      'head',
      new Sequential(
        new AdaptiveAvgPool2d(),
        new Flatten(),
        new Linear({ inFeatures: c, outFeatures: options.numClasses ?? 10 }),
      ),
    );
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.forward(this.stages.forward(this.stem.forward(x))));
  }
}
