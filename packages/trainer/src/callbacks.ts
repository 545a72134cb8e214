import type { EpochRecord, History } from './history.ts';

/** After each optimizer step. */
export interface BatchEndInfo {
  /** 0-based epoch index. */
  epoch: number;
  /** Batches of this epoch done, 1-based. */
  batch: number;
  /** Batches per epoch, if known. */
  batches: number | null;
  globalStep: number;
  /** Loss of this batch. */
  loss: number;
  /** Running mean loss and accuracy of the epoch so far (d2l's `train_l`, `train_acc`). */
  trainLoss: number;
  trainAcc: number;
  /** Examples of the epoch so far. */
  examples: number;
  /** Throughput of the epoch so far (timed part only). */
  examplesPerSec: number;
  lr: number;
}

/** Hooks into the loop; each may return a promise, which the loop awaits. */
export interface TrainCallbacks {
  onTrainStart?(info: {
    startEpoch: number;
    epochs: number;
    resumedFrom: string | null;
  }): void | Promise<void>;
  onEpochStart?(info: {
    epoch: number;
    epochs: number;
    batches: number | null;
    skip: number;
  }): void | Promise<void>;
  onBatchEnd?(info: BatchEndInfo): void | Promise<void>;
  /** After the epoch's last batch, before the test set is evaluated. */
  onEvaluateStart?(info: { epoch: number }): void | Promise<void>;
  /** After evaluation and the checkpoint of the epoch (`checkpoint` is its folder, or null without `outDir`). */
  onEpochEnd?(info: {
    record: EpochRecord;
    history: History;
    checkpoint: string | null;
  }): void | Promise<void>;
  onTrainEnd?(info: { history: History }): void | Promise<void>;
}
