// What skipnet's tests share, platform-neutral (a page can import it): tolerances, error metrics, the
// safetensors test reader and the PyTorch fixture replay from bytes. index.node.ts adds files and the CI rule.
export { relativeL2Error, relativeMaxError } from './metrics.ts';
export {
  formatParity,
  type ParityCheck,
  type ParityEntry,
  type ParityReport,
  type ParityRow,
  type ReplayModel,
  type ReplayOptions,
  replaySeedFixtureBytes,
  type SeedFixtureBytes,
  summarizeParity,
} from './parity.ts';
export { parseSafetensors, type SafetensorsEntry, safetensorsToTensors } from './safetensors.ts';
export { PYTORCH_TOLERANCES, parityTolerance } from './tolerances.ts';
