/**
 * One point of d2l's Animator: train loss and accuracy five times an epoch, test accuracy once an epoch, at
 * fractional epochs (`epoch + (i + 1) / batches`). A field is absent where d2l passes `None`.
 */
export interface HistoryPoint {
  epoch: number;
  trainLoss?: number;
  trainAcc?: number;
  testAcc?: number;
}

/** The summary of one finished epoch, as the seed's epoch line prints it. */
export interface EpochRecord {
  /** 1-based, as printed. */
  epoch: number;
  /** Mean training loss over the epoch's examples. */
  loss: number;
  trainAcc: number;
  testAcc: number;
  /** Wall-clock seconds of the epoch (training and evaluation, without checkpointing). */
  time: number;
  /** Seconds of forward, backward, update and metrics only (d2l's timer). */
  trainTime: number;
  examples: number;
  /** Learning rate at the end of the epoch. */
  lr: number;
}

/** Everything a run has recorded; saved as `history.json` and in every checkpoint. */
export interface History {
  points: HistoryPoint[];
  epochs: EpochRecord[];
}

export function emptyHistory(): History {
  return { points: [], epochs: [] };
}

const cell = (v: number | undefined) => (v === undefined ? '' : String(v));

/** The Animator's points as CSV (`epoch,train_loss,train_acc,test_acc`; empty cells where there is no value). */
export function historyToCsv(history: History): string {
  const rows = history.points.map((p) =>
    [p.epoch, p.trainLoss, p.trainAcc, p.testAcc].map((v) => cell(v)).join(','),
  );
  return ['epoch,train_loss,train_acc,test_acc', ...rows].join('\n') + '\n';
}

/** The per-epoch summaries as CSV (`epoch,loss,train_acc,test_acc,time,train_time,examples,lr`). */
export function epochsToCsv(history: History): string {
  const rows = history.epochs.map((e) =>
    [e.epoch, e.loss, e.trainAcc, e.testAcc, e.time, e.trainTime, e.examples, e.lr].join(','),
  );
  return ['epoch,loss,train_acc,test_acc,time,train_time,examples,lr', ...rows].join('\n') + '\n';
}

/** The seed's line: `epoch 4, loss 0.424, train acc 0.857, test acc 0.678, time 1139.3`. */
export function formatEpochLine(e: EpochRecord): string {
  return (
    `epoch ${e.epoch}, loss ${e.loss.toFixed(3)}, train acc ${e.trainAcc.toFixed(3)}, ` +
    `test acc ${e.testAcc.toFixed(3)}, time ${e.time.toFixed(1)}`
  );
}
