// The page's settings: the CLI's main flags, under the same names, from the URL or the form.

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
