import type { Module } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import type { RunState } from './checkpoint.ts';
import { NonFiniteLossError, type StepPosition } from './errors.ts';
import { countCorrect, softmaxCrossEntropy } from './loss.ts';
import type { Optimizer } from './optim.ts';

/**
 * One mini-batch: float32 images NHWC and int32 labels, as `@skipnet/cifar10`'s `batches()` yields them. Whoever
 * takes a batch from an iterator owns it: the trainer disposes every batch it takes (right after its step, or at
 * once when a resumed run skips it).
 */
export interface Batch {
  x: tf.Tensor;
  y: tf.Tensor;
}

/** Batches of one pass, sync or async. */
export type Batches = Iterable<Batch> | AsyncIterable<Batch>;

/** What one training step measured. */
export interface StepResult {
  loss: number;
  correct: number;
  examples: number;
}

/**
 * d2l's step on the device: forward, cross-entropy (mean), backward, and the optimizer's update guarded by
 * `ok && isFinite(loss)`, so a non-finite loss changes nothing without the loss being read back. Returns
 * `[loss, correct]` (float32 `[2]`) and the new guard, both still on the device.
 */
function stepOnDevice(
  model: Module,
  optimizer: Optimizer,
  x: tf.Tensor,
  y: tf.Tensor,
  ok: tf.Scalar | null,
): { row: tf.Tensor1D; ok: tf.Scalar } {
  const vars = optimizer.params.map(([, v]) => v);
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.forward(x);
    correct = tf.keep(countCorrect(logits, y));
    return softmaxCrossEntropy(logits, y);
  }, vars);
  const guard = tf.tidy(() => {
    const finite = tf.isFinite(value);
    return ok === null ? finite : tf.logicalAnd(ok, finite);
  }) as tf.Scalar;
  optimizer.step(grads, guard);
  const row = tf.tidy(() => tf.stack([value, tf.cast(correct!, 'float32')])) as tf.Tensor1D;
  tf.dispose([value, correct!, ...Object.values(grads)]);
  return { row, ok: guard };
}

/**
 * One step of d2l's loop: forward, cross-entropy (mean), backward, optimizer update; then the loss and the number
 * of correct predictions, read back (one wait for the device per call: `trainCh6` reads only at its log points).
 * On a non-finite loss it throws {@link NonFiniteLossError}, and the update was not applied: parameters and
 * optimizer buffers are as before (the optimizer's step count has advanced). Does not dispose `x`/`y` and does
 * not switch the model's mode.
 */
export async function trainStep(
  model: Module,
  optimizer: Optimizer,
  x: tf.Tensor,
  y: tf.Tensor,
): Promise<StepResult> {
  const { row, ok } = stepOnDevice(model, optimizer, x, y, null);
  ok.dispose();
  const [loss, correct] = await row.data();
  row.dispose();
  if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss!);
  return { loss: loss!, correct: correct!, examples: x.shape[0]! };
}

/** The epoch so far, as read back at a read point. */
export interface EpochMetrics {
  /** Loss of the last step read (the current batch when read from its `onBatchEnd`). */
  loss: number;
  /** Running mean loss and accuracy of the epoch (d2l's `train_l`, `train_acc`), weighted by examples. */
  trainLoss: number;
  trainAcc: number;
  /** Examples of the epoch so far. */
  examples: number;
  /** This epoch's examples over this epoch's timed seconds. */
  examplesPerSec: number;
}

const now = () => performance.now() / 1000;

/**
 * The running metrics of one epoch, kept on the device between read points. Each step leaves its loss and number
 * correct there; {@link read} fetches every pending step in one transfer and adds them up on the host in float64,
 * in step order — the same numbers as reading after every step, without draining a GPU's queue each step. The
 * update guard ("every loss so far was finite") stays on the device too, so a NaN step is never applied; the
 * read that meets it throws {@link NonFiniteLossError} naming the first bad step.
 *
 * The timer (d2l's) covers the steps' dispatch and the waits for their results.
 */
export class StepLog {
  private pending: Array<{ row: tf.Tensor1D; examples: number; position: StepPosition }> = [];
  private ok: tf.Scalar | null = null;
  private lastLoss = Number.NaN;
  private failure: NonFiniteLossError | null = null;
  private reading: Promise<unknown> = Promise.resolve();

  /**
   * `state` receives the sums and the timer (the trainer passes its run state, so a checkpoint holds them); by
   * default the log keeps its own.
   */
  constructor(
    private readonly state: Pick<RunState, 'accumulator' | 'trainSeconds'> = {
      accumulator: { loss: 0, correct: 0, examples: 0, seconds: 0 },
      trainSeconds: 0,
    },
  ) {}

  /** Examples stepped this epoch, read or not. */
  get examples(): number {
    return this.state.accumulator.examples + this.pending.reduce((n, p) => n + p.examples, 0);
  }

  /** Runs one guarded step; reads nothing back. */
  step(model: Module, optimizer: Optimizer, x: tf.Tensor, y: tf.Tensor, position: StepPosition): void {
    const started = now();
    const { row, ok } = stepOnDevice(model, optimizer, x, y, this.ok);
    this.ok?.dispose();
    this.ok = ok;
    this.pending.push({ row, examples: x.shape[0]!, position });
    this.time(started);
  }

  /** Reads the pending steps (one transfer) and returns the epoch so far; reads are served in order. */
  read(): Promise<EpochMetrics> {
    const next = this.reading.then(
      () => this.readPending(),
      () => this.readPending(),
    );
    // The trainer meets a failure at its own next read; a callback that did not await this one must not crash.
    next.catch(() => {});
    this.reading = next;
    return next;
  }

  private time(started: number): void {
    const dt = now() - started;
    this.state.accumulator.seconds += dt;
    this.state.trainSeconds += dt;
  }

  private snapshot(): EpochMetrics {
    const acc = this.state.accumulator;
    return {
      loss: this.lastLoss,
      trainLoss: acc.loss / acc.examples,
      trainAcc: acc.correct / acc.examples,
      examples: acc.examples,
      examplesPerSec: acc.examples / Math.max(acc.seconds, 1e-9),
    };
  }

  private async readPending(): Promise<EpochMetrics> {
    if (this.failure) throw this.failure;
    const steps = this.pending.splice(0);
    if (steps.length === 0) return this.snapshot();
    const started = now();
    const all = steps.length === 1 ? steps[0]!.row : tf.concat(steps.map((s) => s.row));
    let values: Float32Array;
    try {
      values = (await all.data()) as Float32Array;
    } finally {
      tf.dispose([all, ...steps.map((s) => s.row)]);
      this.time(started);
    }
    const acc = this.state.accumulator;
    steps.forEach(({ examples, position }, i) => {
      if (this.failure) return;
      const loss = values[2 * i]!;
      if (!Number.isFinite(loss)) {
        this.failure = new NonFiniteLossError(loss, position);
        return;
      }
      acc.loss += loss * examples;
      acc.correct += values[2 * i + 1]!;
      acc.examples += examples;
      this.lastLoss = loss;
    });
    if (this.failure) throw this.failure;
    return this.snapshot();
  }

  /** Frees what is still on the device (pending steps after an error, the guard). */
  dispose(): void {
    tf.dispose([...this.pending.splice(0).map((s) => s.row), ...(this.ok ? [this.ok] : [])]);
    this.ok = null;
  }
}

/**
 * Test accuracy as d2l's `evaluate_accuracy_gpu`: eval mode, no gradients, over every batch (disposing each);
 * the count stays on the device until the end.
 */
export async function evaluateAccuracy(model: Module, batches: Batches): Promise<number> {
  model.eval();
  let correct: tf.Tensor = tf.scalar(0, 'int32');
  let total = 0;
  try {
    for await (const { x, y } of batches) {
      try {
        const next = tf.tidy(() => tf.add(correct, countCorrect(model.forward(x), y)));
        correct.dispose();
        correct = next;
        total += y.shape[0]!;
      } finally {
        tf.dispose([x, y]);
      }
    }
    if (total === 0) throw new Error('evaluateAccuracy: the test data yielded no batches');
    return (await correct.data())[0]! / total;
  } finally {
    correct.dispose();
  }
}
