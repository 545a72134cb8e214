// The platform-neutral core: no Node built-ins, so it bundles for the browser. The Node entry (index.node.ts)
// adds the folder store, `outDir`, the terminal bar and plot.png.
export type { BatchEndInfo, TrainCallbacks } from './callbacks.ts';
export {
  CHECKPOINT_FILES,
  type CheckpointContents,
  CheckpointError,
  type CheckpointSettings,
  type ConfigValue,
  checkpointSettings,
  checkpointWeights,
  findCheckpoint,
  latestCheckpoint,
  loadCheckpoint,
  modelSafetensors,
  type RunConfig,
  type RunState,
  readOptimizerState,
  saveCheckpoint,
} from './checkpoint.ts';
export { NonFiniteLossError, ResumeDataError, type StepPosition, TrainingAbortedError } from './errors.ts';
export {
  type EpochRecord,
  epochsToCsv,
  formatEpochLine,
  type History,
  type HistoryPoint,
  historyToCsv,
} from './history.ts';
export { IndexedDBStore, type IndexedDBStoreOptions } from './indexeddb-store.ts';
export type { InitMode } from './init.ts';
export { countCorrect, softmaxCrossEntropy } from './loss.ts';
export { oneCycleResumeConflict, STEP_SETTINGS, type StepSetting } from './one-cycle-resume.ts';
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
export { niceTicks, type PlotOptions, plotSvg } from './plot.ts';
export { type ProgressMode, progressCallbacks, progressLines } from './progress.ts';
export { type PlotPngRenderer, type ReportOptions, reportCallbacks, writeReports } from './reports.ts';
export {
  type CosineAnnealingLROptions,
  cosineAnnealingLR,
  type LRSchedule,
  type OneCycleLROptions,
  oneCycleLR,
  type ScheduleConfig,
  type StepLROptions,
  stepLR,
} from './schedule.ts';
export {
  type Batch,
  type Batches,
  type EpochMetrics,
  evaluateAccuracy,
  StepLog,
  type StepResult,
  trainStep,
} from './step.ts';
export type { RunStore } from './store.ts';
export {
  type DataInput,
  type DataSource,
  type OptimizerFactory,
  type TrainOptions,
  type TrainResult,
  trainCh6,
} from './train.ts';
