import { registerTrainingKernels } from './register-kernels.ts';

registerTrainingKernels();
