import { BACKENDS, type BackendName } from '@skipnet/backend';
import { CIFAR10_MD5, TARBALL_NAME } from '@skipnet/cifar10';
import { oneCycleResumeConflict, type StepSetting } from '@skipnet/trainer';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { RUNS_FOLDER } from './out-dir.ts';

export const MODELS = ['seed', 'cifar'] as const;
export const DATASETS = ['auto', 'cifar10', 'synthetic'] as const;
export const OPTIMIZERS = ['sgd', 'adam', 'adamw'] as const;
export const SCHEDULES = ['constant', 'step', 'cosine', 'onecycle'] as const;

/** Defaults of a run on the synthetic fallback: a few minutes on two cores, yet enough to see it learn. */
export const SYNTHETIC_DEFAULTS = { train: 1024, test: 256, epochs: 2 } as const;

/** Everything one run needs, with the seed's defaults (d2l train_ch6 on CIFAR-10 at 96×96). */
export interface TrainOptions {
  backend: BackendName | 'auto';
  model: (typeof MODELS)[number];
  dataset: (typeof DATASETS)[number];
  dataDir: string | undefined;
  /** undefined: the seed's 20 on CIFAR-10, a few-minute run on the synthetic fallback. */
  epochs: number | undefined;
  lr: number;
  batchSize: number;
  testBatchSize: number;
  /** undefined: 96 for the seed model, 32 for the CIFAR-style one (and on the synthetic fallback). */
  imageSize: number | undefined;
  optimizer: (typeof OPTIMIZERS)[number];
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: (typeof SCHEDULES)[number];
  seed: number;
  /** Train on the first N images of each split; undefined: all (CIFAR-10) or a small default (synthetic). */
  subset: number | undefined;
  download: boolean;
  /** A mirror of the CIFAR-10 tarball; undefined: the official URL. */
  url: string | undefined;
  /** The MD5 the tarball must have; undefined: the official one. */
  md5: string | undefined;
  /** undefined: a new folder under `runs/` (or, with `resume`, the newest run there). */
  out: string | undefined;
  resume: boolean;
  overwrite: boolean;
  /** Width multiplier list for the model; undefined keeps 64-128-256-512. */
  widths: number[] | undefined;
  progress: boolean;
  /** The options the user gave on the command line (the rest are defaults): on resume only these override the checkpoint. */
  given: ReadonlySet<keyof TrainOptions>;
}

function positiveInt(name: string) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got '${value}'.`);
    }
    return Number(value);
  };
}

function nonNegativeNumber(name: string, strictlyPositive = false) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (strictlyPositive && n === 0)) {
      throw new InvalidArgumentError(
        `${name} must be a ${strictlyPositive ? 'positive' : 'non-negative'} number, got '${value}'.`,
      );
    }
    return n;
  };
}

function url(value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value;
  } catch {}
  throw new InvalidArgumentError(`--url takes an http(s) URL, got '${value}'.`);
}

function md5(value: string): string {
  if (!/^[0-9a-f]{32}$/i.test(value)) {
    throw new InvalidArgumentError(
      `--md5 takes 32 hexadecimal digits (what md5sum prints for the file), got '${value}'.`,
    );
  }
  return value.toLowerCase();
}

function widthList(value: string): number[] {
  const widths = value.split(/[,-]/).map((w) => Number(w));
  if (widths.length !== 4 || widths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new InvalidArgumentError(
      `--widths takes four positive integers such as 64,128,256,512, got '${value}'.`,
    );
  }
  return widths;
}

export function makeCommand(): Command {
  return new Command('skipnet-train')
    .description(
      // One paragraph per line: commander wraps each to the terminal's width.
      "Train the seed ResNet (d2l's train_ch6: Xavier init, SGD, cross-entropy) on CIFAR-10 with TensorFlow.js, " +
        'on the best backend this machine has.\n\n' +
        'Prints the seed-format line after each epoch and writes checkpoints (safetensors with PyTorch names), ' +
        'history (JSON, CSV) and a plot (SVG) to --out.',
    )
    .addOption(
      new Option('--backend <name>', 'compute backend; auto tries them best first')
        .choices(['auto', ...BACKENDS])
        .default('auto'),
    )
    .addOption(
      new Option(
        '--model <name>',
        'seed: the tutorial ResNet at 96×96; cifar: 3×3 stem, no max-pool, global pooling, 32×32',
      )
        .choices(MODELS)
        .default('seed'),
    )
    .addOption(
      new Option(
        '--dataset <name>',
        'auto: CIFAR-10 when cached or downloadable, else the built-in synthetic set (announced)',
      )
        .choices(DATASETS)
        .default('auto'),
    )
    .option(
      '--data-dir <dir>',
      'folder holding cifar-10-batches-bin/ or the tarball (default: ~/.cache/skipnet/cifar10)',
    )
    .option('--no-download', 'never use the network for CIFAR-10')
    .option('--url <url>', `where to download CIFAR-10 from: a mirror of ${TARBALL_NAME}`, url)
    .option(
      '--md5 <hex>',
      `expected MD5 of the download or of the tarball in --data-dir (default: the official ${CIFAR10_MD5})`,
      md5,
    )
    .option(
      '--epochs <n>',
      'epochs (default: 20 on CIFAR-10, 2 on the synthetic set)',
      positiveInt('--epochs'),
    )
    .option(
      '--lr <rate>',
      'learning rate (with --schedule onecycle: its peak)',
      nonNegativeNumber('--lr', true),
      0.01,
    )
    .option('--batch-size <n>', 'training batch size', positiveInt('--batch-size'), 64)
    .option('--test-batch-size <n>', 'evaluation batch size', positiveInt('--test-batch-size'), 128)
    .option(
      '--image-size <px>',
      'input size images are resized to (default: 96 for seed, 32 for cifar)',
      positiveInt('--image-size'),
    )
    .option('--widths <list>', 'channel widths of the four stages (default 64,128,256,512)', widthList)
    .addOption(
      new Option('--optimizer <name>', 'optimizer (the seed uses plain SGD)')
        .choices(OPTIMIZERS)
        .default('sgd'),
    )
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), 0)
    .option('--nesterov', 'Nesterov momentum (needs --momentum > 0)', false)
    .option(
      '--weight-decay <wd>',
      'weight decay (L2 for sgd/adam, decoupled for adamw)',
      nonNegativeNumber('--weight-decay'),
      0,
    )
    .addOption(
      new Option(
        '--schedule <name>',
        'learning-rate schedule: step (×0.1 every third of the epochs), cosine (down to 0 over the epochs), ' +
          'onecycle (up to --lr and down, per batch)',
      )
        .choices(SCHEDULES)
        .default('constant'),
    )
    .option(
      '--seed <n>',
      'random seed of everything random in a run: initialisation, shuffling, the synthetic set',
      positiveInt('--seed'),
      1,
    )
    .option(
      '--subset <n>',
      `use only the first N images of each split, train and test (default: all; on the synthetic set ` +
        `${SYNTHETIC_DEFAULTS.train} train and ${SYNTHETIC_DEFAULTS.test} test)`,
      positiveInt('--subset'),
    )
    .option(
      '--out <dir>',
      `folder for checkpoints, history and the plot (default: a new ${RUNS_FOLDER}/<date>_<time> per run)`,
    )
    .option(
      '--resume',
      `continue the run saved in --out (default: the newest under ${RUNS_FOLDER}/); the flags you give win, ` +
        'the rest come from its checkpoint',
      false,
    )
    .option(
      '--overwrite',
      'replace the run in --out (kept until the new run saves its first checkpoint)',
      false,
    )
    .option('--no-progress', 'no progress bar, plain lines only')
    .showHelpAfterError('(run with --help for every flag)')
    .allowExcessArguments(false);
}

/** A bad command line: the message says what and how to fix it; the CLI exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions(argv: string[]): TrainOptions {
  const command = makeCommand();
  command.exitOverride();
  let captured = '';
  command.configureOutput({ writeErr: (s) => (captured += s), writeOut: (s) => process.stdout.write(s) });
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (
      error instanceof CommanderError &&
      (error.code === 'commander.helpDisplayed' || error.code === 'commander.help')
    ) {
      throw error;
    }
    throw new UsageError((captured || (error as Error).message).trim());
  }
  const o = command.opts();
  const given = new Set(Object.keys(o).filter((key) => command.getOptionValueSource(key) === 'cli')) as Set<
    keyof TrainOptions
  >;
  // On --resume the momentum may come from the checkpoint: withCheckpoint checks it then.
  if (!o.resume) checkCombinations(o as TrainOptions);
  return {
    backend: o.backend,
    model: o.model,
    dataset: o.dataset,
    dataDir: o.dataDir,
    epochs: o.epochs,
    lr: o.lr,
    batchSize: o.batchSize,
    testBatchSize: o.testBatchSize,
    imageSize: o.imageSize,
    optimizer: o.optimizer,
    momentum: o.momentum,
    nesterov: o.nesterov,
    weightDecay: o.weightDecay,
    schedule: o.schedule,
    seed: o.seed,
    subset: o.subset,
    download: o.download,
    url: o.url,
    md5: o.md5,
    out: o.out,
    resume: o.resume,
    overwrite: o.overwrite,
    widths: o.widths,
    progress: o.progress,
    given,
  };
}

function checkCombinations(o: TrainOptions): void {
  if (o.nesterov && !(o.momentum > 0)) throw new UsageError('--nesterov needs --momentum greater than 0.');
}

/** The flags that shape a run, which a resumed run takes from its checkpoint unless given again. */
export const RUN_FLAGS = [
  'model',
  'widths',
  'imageSize',
  'dataset',
  'subset',
  'batchSize',
  'epochs',
  'optimizer',
  'lr',
  'momentum',
  'nesterov',
  'weightDecay',
  'schedule',
  'seed',
] as const satisfies ReadonlyArray<keyof TrainOptions>;

/** `--batch-size 16`; `--subset all` for a run on the whole data (no --subset). */
function flagOf(key: StepSetting | 'schedule', value: unknown): string {
  const long = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return `${long} ${value ?? 'all'}`;
}

/** A checkpoint's settings in the flags' names and values (`null`: the flag was not given, as `--subset` for all). */
export type SavedFlags = Partial<Record<(typeof RUN_FLAGS)[number], unknown>>;

/**
 * The options of a resumed run (issue 16): a flag given on the command line wins; every other flag that shapes
 * the run is the checkpoint's, not the flag's default. Each saved value passes the flag's own check, so a damaged
 * or hand-edited checkpoint gets the message a bad flag would (a {@link UsageError}).
 */
export function withCheckpoint(o: TrainOptions, saved: SavedFlags): TrainOptions {
  const options = makeCommand().options;
  const merged: Record<string, unknown> = { ...o };
  for (const key of RUN_FLAGS) {
    const value = saved[key];
    // null: the run had the flag's default, which a flag not given now gives again.
    if (value === undefined || value === null || o.given.has(key)) continue;
    const option = options.find((opt) => opt.attributeName() === key)!;
    const parse = option.parseArg;
    const check = () => {
      if (parse) return parse(Array.isArray(value) ? value.join(',') : String(value), undefined);
      if (typeof value !== 'boolean') throw new InvalidArgumentError('it should be true or false.');
      return value;
    };
    try {
      merged[key] = check();
    } catch (error) {
      throw new UsageError(
        `--resume: the checkpoint's ${option.long} ${JSON.stringify(value)} is not valid: ` +
          `${(error as Error).message} Give ${option.long} on the command line.`,
      );
    }
  }
  checkCombinations(merged as unknown as TrainOptions);
  // The browser page's Resume asks the same of its settings.
  if (merged['schedule'] === 'onecycle') {
    const conflict = oneCycleResumeConflict(saved, merged, flagOf);
    if (conflict) throw new UsageError(`--resume: ${conflict}`);
  }
  return merged as unknown as TrainOptions;
}
