export { countDispatches } from './dispatches.ts';
export type { FilterGradientMethod } from './kernels/conv2d-backprop-filter.ts';
export {
  registerWebGPUTrainingKernels,
  type WebGPUTrainingKernelsOptions,
} from './register-kernels.ts';
export {
  type SetupWebGPUOptions,
  setupWebGPU,
  WEBGPU_BROWSER_HINT,
  type WebGPUInfo,
  WebGPUUnavailableError,
} from './setup.ts';
