import { registerTrainingKernels } from './register-kernels.js';

registerTrainingKernels();
