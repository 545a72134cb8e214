// The page's settings: the CLI's main flags, under the same names, from the URL or the form.
import {
  type CheckpointSettings,
  oneCycleResumeConflict,
  type RunConfig,
  type StepSetting,
} from '@skipnet/trainer';

export const BACKEND_CHOICES = ['auto', 'webgpu', 'wasm', 'cpu'] as const;
export const MODELS = ['seed', 'cifar'] as const;
export const DATASETS = ['synthetic', 'cifar10'] as const;
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export const SCHEDULES = ['constant', 'step', 'cosine', 'onecycle'] as const;

export type Widths = [number, number, number, number];

export interface TrainSettings {
  backend: (typeof BACKEND_CHOICES)[number];
  model: (typeof MODELS)[number];
  dataset: (typeof DATASETS)[number];
  /** Where CIFAR-10 is served (with CORS), when no file is picked. */
  url: string | undefined;
  /** The tarball's expected MD5, as the CLI's --md5; undefined: the official archive's. */
  md5: string | undefined;
  epochs: number;
  lr: number;
  batchSize: number;
  testBatchSize: number;
  /** The first N images of each split, as the CLI's --subset; undefined: all of CIFAR-10, 1,024/256 synthetic. */
  subset: number | undefined;
  /** undefined: 96 for the seed model, 32 for the CIFAR-style one. */
  imageSize: number | undefined;
  widths: Widths;
  optimizer: (typeof OPTIMIZERS)[number];
  momentum: number;
  weightDecay: number;
  schedule: (typeof SCHEDULES)[number];
  seed: number;
}

/** The seed's settings (d2l's train_ch6 at lr 0.01), sized for a tab: the CLI's two synthetic epochs. */
export const DEFAULTS: TrainSettings = {
  backend: 'auto',
  model: 'seed',
  dataset: 'synthetic',
  url: undefined,
  md5: undefined,
  epochs: 2,
  lr: 0.01,
  batchSize: 64,
  testBatchSize: 128,
  subset: undefined,
  imageSize: undefined,
  widths: [64, 128, 256, 512],
  optimizer: 'sgd',
  momentum: 0,
  weightDecay: 0,
  schedule: 'constant',
  seed: 1,
};

/** Every setting's name, as the CLI's flag without `--`. */
export const SETTING_NAMES = [
  'backend',
  'model',
  'dataset',
  'url',
  'md5',
  'epochs',
  'lr',
  'batch-size',
  'test-batch-size',
  'subset',
  'image-size',
  'widths',
  'optimizer',
  'momentum',
  'weight-decay',
  'schedule',
  'seed',
] as const;

/** A setting that cannot be used: the message names it and what it takes. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new SettingsError(`${name} must be one of ${allowed.join(', ')}, got '${value}'.`);
  }
  return value as T;
}

function positiveInt(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new SettingsError(`${name} must be a positive integer, got '${value}'.`);
  }
  return Number(value);
}

function nonNegative(name: string, value: string, strictlyPositive = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (strictlyPositive && n === 0)) {
    throw new SettingsError(
      `${name} must be a ${strictlyPositive ? 'positive' : 'non-negative'} number, got '${value}'.`,
    );
  }
  return n;
}

function md5Hex(value: string): string {
  if (!/^[0-9a-f]{32}$/i.test(value)) {
    throw new SettingsError(
      `md5 takes 32 hexadecimal digits (what md5sum prints for the file), got '${value}'.`,
    );
  }
  return value.toLowerCase();
}

function widthList(value: string): Widths {
  const widths = value.split(/[,-]/).map((w) => Number(w.trim()));
  if (widths.length !== 4 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new SettingsError(`widths takes four positive integers such as 64,128,256,512, got '${value}'.`);
  }
  return widths as Widths;
}

/**
 * Settings from name/value pairs (a URL's query, a form): missing or empty values keep the defaults. Unknown
 * names are an error, so that a typo in a URL does not silently train with a default.
 */
export function parseSettings(
  values: Iterable<[string, string]>,
  extra: readonly string[] = [],
): TrainSettings {
  const given = new Map<string, string>();
  for (const [name, value] of values) {
    if (extra.includes(name)) continue;
    if (!(SETTING_NAMES as readonly string[]).includes(name)) {
      throw new SettingsError(`unknown setting '${name}': the settings are ${SETTING_NAMES.join(', ')}.`);
    }
    if (value.trim() !== '') given.set(name, value.trim());
  }
  const get = (name: string) => given.get(name);
  const s: TrainSettings = { ...DEFAULTS, widths: [...DEFAULTS.widths] as Widths };
  const v = (name: string, parse: (value: string) => void) => {
    const value = get(name);
    if (value !== undefined) parse(value);
  };
  v('backend', (x) => (s.backend = choice('backend', x, BACKEND_CHOICES)));
  v('model', (x) => (s.model = choice('model', x, MODELS)));
  v('dataset', (x) => (s.dataset = choice('dataset', x, DATASETS)));
  v('url', (x) => (s.url = x));
  v('md5', (x) => (s.md5 = md5Hex(x)));
  v('epochs', (x) => (s.epochs = positiveInt('epochs', x)));
  v('lr', (x) => (s.lr = nonNegative('lr', x, true)));
  v('batch-size', (x) => (s.batchSize = positiveInt('batch-size', x)));
  v('test-batch-size', (x) => (s.testBatchSize = positiveInt('test-batch-size', x)));
  v('subset', (x) => (s.subset = positiveInt('subset', x)));
  v('image-size', (x) => (s.imageSize = positiveInt('image-size', x)));
  v('widths', (x) => (s.widths = widthList(x)));
  v('optimizer', (x) => (s.optimizer = choice('optimizer', x, OPTIMIZERS)));
  v('momentum', (x) => (s.momentum = nonNegative('momentum', x)));
  v('weight-decay', (x) => (s.weightDecay = nonNegative('weight-decay', x)));
  v('schedule', (x) => (s.schedule = choice('schedule', x, SCHEDULES)));
  v('seed', (x) => (s.seed = positiveInt('seed', x)));
  return s;
}

/** The settings as name/value pairs (the form's fields, a URL's query). */
export function settingsEntries(s: TrainSettings): Array<[string, string]> {
  return [
    ['backend', s.backend],
    ['model', s.model],
    ['dataset', s.dataset],
    ['url', s.url ?? ''],
    ['md5', s.md5 ?? ''],
    ['epochs', String(s.epochs)],
    ['lr', String(s.lr)],
    ['batch-size', String(s.batchSize)],
    ['test-batch-size', String(s.testBatchSize)],
    ['subset', s.subset === undefined ? '' : String(s.subset)],
    ['image-size', s.imageSize === undefined ? '' : String(s.imageSize)],
    ['widths', s.widths.join(',')],
    ['optimizer', s.optimizer],
    ['momentum', String(s.momentum)],
    ['weight-decay', String(s.weightDecay)],
    ['schedule', s.schedule],
    ['seed', String(s.seed)],
  ];
}

/**
 * The settings that shape a run: Resume takes each from the checkpoint unless you set it (the CLI's --resume
 * does the same with its flags). backend, url and md5 say where the run computes and reads its data, not what
 * it is, so they stay the form's.
 */
export const RUN_SETTINGS = [
  'model',
  'widths',
  'image-size',
  'dataset',
  'subset',
  'batch-size',
  'epochs',
  'optimizer',
  'lr',
  'momentum',
  'weight-decay',
  'schedule',
  'seed',
] as const satisfies ReadonlyArray<(typeof SETTING_NAMES)[number]>;

/**
 * The settings the trainer does not record itself, kept with every checkpoint (under the CLI's names, so that a
 * run reads the same wherever it was made); `imageSize` is the size the run used.
 */
export function runConfig(s: TrainSettings, imageSize: number, dataset: string): RunConfig {
  return {
    model: s.model,
    widths: [...s.widths],
    imageSize,
    dataset,
    subset: s.subset ?? null,
    batchSize: s.batchSize,
  };
}

/** The optimizer and schedule a checkpoint names, as the settings name them. */
const OPTIMIZER_SETTINGS: Record<string, TrainSettings['optimizer']> = {
  SGD: 'sgd',
  Adam: 'adam',
  AdamW: 'adamw',
};
const SCHEDULE_SETTINGS: Record<string, TrainSettings['schedule']> = {
  stepLR: 'step',
  cosineAnnealingLR: 'cosine',
  oneCycleLR: 'onecycle',
};

/** A checkpoint's settings under the settings' names; null: the run had the default, undefined: not recorded. */
function savedSettings(saved: CheckpointSettings): Record<(typeof RUN_SETTINGS)[number], unknown> {
  const config = saved.config ?? {};
  return {
    model: config['model'],
    widths: config['widths'],
    'image-size': config['imageSize'],
    dataset: config['dataset'],
    subset: config['subset'],
    'batch-size': config['batchSize'],
    epochs: saved.epochs,
    optimizer: OPTIMIZER_SETTINGS[saved.kind] ?? saved.kind,
    lr: saved.initialLr,
    momentum: saved.hyper['momentum'],
    'weight-decay': saved.hyper['weightDecay'],
    schedule: saved.schedule ? (SCHEDULE_SETTINGS[saved.schedule.name] ?? saved.schedule.name) : 'constant',
    seed: saved.seed,
  };
}

/** `batch-size 16`, as the form and the URL name it; `subset (none)` for a run on all of the data. */
function settingOf(key: StepSetting | 'schedule', value: unknown): string {
  return `${key === 'batchSize' ? 'batch-size' : key} ${value ?? '(none)'}`;
}

/**
 * The settings of a resumed run: those you set (`given`: in the URL, or changed in the form) win; every other
 * setting that shapes the run is the checkpoint's. Each saved value passes the setting's own check, so a damaged
 * checkpoint gets the message a bad setting would. Under a one-cycle schedule, sized in optimizer steps, another
 * dataset, subset or batch size than the run's is refused, as the CLI's --resume refuses it. `taken` lists each
 * setting the checkpoint changed, for the log.
 */
export function withCheckpoint(
  s: TrainSettings,
  given: Iterable<string>,
  saved: CheckpointSettings,
): { settings: TrainSettings; taken: string[] } {
  const set = new Set(given);
  const values = savedSettings(saved);
  const entries = new Map(settingsEntries(s));
  const defaults = new Map(settingsEntries(DEFAULTS));
  for (const name of RUN_SETTINGS) {
    const value = values[name];
    if (value === undefined || set.has(name)) continue;
    // null: the run had the setting's default (the CLI keeps "no --subset" so).
    const text =
      value === null ? defaults.get(name)! : Array.isArray(value) ? value.join(',') : String(value);
    try {
      parseSettings([[name, text]]);
    } catch (error) {
      throw new SettingsError(
        `Resume: the checkpoint's ${name} ${JSON.stringify(value)} is not valid: ${(error as Error).message} ` +
          `Set ${name} in the form.`,
      );
    }
    entries.set(name, text);
  }
  const settings = parseSettings(entries);
  if (settings.schedule === 'onecycle') {
    const now = { dataset: settings.dataset, subset: settings.subset, batchSize: settings.batchSize };
    const conflict = oneCycleResumeConflict(saved.config ?? {}, now, settingOf);
    if (conflict) throw new SettingsError(`Resume: ${conflict}`);
  }
  const before = new Map(settingsEntries(s));
  const taken = settingsEntries(settings)
    .filter(([name, value]) => before.get(name) !== value)
    .map(([name, value]) => `${name} ${value || '(none)'} (the form had ${before.get(name) || 'none'})`);
  return { settings, taken };
}
