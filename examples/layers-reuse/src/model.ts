import { ResidualLayer, residualLayer } from '@skipnet/residual/layers';
import * as tfl from '@tensorflow/tfjs-layers';

/** Options of {@link tinyClassifier}. */
export interface TinyClassifierOptions {
  /** Default 10. */
  numClasses?: number;
  /** Channels of the two residual blocks. Default [16, 32]. */
  widths?: [number, number];
  /** [height, width, channels] of the images. Default [32, 32, 3]. */
  inputShape?: [number, number, number];
}

/**
 * A Keras-style classifier around the seed's residual block: a 3x3 convolution, two blocks (the second halves the
 * map, with the block's 1x1 projection), global average pooling and a softmax layer. The blocks are named `res1`
 * and `res2`, so their weights keep those names when they go to PyTorch.
 */
export function tinyClassifier(options: TinyClassifierOptions = {}): tfl.Sequential {
  const [a, b] = options.widths ?? [16, 32];
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        filters: a,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        inputShape: options.inputShape ?? [32, 32, 3],
      }),
      residualLayer({ outChannels: a, name: 'res1' }),
      residualLayer({ outChannels: b, stride: 2, name: 'res2' }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: options.numClasses ?? 10, activation: 'softmax' }),
    ],
  });
}

/** The model's residual blocks, by layer name. */
export function residualBlocks(model: tfl.LayersModel): ResidualLayer[] {
  return model.layers.filter((layer): layer is ResidualLayer => layer instanceof ResidualLayer);
}
