export { type ConvolutionMethods, setConvolutionMethods } from './kernels/methods.ts';
export { registerTrainingKernels } from './register-kernels.ts';
export { type KernelBuild, kernelBuild } from './wasm-module.ts';
