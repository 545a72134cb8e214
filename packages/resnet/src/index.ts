export {
  cifarResNet,
  finalMapSize,
  ResNet,
  type ResNetConfig,
  type ResNetHead,
  type ResNetOptions,
  type ResNetStem,
  type SeedResNetOptions,
  seedResNet,
  type Widths,
} from './resnet.ts';
