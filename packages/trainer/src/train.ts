import { join } from 'node:path';
import { init, type Module } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainCallbacks } from './callbacks.ts';
import { latestCheckpoint, loadCheckpoint, type RunState, saveCheckpoint } from './checkpoint.ts';
import { writeFileAtomic } from './files.ts';
import { emptyHistory, epochsToCsv, formatEpochLine, historyToCsv } from './history.ts';
import { countCorrect, softmaxCrossEntropy } from './loss.ts';
import { type Optimizer, SGD } from './optim.ts';
import { plotSvg, svgToPng } from './plot.ts';
import { type ProgressMode, progressCallbacks } from './progress.ts';
import type { LRSchedule } from './schedule.ts';

/** One mini-batch: float32 images NHWC and int32 labels, as `@skipnet/cifar10`'s `batches()` yields them. */
export interface Batch {
  x: tf.Tensor;
  y: tf.Tensor;
}

/** Batches of one pass, sync or async. The trainer disposes every batch it takes. */
export type Batches = Iterable<Batch> | AsyncIterable<Batch>;

/**
 * A dataset the trainer can walk once per epoch. `batches(epoch)` gets the 0-based epoch, so a shuffling source
 * can seed its order from it and a resumed run sees the same order. `length` is batches per epoch, if known
 * (it places the Animator's five points per epoch and sizes the progress bar).
 */
export interface DataSource {
  batches(epoch: number): Batches;
  length?: number;
}

/** A {@link DataSource}, or just a function from epoch to batches. */
export type DataInput = DataSource | ((epoch: number) => Batches);

/** Options of {@link trainCh6}. */
export interface TrainOptions {
  /** Epochs to train (in total, counting those a resumed run already did). */
  epochs: number;
  /** Learning rate of the default optimizer, SGD without momentum as in d2l. */
  lr: number;
  /** Another optimizer over the model's named parameters, e.g. `(p) => new AdamW(p, { lr: 1e-3 })`. */
  optimizer?: (params: Array<[string, tf.Variable]>) => Optimizer;
  /** Learning-rate schedule, applied per epoch or per step as PyTorch's scheduler would be. */
  schedule?: LRSchedule;
  /** d2l's Xavier-uniform init of every Conv2d and Linear weight before training ('xavier', default), or 'none'. Never on resume. */
  init?: 'xavier' | 'none';
  /** Seeds the init (`init.xavierInit` of `@skipnet/nn`) and is saved with checkpoints. Default: unseeded. */
  seed?: number;
  /** Name of the device in the final line (d2l prints `cuda:0`). Default `tf.getBackend()`. */
  device?: string;
  /** Folder for checkpoints, `history.json`, `history.csv`, `epochs.csv` and `plot.svg`. Without it nothing is written. */
  outDir?: string;
  /** Continue the run saved in `outDir` (from `checkpoints/latest.json`); starts fresh when there is none. */
  resume?: boolean;
  /** Checkpoint folders to keep. Default 2. */
  keepCheckpoints?: number;
  /** Abort: the current batch finishes, a checkpoint is saved, and the call rejects with {@link TrainingAbortedError}. */
  signal?: AbortSignal;
  callbacks?: TrainCallbacks | TrainCallbacks[];
  /** Where the epoch lines and the final lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** Default 'auto': a bar on a TTY (stderr), plain lines when not a TTY. */
  progress?: ProgressMode;
  /** Title of `plot.svg`. */
  title?: string;
  /**
   * Also write `plot.png`: 'auto' (default) when the optional peer `@resvg/resvg-js` is installed, true to require
   * it, false never.
   */
  png?: boolean | 'auto';
}

/** What {@link trainCh6} resolves to. */
export interface TrainResult {
  history: RunState['history'];
  /** The last epoch's train loss, train accuracy and the last test accuracy (d2l's final line). */
  loss: number;
  trainAcc: number;
  testAcc: number;
  /** d2l's `metric[2] * num_epochs / timer.sum()`. */
  examplesPerSec: number;
  device: string;
  /** The last checkpoint folder, or null without `outDir`. */
  checkpoint: string | null;
}

/** The run was aborted through `signal`; the state after the last finished batch is saved in `checkpoint`. */
export class TrainingAbortedError extends Error {
  constructor(
    readonly epoch: number,
    readonly batch: number,
    readonly checkpoint: string | null,
  ) {
    super(
      `training aborted in epoch ${epoch} after batch ${batch}` +
        (checkpoint ? `; saved ${checkpoint}, continue with resume` : '; nothing saved (no outDir)'),
    );
    this.name = 'TrainingAbortedError';
  }
}

/** Where in a run a step happened: 1-based epoch and batch, and the step's number in the whole run. */
export interface StepPosition {
  epoch: number;
  batch: number;
  globalStep: number;
}

/** The loss became NaN or infinite; the step was not applied, and the last good checkpoint is kept. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: number,
    /** Null from a bare {@link trainStep}; set by {@link trainCh6}. */
    readonly position: StepPosition | null = null,
    readonly checkpoint: string | null = null,
  ) {
    const where = position
      ? ` in epoch ${position.epoch} at batch ${position.batch} (step ${position.globalStep} of the run)`
      : '';
    super(
      `loss is ${loss}${where}; the update was not applied. ` +
        (checkpoint ? `The last good checkpoint is ${checkpoint}. ` : '') +
        'Lower the learning rate, or check the inputs for NaN.',
    );
    this.name = 'NonFiniteLossError';
  }
}

/** What one training step measured. */
export interface StepResult {
  loss: number;
  correct: number;
  examples: number;
}

/**
 * One step of d2l's loop: forward, cross-entropy (mean), backward, optimizer update; then the loss and the number
 * of correct predictions. A non-finite loss throws before the update, leaving the model as it was. Does not
 * dispose `x`/`y` and does not switch the model's mode.
 */
export async function trainStep(
  model: Module,
  optimizer: Optimizer,
  x: tf.Tensor,
  y: tf.Tensor,
): Promise<StepResult> {
  const vars = optimizer.params.map(([, v]) => v);
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.forward(x);
    correct = tf.keep(countCorrect(logits, y));
    return softmaxCrossEntropy(logits, y);
  }, vars);
  const both = tf.tidy(() => tf.stack([value, tf.cast(correct!, 'float32')]));
  const [loss, hits] = await both.data();
  tf.dispose([both, value, correct!]);
  if (!Number.isFinite(loss)) {
    tf.dispose(Object.values(grads));
    throw new NonFiniteLossError(loss!);
  }
  optimizer.step(grads);
  tf.dispose(Object.values(grads));
  return { loss: loss!, correct: hits!, examples: x.shape[0]! };
}

/** Test accuracy as d2l's `evaluate_accuracy_gpu`: eval mode, no gradients, over every batch; disposes them. */
export async function evaluateAccuracy(model: Module, batches: Batches): Promise<number> {
  model.eval();
  let correct = 0;
  let total = 0;
  for await (const { x, y } of batches) {
    try {
      const hits = tf.tidy(() => countCorrect(model.forward(x), y));
      correct += (await hits.data())[0]!;
      hits.dispose();
      total += y.shape[0]!;
    } finally {
      tf.dispose([x, y]);
    }
  }
  if (total === 0) throw new Error('evaluateAccuracy: the test data yielded no batches');
  return correct / total;
}

const sourceOf = (input: DataInput): DataSource => (typeof input === 'function' ? { batches: input } : input);
const now = () => performance.now() / 1000;

async function each(list: TrainCallbacks[], fn: (c: TrainCallbacks) => void | Promise<void>): Promise<void> {
  for (const c of list) await fn(c);
}

/**
 * d2l 1.0.3's `train_ch6`: Xavier init, SGD(lr), cross-entropy; per epoch, train mode with loss and accuracy
 * weighted by examples, then test accuracy in eval mode; the Animator's points five times an epoch; at the end
 * `loss …, train acc …, test acc …` and `… examples/sec on <device>`. Plus checkpoints, resume, abort, progress,
 * optimizers and schedules through {@link TrainOptions}.
 */
export async function trainCh6(
  model: Module,
  trainData: DataInput,
  testData: DataInput,
  options: TrainOptions,
): Promise<TrainResult> {
  const { epochs, outDir, signal } = options;
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new Error(`trainCh6: epochs must be an integer >= 1, got ${epochs}`);
  const log = options.log ?? ((line: string) => console.log(line));
  const device = options.device ?? tf.getBackend();
  const train = sourceOf(trainData);
  const test = sourceOf(testData);
  const named = model.namedParameters();
  const optimizer = options.optimizer ? options.optimizer(named) : new SGD(named, { lr: options.lr });
  const callbacks = [
    progressCallbacks(options.progress ?? 'auto', log),
    ...(Array.isArray(options.callbacks) ? options.callbacks : options.callbacks ? [options.callbacks] : []),
  ];

  let state: RunState = {
    epoch: 0,
    batch: 0,
    globalStep: 0,
    accumulator: { loss: 0, correct: 0, examples: 0, seconds: 0 },
    trainSeconds: 0,
    epochSeconds: 0,
    batchesPerEpoch: train.length ?? null,
    seed: options.seed ?? null,
    history: emptyHistory(),
  };
  let resumedFrom: string | null = null;
  if (options.resume && outDir) resumedFrom = await latestCheckpoint(outDir);
  if (resumedFrom) state = await loadCheckpoint(resumedFrom, { model, optimizer });
  else if ((options.init ?? 'xavier') === 'xavier') init.xavierInit(model, { seed: options.seed });

  let checkpoint = resumedFrom;
  const save = async (): Promise<string | null> => {
    if (!outDir) return null;
    checkpoint = await saveCheckpoint(outDir, { model, optimizer, state }, options.keepCheckpoints ?? 2);
    return checkpoint;
  };
  const schedule = options.schedule;
  const applySchedule = (interval: 'epoch' | 'step', t: number) => {
    if (schedule?.interval !== interval) return;
    optimizer.lr = schedule.lr(t);
    if (schedule.momentum) optimizer.momentum = schedule.momentum(t);
  };

  let testAcc = state.history.epochs.at(-1)?.testAcc ?? Number.NaN;
  try {
    await each(callbacks, (c) => c.onTrainStart?.({ startEpoch: state.epoch, epochs, resumedFrom }));
    while (state.epoch < epochs) {
      const epoch = state.epoch;
      const skip = state.batch;
      const batches = train.length ?? state.batchesPerEpoch;
      const pointEvery = batches === null ? null : Math.max(1, Math.floor(batches / 5));
      const started = now() - state.epochSeconds;
      const acc = state.accumulator;
      model.train();
      applySchedule('epoch', epoch);
      await each(callbacks, (c) => c.onEpochStart?.({ epoch, epochs, batches, skip }));

      let i = 0;
      for await (const { x, y } of train.batches(epoch)) {
        if (i < skip) {
          tf.dispose([x, y]);
          i++;
          continue;
        }
        applySchedule('step', state.globalStep);
        let step: StepResult;
        const t0 = now();
        try {
          step = await trainStep(model, optimizer, x, y);
        } catch (e) {
          if (e instanceof NonFiniteLossError) {
            const position = { epoch: epoch + 1, batch: i + 1, globalStep: state.globalStep + 1 };
            throw new NonFiniteLossError(e.loss, position, checkpoint);
          }
          throw e;
        } finally {
          tf.dispose([x, y]);
        }
        acc.loss += step.loss * step.examples;
        acc.correct += step.correct;
        acc.examples += step.examples;
        const dt = now() - t0;
        state.trainSeconds += dt;
        acc.seconds += dt;
        i++;
        state.batch = i;
        state.globalStep++;
        const trainLoss = acc.loss / acc.examples;
        const trainAcc = acc.correct / acc.examples;
        if (pointEvery !== null && (i % pointEvery === 0 || i === batches)) {
          state.history.points.push({ epoch: epoch + i / batches!, trainLoss, trainAcc });
        }
        await each(callbacks, (c) =>
          c.onBatchEnd?.({
            epoch,
            batch: i,
            batches,
            globalStep: state.globalStep,
            loss: step.loss,
            trainLoss,
            trainAcc,
            examples: acc.examples,
            examplesPerSec: acc.examples / Math.max(state.trainSeconds, 1e-9),
            lr: optimizer.lr,
          }),
        );
        if (signal?.aborted) {
          state.epochSeconds = now() - started;
          throw new TrainingAbortedError(epoch + 1, i, await save());
        }
      }
      if (i === 0) throw new Error(`trainCh6: the training data yielded no batches in epoch ${epoch + 1}`);
      if (batches === null) {
        // Length unknown until now: d2l's point at the end of the epoch.
        state.history.points.push({
          epoch: epoch + 1,
          trainLoss: acc.loss / acc.examples,
          trainAcc: acc.correct / acc.examples,
        });
      }
      await each(callbacks, (c) => c.onEvaluateStart?.({ epoch }));
      testAcc = await evaluateAccuracy(model, test.batches(epoch));
      state.history.points.push({ epoch: epoch + 1, testAcc });
      const record = {
        epoch: epoch + 1,
        loss: acc.loss / acc.examples,
        trainAcc: acc.correct / acc.examples,
        testAcc,
        time: now() - started,
        trainTime: acc.seconds,
        examples: acc.examples,
        lr: optimizer.lr,
      };
      state.history.epochs.push(record);
      log(formatEpochLine(record));
      state = {
        ...state,
        epoch: epoch + 1,
        batch: 0,
        batchesPerEpoch: i,
        accumulator: { loss: 0, correct: 0, examples: 0, seconds: 0 },
        epochSeconds: 0,
      };
      await save();
      if (outDir) await writeReports(outDir, state, { epochs, title: options.title, png: options.png });
      await each(callbacks, (c) => c.onEpochEnd?.({ record, history: state.history, checkpoint }));
      if (signal?.aborted && state.epoch < epochs) throw new TrainingAbortedError(epoch + 1, i, checkpoint);
    }
  } finally {
    optimizer.dispose();
    await each(callbacks, (c) => c.onTrainEnd?.({ history: state.history }));
  }

  const last = state.history.epochs.at(-1)!;
  const examplesPerSec = (last.examples * epochs) / state.trainSeconds;
  log(
    `loss ${last.loss.toFixed(3)}, train acc ${last.trainAcc.toFixed(3)}, test acc ${last.testAcc.toFixed(3)}`,
  );
  log(`${examplesPerSec.toFixed(1)} examples/sec on ${device}`);
  return {
    history: state.history,
    loss: last.loss,
    trainAcc: last.trainAcc,
    testAcc,
    examplesPerSec,
    device,
    checkpoint,
  };
}

/**
 * Writes `history.json`, `history.csv`, `epochs.csv`, `plot.svg` and (see {@link TrainOptions.png}) `plot.png`
 * into `dir`, each atomically.
 */
export async function writeReports(
  dir: string,
  state: Pick<RunState, 'history'>,
  plot: { epochs?: number; title?: string | undefined; png?: boolean | 'auto' | undefined } = {},
): Promise<void> {
  await writeFileAtomic(join(dir, 'history.json'), JSON.stringify(state.history, null, 1) + '\n');
  await writeFileAtomic(join(dir, 'history.csv'), historyToCsv(state.history));
  await writeFileAtomic(join(dir, 'epochs.csv'), epochsToCsv(state.history));
  const svg = plotSvg(state.history, { epochs: plot.epochs, title: plot.title });
  await writeFileAtomic(join(dir, 'plot.svg'), svg);
  const png = plot.png ?? 'auto';
  if (png === false) return;
  const bytes = await svgToPng(svg);
  if (bytes) await writeFileAtomic(join(dir, 'plot.png'), bytes);
  else if (png === true) {
    throw new Error('plot.png needs the optional peer @resvg/resvg-js: npm install @resvg/resvg-js');
  }
}
