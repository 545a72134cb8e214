export {
  type BatchNormApplyAttrs,
  type BatchNormGradAttrs,
  FusedKernel,
  fusedKernelsRegistered,
  type RunningAverageAttrs,
  type SGDUpdateAttrs,
} from './fused.ts';
