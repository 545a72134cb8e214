import type { Module } from '@skipnet/nn';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import type { History } from './history.ts';
import type { Optimizer, OptimizerState } from './optim.ts';
import type { ScheduleConfig } from './schedule.ts';
import type { RunStore } from './store.ts';

/** A JSON value: what a run's {@link RunConfig} holds. */
export type ConfigValue = string | number | boolean | null | ConfigValue[] | { [key: string]: ConfigValue };

/**
 * Settings of yours that the trainer does not know of (a command line's batch size, model, data set), kept with
 * every checkpoint as nanoGPT keeps `config` in its own: a resumed run gets them back and says which differ.
 */
export type RunConfig = Record<string, ConfigValue>;

/** Where a run stands: enough to continue it exactly (same batches, same curves). */
export interface RunState {
  /** Epochs finished (0-based index of the epoch in progress). */
  epoch: number;
  /**
   * Batches of epoch `epoch` already trained (0 at an epoch boundary; > 0 after an interruption). A resumed run
   * finds its place by `accumulator.examples` instead, so that batches of another size line up.
   */
  batch: number;
  /** Optimizer steps taken over the whole run (per-step schedules read it). */
  globalStep: number;
  /**
   * The epoch in progress so far: d2l's Accumulator (loss × examples, correct, examples) and its timed seconds.
   * `examples` is also the position inside the epoch: a resumed run skips that many of the epoch's examples.
   */
  accumulator: { loss: number; correct: number; examples: number; seconds: number };
  /** d2l's timer: seconds of the training steps and the waits for their results, over the whole run. */
  trainSeconds: number;
  /** Wall-clock seconds already spent on the epoch in progress. */
  epochSeconds: number;
  /** Batches per epoch, once known. */
  batchesPerEpoch: number | null;
  /** The seed the run was started with (init and data order derive from it and the epoch), or null. */
  seed: number | null;
  /** The optimizer's learning rate before any schedule (PyTorch's `initial_lr`); null in files of 0.1.0. */
  initialLr: number | null;
  /**
   * The optimizer's settings as the run made it, before a schedule moved any (the optimizer's file holds them as
   * they were when saved: a one-cycle schedule's momentum of the moment); null in files of 0.1.0.
   */
  hyper: Record<string, number | boolean> | null;
  /** Epochs the run is to train, in total; null in files of 0.1.0. */
  epochs: number | null;
  /** The schedule's {@link ScheduleConfig}; null without a schedule (and in files of 0.1.0). */
  schedule: ScheduleConfig | null;
  /** The run's {@link RunConfig}; null without one. */
  config: RunConfig | null;
  history: History;
}

/**
 * What a checkpoint says of the run's settings: what a resumed run starts from where you do not choose (the
 * optimizer factory gets it; {@link checkpointSettings} reads it before training).
 */
export interface CheckpointSettings {
  /** The optimizer's kind: `'SGD' | 'Adam' | 'AdamW'` or your optimizer's. */
  kind: string;
  /** The rate before any schedule (PyTorch's `initial_lr`). */
  initialLr: number;
  /** The optimizer's settings as the run made it, before a schedule moved any (files of 0.1.0: as saved). */
  hyper: Record<string, number | boolean>;
  /** Epochs the run was to train, in total; null when the file does not say (0.1.0). */
  epochs: number | null;
  /** The schedule's config; null without a schedule. */
  schedule: ScheduleConfig | null;
  /** The seed the run was started with, or null. */
  seed: number | null;
  /** The run's {@link RunConfig}, or null. */
  config: RunConfig | null;
}

/** The files of one checkpoint folder. */
export const CHECKPOINT_FILES = {
  weights: 'weights.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
} as const;

const FORMAT = 'skipnet-trainer-checkpoint';
const VERSION = 1;
const ROOT = 'checkpoints';
const POINTER = `${ROOT}/latest.json`;
/** Checkpoint folders; `-batch-` inside an epoch is how 0.1.0 named them (it sorts before `-examples-`). */
const NAME = /^epoch-\d{4,}(-batch-\d{6,}|-examples-\d{9,})?$/;

/**
 * A folder name that sorts in run order: `epoch-0003` at a boundary, `epoch-0003-examples-000000544` inside one
 * (after 544 examples of epoch 4). The position is counted in examples, as a resumed run finds it again: a count
 * of batches would sort a later checkpoint before an earlier one once a resumed run's batches are larger.
 */
export function checkpointName(state: Pick<RunState, 'epoch' | 'accumulator'>): string {
  const e = String(state.epoch).padStart(4, '0');
  const n = state.accumulator.examples;
  return n === 0 ? `epoch-${e}` : `epoch-${e}-examples-${String(n).padStart(9, '0')}`;
}

/**
 * GPU backends cannot read synchronously in Node (tfjs-backend-webgpu's sync read needs OffscreenCanvas), and
 * writeSafetensors reads with dataSync: an asynchronous read first leaves the values cached on the CPU.
 */
async function downloadAll(tensors: Record<string, tf.Tensor>): Promise<void> {
  await Promise.all(Object.values(tensors).map((t) => t.data()));
}

/**
 * `model.stateDict()` as safetensors bytes, as PyTorch's `save_file(model.state_dict())` would write them:
 * PyTorch names and layouts, `num_batches_tracked` as I64, so the seed's code loads it with `load_state_dict`.
 */
export async function modelSafetensors(model: Module): Promise<Uint8Array> {
  const tensors = model.stateDict();
  try {
    await downloadAll(tensors);
    const dtypes = Object.fromEntries(
      Object.keys(tensors)
        .filter((k) => k.endsWith('num_batches_tracked'))
        .map((k) => [k, 'I64' as const]),
    );
    return writeSafetensors(tensors, {
      dtypes,
      metadata: { format: 'pt', layout: 'PyTorch state_dict: conv OIHW, linear [out, in]' },
    });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

async function optimizerSafetensors(optimizer: Optimizer): Promise<Uint8Array> {
  const state = optimizer.stateDict();
  try {
    await downloadAll(state.tensors);
    return writeSafetensors(state.tensors, {
      metadata: {
        kind: state.kind,
        step: String(state.step),
        hyper: JSON.stringify(state.hyper),
        layout: 'slots keyed <parameter>.<slot>, in the parameters tfjs layout (conv HWIO, linear [in, out])',
      },
    });
  } finally {
    tf.dispose(Object.values(state.tensors));
  }
}

/**
 * Writes a checkpoint folder `checkpoints/<name>/` (model weights with PyTorch names, optimizer state, run state
 * and history) into `store`, whole, then points `checkpoints/latest.json` at it: a crash at any moment leaves
 * the previous checkpoint intact and `latest` naming a complete one. Keeps the newest `keep`. Returns the
 * folder as the store names it (its path, for a folder store).
 */
export async function saveCheckpoint(
  store: RunStore,
  parts: { model: Module; optimizer: Optimizer; state: RunState },
  keep = 2,
): Promise<string> {
  const name = checkpointName(parts.state);
  const state = { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), ...parts.state };
  await store.writeFolder(`${ROOT}/${name}`, {
    [CHECKPOINT_FILES.weights]: await modelSafetensors(parts.model),
    [CHECKPOINT_FILES.optimizer]: await optimizerSafetensors(parts.optimizer),
    [CHECKPOINT_FILES.state]: JSON.stringify(state, null, 1),
  });
  await store.write(POINTER, `${JSON.stringify({ checkpoint: name })}\n`);
  const names = await checkpointNames(store);
  const stale = names.filter((n) => n !== name).slice(0, Math.max(0, names.length - Math.max(1, keep)));
  for (const n of stale) await store.remove(`${ROOT}/${n}`);
  return store.locate(`${ROOT}/${name}`);
}

/** Checkpoint folders in the store, oldest first. */
async function checkpointNames(store: RunStore): Promise<string[]> {
  return (await store.list(ROOT)).filter((n) => NAME.test(n)).sort();
}

/** A file of a checkpoint that is missing or unreadable; `file` is the path inside the store. */
class Damage extends Error {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(what);
  }
}

/** No checkpoint of the run could be used; `problems` says, file by file, what is wrong. */
export class CheckpointError extends Error {
  constructor(
    readonly location: string,
    readonly problems: string[],
  ) {
    super(
      `cannot resume the run in ${location}: no complete checkpoint.\n` +
        problems.map((p) => `  ${p}\n`).join('') +
        'Start a new run (without resume, or into another folder), or restore a checkpoint from a backup.',
    );
    this.name = 'CheckpointError';
  }
}

/** The checkpoint folder `latest.json` names; null when there is no pointer; throws {@link Damage}. */
async function readPointer(store: RunStore): Promise<string | null> {
  const bytes = await store.read(POINTER);
  if (bytes === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Damage(POINTER, `is not JSON (${(e as Error).message})`);
  }
  const name = (json as { checkpoint?: unknown } | null)?.checkpoint;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new Damage(
      POINTER,
      `does not name a checkpoint folder (expected {"checkpoint": "epoch-0003"}, got ${JSON.stringify(json)?.slice(0, 80)})`,
    );
  }
  return name;
}

/** The newest checkpoint's folder name by `checkpoints/latest.json`, or null when the run has none. */
export async function latestCheckpoint(store: RunStore): Promise<string | null> {
  try {
    return await readPointer(store);
  } catch (e) {
    if (e instanceof Damage) throw new Error(`${store.locate(e.file)} ${e.message}`);
    throw e;
  }
}

const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const isNumber = (v: unknown) => typeof v === 'number';
const isAbsent = (v: unknown) => v === undefined || v === null;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isScheduleConfig = (v: unknown) =>
  isObject(v) &&
  typeof v['name'] === 'string' &&
  Object.values(v).every((x) => ['string', 'number', 'boolean'].includes(typeof x));

/** Checks state.json field by field, so a damaged file names what is wrong instead of failing later. */
function parseState(file: string, bytes: Uint8Array): RunState {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Damage(file, `is not JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object')
    throw new Damage(file, `is ${JSON.stringify(json)}, not an object`);
  if (json['format'] !== FORMAT || json['version'] !== VERSION) {
    throw new Damage(
      file,
      `is not a ${FORMAT} v${VERSION} file (format ${JSON.stringify(json['format'])}, version ${JSON.stringify(json['version'])})`,
    );
  }
  const acc = json['accumulator'] as Record<string, unknown> | null;
  const history = json['history'] as Record<string, unknown> | null;
  const checks: Array<[string, boolean]> = [
    ['epoch', isCount(json['epoch'])],
    ['batch', isCount(json['batch'])],
    ['globalStep', isCount(json['globalStep'])],
    ['accumulator', !!acc && ['loss', 'correct', 'examples', 'seconds'].every((k) => isNumber(acc[k]))],
    ['trainSeconds', isNumber(json['trainSeconds'])],
    ['epochSeconds', isNumber(json['epochSeconds'])],
    ['batchesPerEpoch', json['batchesPerEpoch'] === null || isCount(json['batchesPerEpoch'])],
    ['seed', json['seed'] === null || isNumber(json['seed'])],
    ['initialLr', isAbsent(json['initialLr']) || isNumber(json['initialLr'])],
    [
      'hyper',
      isAbsent(json['hyper']) ||
        (isObject(json['hyper']) &&
          Object.values(json['hyper']).every((v) => isNumber(v) || typeof v === 'boolean')),
    ],
    ['epochs', isAbsent(json['epochs']) || (isCount(json['epochs']) && (json['epochs'] as number) > 0)],
    ['schedule', isAbsent(json['schedule']) || isScheduleConfig(json['schedule'])],
    ['config', isAbsent(json['config']) || isObject(json['config'])],
    ['history', !!history && Array.isArray(history['points']) && Array.isArray(history['epochs'])],
  ];
  const bad = checks.filter(([, ok]) => !ok).map(([field]) => field);
  if (bad.length > 0) throw new Damage(file, `has missing or malformed fields: ${bad.join(', ')}`);
  const { format: _f, version: _v, savedAt: _s, ...state } = json;
  // Fields 0.1.0 did not write, as null.
  return { initialLr: null, hyper: null, epochs: null, schedule: null, config: null, ...state } as RunState;
}

/** Reads an optimizer state file written by {@link saveCheckpoint}; the caller disposes its tensors. */
export function readOptimizerState(bytes: Uint8Array): OptimizerState {
  const { metadata } = readSafetensorsHeader(bytes);
  const kind = metadata['kind'];
  const step = Number(metadata['step']);
  if (kind === undefined || !Number.isInteger(step)) {
    throw new Error('it has no kind/step metadata; it was not written by @skipnet/trainer');
  }
  let hyper: OptimizerState['hyper'];
  try {
    hyper = JSON.parse(metadata['hyper'] ?? '{}');
  } catch (e) {
    throw new Error(`its hyper metadata is not JSON (${(e as Error).message})`);
  }
  return { kind, step, hyper, tensors: readSafetensors(bytes) };
}

/** One checkpoint read into memory and checked; nothing of it is applied yet. The caller calls `dispose`. */
export interface CheckpointContents {
  /** The folder's name, e.g. `epoch-0003`. */
  name: string;
  state: RunState;
  weights: Record<string, tf.Tensor>;
  optimizer: OptimizerState;
  dispose(): void;
}

/** Reads all three files of checkpoint `name`, each checked; throws {@link Damage} naming the first bad one. */
async function readContents(store: RunStore, name: string): Promise<CheckpointContents> {
  const bytesOf = async (file: string) => {
    const path = `${ROOT}/${name}/${file}`;
    const bytes = await store.read(path);
    if (bytes === null) throw new Damage(path, 'is missing');
    return { path, bytes };
  };
  const stateFile = await bytesOf(CHECKPOINT_FILES.state);
  const state = parseState(stateFile.path, stateFile.bytes);
  const weightsFile = await bytesOf(CHECKPOINT_FILES.weights);
  const optimizerFile = await bytesOf(CHECKPOINT_FILES.optimizer);
  let weights: Record<string, tf.Tensor>;
  try {
    weights = readSafetensors(weightsFile.bytes);
  } catch (e) {
    throw new Damage(weightsFile.path, `cannot be read: ${(e as Error).message}`);
  }
  try {
    const optimizer = readOptimizerState(optimizerFile.bytes);
    return {
      name,
      state,
      weights,
      optimizer,
      dispose: () => tf.dispose([...Object.values(weights), ...Object.values(optimizer.tensors)]),
    };
  } catch (e) {
    tf.dispose(Object.values(weights));
    throw new Damage(optimizerFile.path, `cannot be read: ${(e as Error).message}`);
  }
}

/**
 * The checkpoint to resume from: the one `latest.json` names when it is complete, else the newest complete one
 * (each skipped file is reported through `log`). Null when the run has no checkpoint at all; throws
 * {@link CheckpointError} listing every problem when there are checkpoints but none is complete.
 */
export async function findCheckpoint(
  store: RunStore,
  log: (line: string) => void = () => {},
): Promise<CheckpointContents | null> {
  const problems: string[] = [];
  const note = (e: Damage) => problems.push(`${store.locate(e.file)} ${e.message}`);
  let pointed: string | null = null;
  try {
    pointed = await readPointer(store);
  } catch (e) {
    if (!(e instanceof Damage)) throw e;
    note(e);
  }
  const names = await checkpointNames(store);
  if (pointed === null && problems.length === 0 && names.length === 0) return null;
  if (pointed === null && problems.length === 0) problems.push(`${store.locate(POINTER)} is missing`);
  const candidates = [...new Set([...(pointed ? [pointed] : []), ...names.reverse()])];
  for (const name of candidates) {
    try {
      const contents = await readContents(store, name);
      if (problems.length > 0) {
        log(`resume: ${problems.join('; ')}`);
        log(`resume: continuing from ${store.locate(`${ROOT}/${name}`)}, the newest complete checkpoint`);
      }
      return contents;
    } catch (e) {
      if (!(e instanceof Damage)) throw e;
      note(e);
    }
  }
  throw new CheckpointError(store.location, problems);
}

/** The settings a checkpoint holds: the run's, and its optimizer's. */
export function settingsOf(contents: CheckpointContents): CheckpointSettings {
  const { state, optimizer } = contents;
  return {
    kind: optimizer.kind,
    initialLr: state.initialLr ?? Number(optimizer.hyper['lr']),
    hyper: state.hyper ?? optimizer.hyper,
    epochs: state.epochs,
    schedule: state.schedule,
    seed: state.seed,
    config: state.config,
  };
}

/**
 * The settings of the checkpoint a resumed run would continue from (the newest complete one, chosen as
 * {@link findCheckpoint} does), read before training: a command line fills in from it the settings its user did
 * not give again. Null when the store holds no checkpoint; throws {@link CheckpointError} when none is complete.
 */
export async function checkpointSettings(store: RunStore): Promise<CheckpointSettings | null> {
  const contents = await findCheckpoint(store);
  if (contents === null) return null;
  try {
    return settingsOf(contents);
  } finally {
    contents.dispose();
  }
}

/**
 * Puts a checkpoint's weights into `model` and its buffers and step count into `optimizer`. With
 * `keepHyper`, the optimizer keeps its own settings (learning rate, momentum); otherwise they are the
 * checkpoint's, as PyTorch's `load_state_dict` does. Errors name the folder and what does not fit.
 */
export function applyCheckpoint(
  store: RunStore,
  contents: CheckpointContents,
  parts: { model: Module; optimizer: Optimizer },
  options: { keepHyper?: boolean } = {},
): void {
  const where = store.locate(`${ROOT}/${contents.name}`);
  try {
    parts.model.loadStateDict(contents.weights);
  } catch (e) {
    throw new Error(`${where}: the weights do not fit this model: ${(e as Error).message}`);
  }
  const state = options.keepHyper ? { ...contents.optimizer, hyper: {} } : contents.optimizer;
  try {
    parts.optimizer.loadStateDict(state);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/**
 * Loads checkpoint `name` (or the newest complete one when null) into `model` and `optimizer`, settings
 * included, and returns the run state saved with it.
 */
export async function loadCheckpoint(
  store: RunStore,
  name: string | null,
  parts: { model: Module; optimizer: Optimizer },
): Promise<RunState> {
  let contents: CheckpointContents | null;
  try {
    contents = name === null ? await findCheckpoint(store) : await readContents(store, name);
  } catch (e) {
    if (e instanceof Damage) throw new Error(`${store.locate(e.file)} ${e.message}`);
    throw e;
  }
  if (contents === null) throw new Error(`${store.location} holds no checkpoint`);
  try {
    applyCheckpoint(store, contents, parts);
    return contents.state;
  } finally {
    contents.dispose();
  }
}

/**
 * The `weights.safetensors` bytes of checkpoint `name` (default: the one `latest.json` names): PyTorch names and
 * layouts, loadable by the seed's code with `load_state_dict(safetensors.torch.load_file(...))`. In a browser,
 * wrap them in a Blob to offer a download.
 */
export async function checkpointWeights(store: RunStore, name?: string): Promise<Uint8Array> {
  const folder = name ?? (await latestCheckpoint(store));
  if (folder === null) throw new Error(`${store.location} holds no checkpoint yet`);
  const path = `${ROOT}/${folder}/${CHECKPOINT_FILES.weights}`;
  const bytes = await store.read(path);
  if (bytes === null) throw new Error(`${store.locate(path)} is missing`);
  return bytes;
}
