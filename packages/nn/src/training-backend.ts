import * as tf from '@tensorflow/tfjs-core';

/**
 * Two backends let a conv net's training down in ways users cannot read from tfjs's own messages, both at the
 * first convolution gradient: tfjs-backend-wasm has no `Conv2DBackpropFilter` at all (its error names only the
 * kernel), and tfjs-backend-cpu's is a per-element loop that makes training hundreds of times slower than wasm.
 * This check runs inside the Conv2D gradient that `registerGradients` registers: on wasm without the kernel it
 * throws what to install; on cpu with the stock kernel it warns once.
 */

const WASM_WITHOUT_KERNELS =
  "Training a convolution on the 'wasm' backend needs a Conv2DBackpropFilter kernel, which " +
  '@tensorflow/tfjs-backend-wasm does not have (tfjs issue 8474). Install @skipnet/wasm-kernels and call its ' +
  "registerTrainingKernels() (or import '@skipnet/wasm-kernels/register') once before training.";

const SLOW_CPU =
  "@skipnet/nn: training on the 'cpu' backend, whose convolution filter gradient is a per-element loop (hundreds " +
  'of times slower than wasm). Train on wasm (@tensorflow/tfjs-backend-wasm with @skipnet/wasm-kernels), or ' +
  "import '@skipnet/cpu-kernels/register' for a fast filter gradient on cpu.";

// Set on the kernel function by @skipnet/cpu-kernels, which nn does not depend on.
const FAST_CPU_KERNEL = Symbol.for('@skipnet/cpu-kernels kernel');
// Once per process, even when the ESM and CommonJS builds of nn are both loaded.
const WARNED = Symbol.for('@skipnet/nn warned about the cpu filter gradient');

export function checkTrainingBackend(): void {
  const backend = tf.getBackend();
  if (backend === 'wasm' && tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') === undefined) {
    throw new Error(WASM_WITHOUT_KERNELS);
  }
  if (backend === 'cpu') {
    const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')?.kernelFunc as { [FAST_CPU_KERNEL]?: true };
    const global = globalThis as { [WARNED]?: true };
    if (kernel && !kernel[FAST_CPU_KERNEL] && !global[WARNED]) {
      global[WARNED] = true;
      console.warn(SLOW_CPU);
    }
  }
}
