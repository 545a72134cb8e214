// One training run in the page: the CLI's run (examples/train-node) with the browser's pieces: the backend the
// page can have, the dataset from a file or URL (or the synthetic set), and the run kept in IndexedDB.
import type { BackendChoice } from '@skipnet/backend';
import { selectBackend } from '@skipnet/backend';
import {
  type CifarDataset,
  type CifarSplit,
  loadSynthetic,
  readCifarFiles,
  readCifarTarball,
  resize,
} from '@skipnet/cifar10';
import type { Module } from '@skipnet/nn';
import { cifarResNet, seedResNet } from '@skipnet/resnet';
import {
  Adam,
  AdamW,
  CheckpointError,
  type CheckpointSettings,
  checkpointSettings,
  cosineAnnealingLR,
  type DataSource,
  type History,
  IndexedDBStore,
  type LRSchedule,
  latestCheckpoint,
  type OptimizerFactory,
  oneCycleLR,
  SGD,
  stepLR,
  type TrainCallbacks,
  type TrainResult,
  trainCh6,
} from '@skipnet/trainer';
import { WASM_PATHS } from './page.ts';
import { runConfig, type TrainSettings, withCheckpoint } from './settings.ts';

/** The one run this page keeps (IndexedDB database 'skipnet-trainer', run 'train-browser'). */
export const store = new IndexedDBStore({ run: 'train-browser' });

/** Whether the store holds a checkpoint to resume from or download. */
export async function hasCheckpoint(): Promise<boolean> {
  return (await latestCheckpoint(store)) !== null;
}

let backend: BackendChoice | null = null;

/** The backend for `requested`, chosen once per page and kept while the setting stays the same. */
export async function backendFor(requested: TrainSettings['backend']): Promise<BackendChoice> {
  if (backend === null || (requested !== 'auto' && requested !== backend.name)) {
    backend = await selectBackend(requested, { wasmPaths: WASM_PATHS });
  }
  return backend;
}

export interface DataChoice {
  /** Files the user picked (the tarball, or the .bin files). */
  files: File[];
}

/** The synthetic set's sizes when no subset is given: the CLI's few-minute default. */
const SYNTHETIC_DEFAULTS = { train: 1024, test: 256 } as const;

async function loadData(
  s: TrainSettings,
  data: DataChoice,
  log: (line: string) => void,
): Promise<CifarDataset> {
  if (s.dataset === 'synthetic') {
    const sizes = s.subset === undefined ? SYNTHETIC_DEFAULTS : { train: s.subset, test: s.subset };
    return loadSynthetic({ trainSize: sizes.train, testSize: sizes.test, seed: s.seed });
  }
  // As the CLI's --subset: the first N images of each split.
  const subset = s.subset === undefined ? undefined : { train: s.subset, test: s.subset };
  // The official archive's MD5 unless the md5 setting names another (a mirror of a subset, a copy of your own).
  const md5 = s.md5;
  if (data.files.length === 1 && !data.files[0]!.name.endsWith('.bin')) {
    log(`reading ${data.files[0]!.name} (checking its MD5)`);
    return readCifarTarball(data.files[0]!, { subset, name: data.files[0]!.name, md5 });
  }
  // The extracted files have no published checksums: each is checked for CIFAR-10's record layout instead.
  if (data.files.length > 0) return readCifarFiles(data.files, { subset });
  if (s.url) {
    log(`downloading ${s.url} (checking its MD5)`);
    let response: Response;
    try {
      response = await fetch(s.url);
    } catch (error) {
      // fetch says only "Failed to fetch": the usual cause from a page is a server that does not allow it.
      throw new Error(
        `${s.url}: the download failed (${(error as Error).message}). The server must be reachable and send ` +
          `Access-Control-Allow-Origin for this page (CORS); or pick the file instead.`,
      );
    }
    if (!response.ok) throw new Error(`${s.url}: HTTP ${response.status} ${response.statusText}`);
    return readCifarTarball(response, { subset, name: s.url, md5 });
  }
  throw new Error(
    'dataset cifar10 needs the data: pick cifar-10-binary.tar.gz (or its .bin files), or give a URL that serves it with CORS',
  );
}

function makeModel(s: TrainSettings, numClasses: number, imageSize: number): Module {
  if (s.model === 'cifar') return cifarResNet({ numClasses, widths: s.widths });
  // The seed's AvgPool2d(3) head only fits 96-ish inputs; other sizes get global pooling.
  return seedResNet({ numClasses, widths: s.widths, ...(imageSize === 96 ? {} : { head: 'global' }) });
}

function makeOptimizer(s: TrainSettings): OptimizerFactory {
  switch (s.optimizer) {
    case 'sgd':
      return (params) => new SGD(params, { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay });
    case 'adam':
      return (params) => new Adam(params, { lr: s.lr, weightDecay: s.weightDecay });
    case 'adamw':
      return (params) => new AdamW(params, { lr: s.lr, weightDecay: s.weightDecay });
  }
}

function makeSchedule(s: TrainSettings, stepsPerEpoch: number): LRSchedule | undefined {
  switch (s.schedule) {
    case 'constant':
      return undefined;
    case 'step':
      return stepLR({ stepSize: Math.max(1, Math.round(s.epochs / 3)), gamma: 0.1 });
    case 'cosine':
      return cosineAnnealingLR({ tMax: s.epochs });
    case 'onecycle':
      // Peaks at the optimizer's rate (the lr setting, or a resumed run's), as the CLI's.
      return oneCycleLR({ totalSteps: s.epochs * stepsPerEpoch });
  }
}

function source(
  split: CifarSplit,
  batchSize: number,
  s: TrainSettings,
  imageSize: number,
  shuffle: boolean,
): DataSource {
  return {
    length: Math.ceil(split.length / batchSize),
    batches: (epoch) =>
      split.batches({
        batchSize,
        shuffle,
        seed: s.seed,
        epoch,
        // The seed's data_treating: resize (PIL bilinear), /255, then (x − 0.5) / 0.5.
        transform: imageSize === 32 ? [] : [resize(imageSize)],
        normalize: { mean: 0.5, std: 0.5 },
      }),
  };
}

export interface RunHooks {
  log: (line: string) => void;
  /** The settings the run trains with: on Resume, the checkpoint's where you set none. */
  onSettings: (settings: TrainSettings) => void;
  /** The dataset is known: synthetic or CIFAR-10. */
  onData: (dataset: CifarDataset) => void;
  callbacks: TrainCallbacks;
  signal: AbortSignal;
}

export interface RunOutcome {
  result: TrainResult;
  history: History;
}

/**
 * The settings of the run saved in {@link store} where `given` (the settings you set) does not name them, as the
 * CLI's --resume; the trainer then logs each of yours that differs from the checkpoint's.
 */
async function resumedSettings(
  s: TrainSettings,
  given: readonly string[],
  log: (line: string) => void,
): Promise<TrainSettings> {
  let saved: CheckpointSettings | null;
  try {
    saved = await checkpointSettings(store);
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    throw new Error(
      `cannot resume the run saved in this browser: no complete checkpoint.\n${error.problems.join('\n')}\n` +
        'Press Train to start a new run (it replaces the damaged one).',
    );
  }
  if (saved === null) throw new Error('no run is saved in this browser to resume: press Train to start one');
  const { settings, taken } = withCheckpoint(s, given, saved);
  if (taken.length > 0) log(`resume: the checkpoint's settings, which you did not set: ${taken.join(', ')}`);
  return settings;
}

/**
 * Trains as the CLI does, keeping the run in {@link store}. `resume` continues it, with the checkpoint's settings
 * except those named in `resume.given` (set in the URL or changed in the form).
 */
export async function runTraining(
  settings: TrainSettings,
  data: DataChoice,
  resume: { given: readonly string[] } | null,
  hooks: RunHooks,
): Promise<TrainResult> {
  const { log } = hooks;
  const s = resume ? await resumedSettings(settings, resume.given, log) : settings;
  hooks.onSettings(s);
  const choice = await backendFor(s.backend);
  const dataset = await loadData(s, data, log);
  hooks.onData(dataset);
  const synthetic = dataset.name === 'synthetic';
  const imageSize = s.imageSize ?? (s.model === 'seed' ? 96 : 32);
  log(
    `dataset: ${synthetic ? 'SYNTHETIC (built in, not CIFAR-10)' : 'CIFAR-10'}, ${dataset.train.length} train / ` +
      `${dataset.test.length} test images, resized to ${imageSize}×${imageSize}`,
  );
  const model = makeModel(s, dataset.classNames.length, imageSize);
  const params = model.parameters().reduce((n, p) => n + p.size, 0);
  log(
    `model: ${s.model === 'seed' ? 'seed ResNet' : 'CIFAR-style ResNet'}, ${params.toLocaleString('en')} parameters`,
  );
  const train = source(dataset.train, s.batchSize, s, imageSize, true);
  const test = source(dataset.test, s.testBatchSize, s, imageSize, false);
  const schedule = makeSchedule(s, train.length ?? 1);
  try {
    return await trainCh6(model, train, test, {
      epochs: s.epochs,
      optimizer: makeOptimizer(s),
      ...(schedule ? { schedule } : {}),
      config: runConfig(s, imageSize, dataset.name),
      seed: s.seed,
      device: choice.name,
      store,
      resume: resume !== null,
      signal: hooks.signal,
      log,
      progress: 'lines',
      callbacks: hooks.callbacks,
      title: `${s.model === 'seed' ? 'seed ResNet' : 'CIFAR ResNet'} on ${synthetic ? 'the SYNTHETIC set' : 'CIFAR-10'} (${choice.name})`,
    });
  } finally {
    model.dispose();
  }
}
