import type { Module } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainCallbacks } from './callbacks.ts';
import {
  applyCheckpoint,
  type CheckpointSettings,
  findCheckpoint,
  type RunConfig,
  type RunState,
  saveCheckpoint,
  settingsOf,
} from './checkpoint.ts';
import { NonFiniteLossError, ResumeDataError, TrainingAbortedError } from './errors.ts';
import { emptyHistory, formatEpochLine } from './history.ts';
import { type InitMode, initialise } from './init.ts';
import { type Optimizer, SGD } from './optim.ts';
import { type ProgressMode, progressCallbacks } from './progress.ts';
import { type PlotPngRenderer, reportCallbacks } from './reports.ts';
import type { LRSchedule, ScheduleConfig } from './schedule.ts';
import { type Batches, evaluateAccuracy, StepLog } from './step.ts';
import type { RunStore } from './store.ts';

/**
 * A dataset the trainer can walk once per epoch. `batches(epoch)` gets the 0-based epoch, so a shuffling source
 * can seed its order from it and a resumed run sees the same order. `length` is batches per epoch, if known
 * (`split.batchCount({ batchSize })` for `@skipnet/cifar10`): it places the Animator's five points per epoch and
 * sizes the progress from the first epoch on; without it the trainer counts epoch 1's batches.
 */
export interface DataSource {
  batches(epoch: number): Batches;
  length?: number;
}

/** A {@link DataSource}, or just a function from epoch to batches. */
export type DataInput = DataSource | ((epoch: number) => Batches);

/**
 * Makes the optimizer over the model's named parameters. `resumed` is the checkpoint's settings when the run
 * continues one (null otherwise): a factory can default what its user did not choose from them.
 */
export type OptimizerFactory = (
  params: Array<[string, tf.Variable]>,
  resumed: CheckpointSettings | null,
) => Optimizer;

/** Options of {@link trainCh6}. */
export interface TrainOptions {
  /** Epochs to train (in total, counting those a resumed run already did). */
  epochs: number;
  /** d2l's `lr`: the run uses `SGD(lr)`, no momentum. Give this or `optimizer`, not both. */
  lr?: number;
  /**
   * The optimizer, e.g. `(p) => new SGD(p, { lr: 0.05, momentum: 0.9 })`: a factory (the trainer disposes what it
   * makes) or an instance over this model's parameters (yours to dispose). Its `lr` is the run's base rate.
   */
  optimizer?: Optimizer | OptimizerFactory;
  /**
   * Learning-rate schedule from the optimizer's rate, applied per epoch or per step as PyTorch's would be. It
   * counts epochs and steps from the run's start, so a resumed run continues it where it was.
   */
  schedule?: LRSchedule;
  /**
   * Settings of yours the trainer does not know of (a command line's batch size, model, data set), as JSON: kept
   * in every checkpoint, handed back on resume (`CheckpointSettings.config`) and compared like the trainer's own.
   */
  config?: RunConfig;
  /**
   * 'auto' (default): d2l's Xavier-uniform init of every Conv2d and Linear weight for a fresh model; a model
   * whose weights were loaded (PyTorch weights, a checkpoint) keeps them, and the run says so. 'xavier' always
   * initialises, 'none' never. A resumed run never initialises.
   */
  init?: InitMode;
  /** Seeds the init of every parameter (see `xavierInit`) and is saved with checkpoints. Default: unseeded. */
  seed?: number;
  /** Name of the device in the final line (d2l prints `cuda:0`). Default `tf.getBackend()`. */
  device?: string;
  /**
   * Where checkpoints, `history.json`, `history.csv`, `epochs.csv` and `plot.svg` go: an `IndexedDBStore` in a
   * browser, a `FolderStore` in Node (or `outDir` there). Without it nothing is written.
   */
  store?: RunStore;
  /**
   * Continue the run in `store` from its newest complete checkpoint (a damaged one is skipped with a line saying
   * so); starts fresh when there is none. The settings are yours (optimizer, schedule, epochs, seed, config):
   * those that differ from the checkpoint's are logged, a schedule of another kind in a line of its own.
   */
  resume?: boolean;
  /** Checkpoint folders to keep. Default 2. */
  keepCheckpoints?: number;
  /** Abort: the current batch finishes, a checkpoint is saved, and the call rejects with {@link TrainingAbortedError}. */
  signal?: AbortSignal;
  /** Your callbacks, run after the default ones (progress, then the reports). */
  callbacks?: TrainCallbacks | TrainCallbacks[];
  /** Where the epoch lines, the final lines and notes (resume, init) go. Default `console.log`. */
  log?: (line: string) => void;
  /** Default 'auto': lines here ('bar' needs the Node entry and a terminal). */
  progress?: ProgressMode;
  /** Title of `plot.svg`. */
  title?: string;
  /** Renders `plot.png` beside `plot.svg` (the Node entry sets it from its `png` option). */
  plotPng?: PlotPngRenderer;
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
  /** The last checkpoint folder as the store names it, or null without a store. */
  checkpoint: string | null;
}

const sourceOf = (input: DataInput): DataSource => (typeof input === 'function' ? { batches: input } : input);
const now = () => performance.now() / 1000;

/**
 * Lets waiting tasks run (Ctrl-C's handler, a page's Stop message to its worker): on wasm and cpu a step awaits
 * only settled promises, so without this an abort would wait for the epoch's end. At most every 50 ms, as
 * `setTimeout` costs a millisecond or more.
 */
function taskYielder(): () => Promise<void> {
  let last = now();
  return async () => {
    if (now() - last < 0.05) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    last = now();
  };
}

async function each(list: TrainCallbacks[], fn: (c: TrainCallbacks) => void | Promise<void>): Promise<void> {
  for (const c of list) await fn(c);
}

/** The run's optimizer from `lr` or `optimizer`; `owned` when the trainer made it (and so disposes it). */
function makeOptimizer(
  model: Module,
  options: TrainOptions,
  resumed: CheckpointSettings | null,
): { optimizer: Optimizer; owned: boolean } {
  const { lr, optimizer } = options;
  if (lr !== undefined && optimizer !== undefined) {
    throw new Error(
      "trainCh6: pass lr or optimizer, not both: the optimizer's own learning rate is the run's rate, so lr " +
        'would be ignored. Drop lr, or set the rate in the optimizer (new SGD(params, { lr })).',
    );
  }
  const named = model.namedParameters();
  if (optimizer === undefined) {
    if (lr === undefined) throw new Error('trainCh6: give lr (d2l: plain SGD) or an optimizer');
    return { optimizer: new SGD(named, { lr }), owned: true };
  }
  const made = typeof optimizer === 'function' ? optimizer(named, resumed) : optimizer;
  const own = new Set(model.parameters());
  const foreign = made.params.filter(([, v]) => !own.has(v)).map(([name]) => name);
  if (foreign.length > 0) {
    throw new Error(
      `trainCh6: the optimizer holds parameters that are not this model's (${foreign.slice(0, 3).join(', ')}); ` +
        'build it over model.namedParameters()',
    );
  }
  return { optimizer: made, owned: typeof optimizer === 'function' };
}

/** A setting's value as the lines show it (JSON for lists and objects). */
const shown = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));

/** `key value (checkpoint value)` for each setting the checkpoint also has and that differs from it. */
function differences(ours: Record<string, unknown>, theirs: Record<string, unknown>, prefix = ''): string[] {
  return Object.keys(ours)
    .filter((k) => k in theirs && shown(ours[k]) !== shown(theirs[k]))
    .map((k) => `${prefix}${k} ${shown(ours[k])} (checkpoint ${shown(theirs[k])})`);
}

/** A schedule as code would make it: `cosineAnnealingLR({ tMax: 4, etaMin: 0, interval: "epoch" })`. */
function describeSchedule(config: ScheduleConfig | null): string {
  if (config === null) return 'a constant rate (no schedule)';
  const { name, ...settings } = config;
  const list = Object.entries(settings).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return `${name}(${list.length > 0 ? `{ ${list.join(', ')} }` : ''})`;
}

/**
 * The lines a resumed run logs about its settings against the checkpoint's: one listing each that differs (yours
 * are used), and one more when the schedule is of another kind, saying where the new schedule takes over.
 */
function resumeNotes(
  ours: CheckpointSettings,
  theirs: CheckpointSettings,
  state: RunState,
  batchesPerEpoch: number | null,
  scheduled: readonly string[],
): string[] {
  // A one-cycle schedule sets the momentum at every step: the optimizer's own is not in use, on either side.
  const hyper = (h: Record<string, number | boolean>) =>
    Object.fromEntries(Object.entries(h).filter(([k]) => !scheduled.includes(k)));
  // The run's own settings last, so that a config key of the same name cannot hide them.
  const settings = (s: CheckpointSettings, batches: number | null) => ({
    ...s.config,
    ...hyper(s.hyper),
    lr: s.initialLr,
    ...(s.seed === null ? {} : { seed: s.seed }),
    ...(s.epochs === null ? {} : { epochs: s.epochs }),
    ...(batches === null ? {} : { batchesPerEpoch: batches }),
  });
  const changed = differences(settings(ours, batchesPerEpoch), settings(theirs, state.batchesPerEpoch));
  const [mine, before] = [ours.schedule, theirs.schedule];
  const sameKind = mine?.name === before?.name;
  if (mine && before && sameKind) changed.push(...differences(mine, before, `${mine.name} `));
  if (!sameKind) changed.push(`schedule ${mine?.name ?? 'none'} (checkpoint ${before?.name ?? 'none'})`);
  const notes: string[] = [];
  if (changed.length > 0)
    notes.push(`resume: settings differ from the checkpoint's, yours are used: ${changed.join(', ')}`);
  if (!sameKind) {
    // Not refused: a schedule is yours to change (say, a constant low rate after a finished cycle). Schedules count
    // from the run's start, so the new one does not start over: it gives the rate it has at this point of the run.
    notes.push(
      `resume: the schedule is not the checkpoint's: ${describeSchedule(mine)} takes over from ` +
        `${describeSchedule(before)} at epoch ${state.epoch + 1}, step ${state.globalStep + 1} of the run, ` +
        'with the rate it gives there, as if the run had used it from the start',
    );
  }
  return notes;
}

interface Run {
  state: RunState;
  optimizer: Optimizer;
  owned: boolean;
  resumedFrom: string | null;
}

/**
 * The run's starting point: the newest complete checkpoint of `store` when resuming (your settings win;
 * differences are logged), else a fresh state and d2l's init. Clears what a killed run left half-written.
 */
async function startRun(
  model: Module,
  options: TrainOptions,
  batchesPerEpoch: number | null,
  log: (line: string) => void,
): Promise<Run> {
  const { store } = options;
  if (options.resume && !store)
    throw new Error('trainCh6: resume needs the run to continue: pass store (or outDir)');
  if (store) {
    const removed = await store.clean();
    if (removed.length > 0) log(`removed what an interrupted run left half-written: ${removed.join(', ')}`);
  }
  const contents = options.resume && store ? await findCheckpoint(store, log) : null;
  try {
    const saved = contents && settingsOf(contents);
    const { optimizer, owned } = makeOptimizer(model, options, saved);
    const seed = options.seed ?? null;
    // What this run records in its checkpoints (a resumed run: the settings it now runs with).
    const settings = {
      initialLr: optimizer.lr,
      hyper: tf.tidy(() => optimizer.stateDict().hyper),
      epochs: options.epochs,
      schedule: options.schedule?.config ?? null,
      config: options.config ?? null,
    };
    if (!contents || !saved || !store) {
      initialise(model, options.init ?? 'auto', options.seed, log);
      const state: RunState = {
        epoch: 0,
        batch: 0,
        globalStep: 0,
        accumulator: { loss: 0, correct: 0, examples: 0, seconds: 0 },
        trainSeconds: 0,
        epochSeconds: 0,
        batchesPerEpoch: null,
        seed,
        ...settings,
        history: emptyHistory(),
      };
      return { state, optimizer, owned, resumedFrom: null };
    }
    try {
      applyCheckpoint(store, contents, { model, optimizer }, { keepHyper: true });
    } catch (e) {
      if (owned) optimizer.dispose();
      throw e;
    }
    const ours: CheckpointSettings = { kind: saved.kind, seed, ...settings };
    const scheduled = options.schedule?.momentum ? ['momentum', 'beta1'] : [];
    for (const note of resumeNotes(ours, saved, contents.state, batchesPerEpoch, scheduled)) log(note);
    const resumedFrom = store.locate(`checkpoints/${contents.name}`);
    const state = { ...contents.state, ...settings, seed: seed ?? contents.state.seed };
    return { state, optimizer, owned, resumedFrom };
  } finally {
    contents?.dispose();
  }
}

/**
 * d2l 1.0.3's `train_ch6`: Xavier init, SGD(lr), cross-entropy; per epoch, train mode with loss and accuracy
 * weighted by examples, then test accuracy in eval mode; the Animator's points five times an epoch; at the end
 * `loss …, train acc …, test acc …` and `… examples/sec on <device>`. Plus checkpoints and reports in a
 * {@link RunStore}, resume, abort, progress, optimizers and schedules through {@link TrainOptions}. The loss and
 * accuracy stay on the device between the Animator's points (see {@link StepLog}).
 */
export async function trainCh6(
  model: Module,
  trainData: DataInput,
  testData: DataInput,
  options: TrainOptions,
): Promise<TrainResult> {
  const { epochs, store, signal, schedule } = options;
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new Error(`trainCh6: epochs must be an integer >= 1, got ${epochs}`);
  const log = options.log ?? ((line: string) => console.log(line));
  const device = options.device ?? tf.getBackend();
  const train = sourceOf(trainData);
  const test = sourceOf(testData);
  const callbacks = [
    progressCallbacks(options.progress ?? 'auto', log),
    ...(store ? [reportCallbacks(store, { epochs, title: options.title, plotPng: options.plotPng })] : []),
    ...(Array.isArray(options.callbacks) ? options.callbacks : options.callbacks ? [options.callbacks] : []),
  ];
  const {
    state: start,
    optimizer,
    owned,
    resumedFrom,
  } = await startRun(model, options, train.length ?? null, log);
  let state = start;
  if (resumedFrom !== null && state.epoch >= epochs) {
    log(`resume: the run has trained ${state.epoch} epochs of ${epochs} already; raise epochs to train on`);
  }
  const initialLr = state.initialLr!;
  let checkpoint = resumedFrom;
  const save = async (): Promise<string | null> => {
    if (!store) return null;
    checkpoint = await saveCheckpoint(store, { model, optimizer, state }, options.keepCheckpoints ?? 2);
    return checkpoint;
  };
  // The one place the rate (and a one-cycle momentum) is written: before every step.
  const setRate = (epoch: number, step: number) => {
    const t = schedule?.interval === 'epoch' ? epoch : step;
    optimizer.lr = schedule ? schedule.lr(t, initialLr) : initialLr;
    if (schedule?.momentum) optimizer.momentum = schedule.momentum(t);
  };

  /**
   * One epoch of training from the run's position on: a run resumed inside the epoch skips the examples the
   * checkpoint trained (their count, not their batches, so batches of another size line up). Returns the
   * epoch's batch count.
   */
  const trainEpoch = async (epoch: number, started: number): Promise<number> => {
    const trained = state.accumulator.examples;
    // The position counts examples of the run's data: in data with another number an epoch than the run's, the
    // examples skipped as trained would be other images.
    const runExamples = trained > 0 ? (state.history.epochs.at(-1)?.examples ?? null) : null;
    const steps = new StepLog(state);
    const letTasksIn = taskYielder();
    let batches: number | null = null;
    let pointEvery: number | null = null;
    let begun = false;
    /**
     * Starts the epoch where the run is: after `skip` whole batches and `cut` examples of the next (of `size`),
     * which trains only its remaining ones. Batches of another size than the checkpoint's are said; their count
     * is the data's `length`, else unknown until the epoch ends.
     */
    const begin = async (skip: number, cut = 0, size = 0) => {
      const same = skip === state.batch && cut === 0;
      if (!same) {
        const rest = cut > 0 ? `, and the next trains only its last ${size - cut} of ${size}` : '';
        log(
          `resume: epoch ${epoch + 1} continues after the ${trained} examples the checkpoint trained of it, in ` +
            `batches of another size than the checkpoint's: ${skip} skipped${rest}`,
        );
      }
      batches = train.length ?? (same ? state.batchesPerEpoch : null);
      pointEvery = batches === null ? null : Math.max(1, Math.floor(batches / 5));
      begun = true;
      await each(callbacks, (c) => c.onEpochStart?.({ epoch, epochs, batches, skip }));
    };
    try {
      if (trained === 0) await begin(0);
      let i = 0;
      let seen = 0;
      for await (const batch of train.batches(epoch)) {
        const size = batch.x.shape[0]!;
        const before = seen;
        seen += size;
        if (runExamples !== null && seen > runExamples) {
          tf.dispose([batch.x, batch.y]);
          throw new ResumeDataError(epoch + 1, trained, seen, runExamples, resumedFrom);
        }
        if (seen <= trained) {
          tf.dispose([batch.x, batch.y]);
          i++;
          continue;
        }
        let { x, y } = batch;
        if (!begun) {
          const cut = trained - before;
          if (cut > 0) {
            // The batch straddles the position: only its examples the checkpoint did not train are trained.
            [x, y] = [tf.slice(x, cut), tf.slice(y, cut)];
            tf.dispose([batch.x, batch.y]);
          }
          await begin(i, cut, size);
        }
        setRate(epoch, state.globalStep);
        const position = { epoch: epoch + 1, batch: i + 1, globalStep: state.globalStep + 1 };
        try {
          steps.step(model, optimizer, x, y, position);
        } finally {
          tf.dispose([x, y]);
        }
        state.batch = ++i;
        state.globalStep++;
        if (pointEvery !== null && (i % pointEvery === 0 || i === batches)) {
          const { trainLoss, trainAcc } = await steps.read();
          state.history.points.push({ epoch: epoch + i / batches!, trainLoss, trainAcc });
        }
        const info = { epoch, batch: i, batches, globalStep: state.globalStep, examples: steps.examples };
        await each(callbacks, (c) =>
          c.onBatchEnd?.({ ...info, lr: optimizer.lr, metrics: () => steps.read() }),
        );
        await letTasksIn();
        if (signal?.aborted) {
          await steps.read();
          state.epochSeconds = now() - started;
          throw new TrainingAbortedError(epoch + 1, i, await save());
        }
      }
      if (i === 0) throw new Error(`trainCh6: the training data yielded no batches in epoch ${epoch + 1}`);
      if (seen < trained || (runExamples !== null && seen !== runExamples))
        throw new ResumeDataError(epoch + 1, trained, seen, runExamples, resumedFrom);
      if (!begun) await begin(i);
      const { trainLoss, trainAcc } = await steps.read();
      // Length unknown until now: d2l's point at the end of the epoch.
      if (batches === null) state.history.points.push({ epoch: epoch + 1, trainLoss, trainAcc });
      return i;
    } finally {
      steps.dispose();
    }
  };

  let testAcc = state.history.epochs.at(-1)?.testAcc ?? Number.NaN;
  try {
    await each(callbacks, (c) => c.onTrainStart?.({ startEpoch: state.epoch, epochs, resumedFrom }));
    while (state.epoch < epochs) {
      const epoch = state.epoch;
      const started = now() - state.epochSeconds;
      model.train();
      const count = await trainEpoch(epoch, started);
      await each(callbacks, (c) => c.onEvaluateStart?.({ epoch }));
      testAcc = await evaluateAccuracy(model, test.batches(epoch));
      state.history.points.push({ epoch: epoch + 1, testAcc });
      const acc = state.accumulator;
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
        batchesPerEpoch: count,
        accumulator: { loss: 0, correct: 0, examples: 0, seconds: 0 },
        epochSeconds: 0,
      };
      await save();
      await each(callbacks, (c) => c.onEpochEnd?.({ record, history: state.history, checkpoint }));
      if (signal?.aborted && state.epoch < epochs)
        throw new TrainingAbortedError(epoch + 1, count, checkpoint);
    }
  } catch (e) {
    if (e instanceof NonFiniteLossError && checkpoint !== null) {
      throw new NonFiniteLossError(e.loss, e.position, checkpoint);
    }
    throw e;
  } finally {
    if (owned) optimizer.dispose();
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
