export {
  type CompositeKernels,
  compositeKernels,
  type KernelBackendLike,
} from './composite.ts';
export {
  type ConvGradAttrs,
  dilatedConvFilterGradient,
  type FilterGradAttrs,
} from './conv.ts';
export {
  type BatchNormApplyAttrs,
  type BatchNormGradAttrs,
  FusedKernel,
  fusedKernelsRegistered,
  type RunningAverageAttrs,
  type SGDUpdateAttrs,
} from './fused.ts';
