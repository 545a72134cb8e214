export {
  CIFAR10_CLASSES,
  decodeRecords,
  encodeRecords,
  IMAGE_BYTES,
  IMAGE_SIZE,
  RECORD_BYTES,
} from './format.ts';
export {
  CIFAR10_MD5,
  CIFAR10_URL,
  Cifar10Error,
  type CifarDataset,
  defaultDataDir,
  type LoadCifar10Options,
  loadCifar10,
  readCifarFolder,
  TARBALL_NAME,
} from './load.ts';
export type { ProgressMode } from './progress.ts';
export { type Batch, type BatchOptions, CifarSplit, type Subset } from './split.ts';
export {
  type LoadSyntheticOptions,
  loadSynthetic,
  SYNTHETIC_CLASSES,
  SYNTHETIC_FOLDER,
  type SyntheticOptions,
  writeSyntheticCifar,
} from './synthetic.ts';
export {
  horizontalFlip,
  type ImageBatch,
  type Normalize,
  randomCrop,
  resize,
  seedTransform,
  type Transform,
  toFloat,
} from './transforms.ts';
