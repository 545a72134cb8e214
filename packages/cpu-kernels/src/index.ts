export { registerTrainingKernels } from './register-kernels.ts';
