export type { BatchEndInfo, TrainCallbacks } from './callbacks.ts';
export {
  CHECKPOINT_FILES,
  latestCheckpoint,
  loadCheckpoint,
  type RunState,
  readOptimizerState,
  saveCheckpoint,
} from './checkpoint.ts';
export {
  type EpochRecord,
  epochsToCsv,
  formatEpochLine,
  type History,
  type HistoryPoint,
  historyToCsv,
} from './history.ts';
export { countCorrect, softmaxCrossEntropy } from './loss.ts';
export {
  Adam,
  type AdamOptions,
  AdamW,
  type Optimizer,
  type OptimizerState,
  type ParamList,
  SGD,
  type SGDOptions,
} from './optim.ts';
export { niceTicks, type PlotOptions, plotSvg, svgToPng } from './plot.ts';
export { type ProgressMode, progressCallbacks } from './progress.ts';
export {
  type CosineAnnealingLROptions,
  cosineAnnealingLR,
  type LRSchedule,
  type OneCycleLROptions,
  oneCycleLR,
  type StepLROptions,
  stepLR,
} from './schedule.ts';
export {
  type Batch,
  type Batches,
  type DataInput,
  type DataSource,
  evaluateAccuracy,
  NonFiniteLossError,
  type StepPosition,
  type StepResult,
  TrainingAbortedError,
  type TrainOptions,
  type TrainResult,
  trainCh6,
  trainStep,
  writeReports,
} from './train.ts';
