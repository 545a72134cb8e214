export { registerTrainingKernels } from './register-kernels.ts';
export { type KernelBuild, kernelBuild } from './wasm-module.ts';
