// The side-effect entry `@skipnet/cpu-kernels/register`: importing it registers the kernel.
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingKernels } from './register-kernels.ts';

registerTrainingKernels();
