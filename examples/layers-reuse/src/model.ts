import { init } from '@skipnet/nn';
import { Residual } from '@skipnet/residual';
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
  /** Draws every initial weight from this seed, so that two models made with it are equal. Default: unseeded. */
  seed?: number;
}

/**
 * A Keras-style classifier around the seed's residual block: a 3x3 convolution, two blocks (the second halves the
 * map, with the block's 1x1 projection), global average pooling and a softmax layer. The blocks are named `res1`
 * and `res2`, so their weights keep those names when they go to PyTorch.
 */
export function tinyClassifier(options: TinyClassifierOptions = {}): tfl.Sequential {
  const [a, b] = options.widths ?? [16, 32];
  // Each layer its own seed: the blocks' modules name their children alike, so one seed would repeat their draws.
  const seed = (layer: number) => (options.seed === undefined ? undefined : options.seed + layer);
  const kernelInitializer = (layer: number) => tfl.initializers.glorotUniform({ seed: seed(layer) });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        filters: a,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        inputShape: options.inputShape ?? [32, 32, 3],
        kernelInitializer: kernelInitializer(0),
      }),
      block('res1', a, a, 1, seed(1)),
      block('res2', a, b, 2, seed(2)),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({
        units: options.numClasses ?? 10,
        activation: 'softmax',
        kernelInitializer: kernelInitializer(3),
      }),
    ],
  });
}

/**
 * A residual block layer. Unseeded, it draws its weights when the model builds it; a seeded one is made as a
 * `Residual` module, reset with the seed, and handed to the layer with `fromModule`.
 */
function block(
  name: string,
  inChannels: number,
  outChannels: number,
  stride: number,
  seed: number | undefined,
): ResidualLayer {
  if (seed === undefined) return residualLayer({ outChannels, stride, name });
  const module = new Residual({ inChannels, outChannels, stride });
  try {
    init.resetParameters(module, { seed });
    return ResidualLayer.fromModule(module, { name });
  } finally {
    module.dispose();
  }
}

/** The model's residual blocks, by layer name. */
export function residualBlocks(model: tfl.LayersModel): ResidualLayer[] {
  return model.layers.filter((layer): layer is ResidualLayer => layer instanceof ResidualLayer);
}
