// The platform-neutral core: runs in browsers and in Node. Node's entry (index.node.ts) adds the disk cache,
// the download and the synthetic set on disk.
export {
  CIFAR10_MD5,
  type CifarDataset,
  type CifarFile,
  type ReadCifarFilesOptions,
  type ReadCifarTarballOptions,
  readCifarFiles,
  readCifarTarball,
  type SubsetOptions,
  type TarballSource,
} from './dataset.ts';
export {
  CIFAR10_CLASSES,
  decodeRecords,
  encodeRecords,
  IMAGE_BYTES,
  IMAGE_SIZE,
  RECORD_BYTES,
} from './format.ts';
export { type Batch, type BatchOptions, CifarSplit, type Subset } from './split.ts';
export {
  type LoadSyntheticOptions,
  loadSynthetic,
  SYNTHETIC_CLASSES,
  SYNTHETIC_FOLDER,
  type SyntheticOptions,
} from './synthetic.ts';
export {
  horizontalFlip,
  type ImageBatch,
  type Normalize,
  randomCrop,
  resize,
  seedTransform,
  type Transform,
  type TransformSpec,
  toFloat,
} from './transforms.ts';
