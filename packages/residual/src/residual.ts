import { FusedKernel, fusedKernelsRegistered } from '@skipnet/kernel-internals';
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
      let y = this.bn1.forwardRelu(this.conv1.forward(x));
      const z = this.conv2.forward(y);
      y = this.ordering === 'seed' ? this.bn2.forwardRelu(z) : this.bn2.forward(z);
      const shortcut = this.conv3 ? this.conv3.forward(x) : x;
      return addRelu(y, shortcut as tf.Tensor4D);
    });
  }
}

/**
 * relu(a + b): one kernel each way where the backend registers skipnet's fused kernels (`@skipnet/webgpu`), else
 * exactly `tf.relu(tf.add(a, b))`.
 */
function addRelu(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const fused =
    fusedKernelsRegistered(FusedKernel.AddRelu, FusedKernel.ReluGrad) &&
    tf.util.arraysEqual(a.shape, b.shape);
  if (!fused) return tf.relu(tf.add(a, b)) as tf.Tensor4D;
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [left, right] = args as [tf.Tensor4D, tf.Tensor4D];
    const value = tf.engine().runKernel(FusedKernel.AddRelu, { a: left, b: right }) as tf.Tensor4D;
    save([value]);
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] => {
      const grad = tf.engine().runKernel(FusedKernel.ReluGrad, { dy, y: saved[0]! }) as tf.Tensor;
      // Both inputs get the same gradient; a clone (no copy: it shares the data) gives each its own tensor.
      return [grad, tf.clone(grad)];
    };
    return { value, gradFunc };
  });
  return run(a, b) as tf.Tensor4D;
}
