import * as tf from '@tensorflow/tfjs-core';
import { conv2d } from './kernels/conv2d.ts';
import { conv2dBackpropFilter } from './kernels/conv2d-backprop-filter.ts';
import { conv2dBackpropInput } from './kernels/conv2d-backprop-input.ts';
import { cast, identity } from './kernels/identity.ts';
import { maxPoolGrad } from './kernels/max-pool-grad.ts';
import { mean, sum } from './kernels/reduce-leading.ts';
import { rememberStockKernel } from './kernels/run.ts';
import { slice } from './kernels/slice.ts';
import { tile } from './kernels/tile.ts';

const kernels: tf.KernelConfig[] = [
  { kernelName: tf.Conv2D, backendName: 'wasm', kernelFunc: conv2d as unknown as tf.KernelFunc },
  {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  },
  {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
  },
  { kernelName: tf.Tile, backendName: 'wasm', kernelFunc: tile as unknown as tf.KernelFunc },
  { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity as unknown as tf.KernelFunc },
  { kernelName: tf.Cast, backendName: 'wasm', kernelFunc: cast as unknown as tf.KernelFunc },
  { kernelName: tf.Sum, backendName: 'wasm', kernelFunc: sum as unknown as tf.KernelFunc },
  { kernelName: tf.Mean, backendName: 'wasm', kernelFunc: mean as unknown as tf.KernelFunc },
  { kernelName: tf.Slice, backendName: 'wasm', kernelFunc: slice as unknown as tf.KernelFunc },
  {
    kernelName: tf.MaxPoolGrad,
    backendName: 'wasm',
    kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
  },
];

/**
 * Registers, on the 'wasm' backend, the gradient kernels a conv net's training step needs and
 * tfjs-backend-wasm 4.22 lacks or runs slowly. Idempotent; call it before the first backward pass
 * (importing '@skipnet/wasm-kernels/register' does the same).
 */
export function registerTrainingKernels(): void {
  for (const config of kernels) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current === undefined) {
      tf.registerKernel(config);
      continue;
    }
    rememberStockKernel(config.kernelName, current.kernelFunc);
    tf.unregisterKernel(config.kernelName, 'wasm');
    // The stock kernel's setup wires its WASM export; it must still run when the backend starts.
    tf.registerKernel(current.setupFunc ? { ...config, setupFunc: current.setupFunc } : config);
  }
}
