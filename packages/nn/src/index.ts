import { registerGradients } from './gradients.ts';

// Importing the package makes tf.grad work on tfjs-core alone (see gradients.ts).
registerGradients();

export { registerGradients } from './gradients.ts';
export * as init from './init.ts';
export type { KaimingOptions, Nonlinearity, Seeded } from './initializers.ts';
export {
  AdaptiveAvgPool2d,
  type AdaptiveAvgPool2dArgs,
  AvgPool2d,
  type AvgPool2dArgs,
  BatchNorm2d,
  type BatchNorm2dArgs,
  Conv2d,
  type Conv2dArgs,
  Flatten,
  Linear,
  type LinearArgs,
  MaxPool2d,
  type MaxPool2dArgs,
  ReLU,
  Sequential,
} from './layers.ts';
export { type LoadStateDictOptions, Module, type TensorLayout } from './module.ts';
export {
  type ReadSafetensorsOptions,
  type SafetensorsDtype,
  SafetensorsError,
  type SafetensorsErrorCode,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './safetensors/format.ts';
export { readSafetensorsHeader } from './safetensors/header.ts';
export { readSafetensors } from './safetensors/read.ts';
export { type WriteSafetensorsOptions, writeSafetensors } from './safetensors/write.ts';
