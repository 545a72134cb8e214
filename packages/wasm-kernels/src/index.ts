export { registerTrainingKernels } from './register-kernels.js';
