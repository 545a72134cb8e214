import type { EpochRecord, History } from './history.ts';
import type { EpochMetrics } from './step.ts';

/** After each optimizer step. */
export interface BatchEndInfo {
  /** 0-based epoch index. */
  epoch: number;
  /** Batches of this epoch done, 1-based. */
  batch: number;
  /** Batches per epoch, if known (from the data source's `length`, or counted in epoch 1). */
  batches: number | null;
  globalStep: number;
  /** Examples of the epoch so far. */
  examples: number;
  /** The learning rate of this step. */
  lr: number;
  /**
   * The epoch's running loss and accuracy, read back from the device. The steps leave them there, so asking
   * waits for the device (on a GPU, for every queued step): ask at the points you show them, not every batch.
   * One read serves every callback of the batch.
   */
  metrics(): Promise<EpochMetrics>;
}

/** Hooks into the loop; each may return a promise, which the loop awaits. */
export interface TrainCallbacks {
  onTrainStart?(info: {
    startEpoch: number;
    epochs: number;
    /** The checkpoint the run continues from (as the store names it), or null. */
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
  /** After evaluation and the checkpoint of the epoch (`checkpoint` is its folder, or null without a store). */
  onEpochEnd?(info: {
    record: EpochRecord;
    history: History;
    checkpoint: string | null;
  }): void | Promise<void>;
  onTrainEnd?(info: { history: History }): void | Promise<void>;
}
