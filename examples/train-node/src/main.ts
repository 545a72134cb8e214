import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BackendUnavailableError, selectBackend } from '@skipnet/backend';
import { type CifarDataset, type CifarSplit, type Normalize, resize, type Transform } from '@skipnet/cifar10';
import type { Module } from '@skipnet/nn';
import { cifarResNet, seedResNet, type Widths } from '@skipnet/resnet';
import {
  Adam,
  AdamW,
  CheckpointError,
  type CheckpointSettings,
  checkpointSettings,
  cosineAnnealingLR,
  type DataSource,
  FolderStore,
  type LRSchedule,
  NonFiniteLossError,
  type OptimizerFactory,
  oneCycleLR,
  SGD,
  stepLR,
  TrainingAbortedError,
  trainCh6,
} from '@skipnet/trainer';
import { CommanderError } from 'commander';
import { DataUnavailableError, loadData } from './data.ts';
import { checkImageSize, memoryBudget, type StepShape } from './image-size.ts';
import {
  parseOptions,
  type SavedFlags,
  SYNTHETIC_DEFAULTS,
  type TrainOptions,
  UsageError,
  withCheckpoint,
} from './options.ts';
import { type OutDir, OutDirError, prepareOutDir } from './out-dir.ts';

const SEED_EPOCHS = 20;
/** The seed's ResNet-18 layout: the widths `--widths` replaces, two residual blocks per stage. */
const SEED_WIDTHS: Widths = [64, 128, 256, 512];
const SEED_DEPTHS: StepShape['depths'] = [2, 2, 2, 2];

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

function stepShape(o: TrainOptions): StepShape {
  return {
    stem: o.model === 'seed' ? 'seed' : 'cifar',
    widths: (o.widths as Widths | undefined) ?? SEED_WIDTHS,
    depths: SEED_DEPTHS,
    batchSize: o.batchSize,
  };
}

function makeModel(o: TrainOptions, numClasses: number, imageSize: number): Module {
  const { widths, depths } = stepShape(o);
  if (o.model === 'cifar') return cifarResNet({ numClasses, widths, depths });
  // The seed's AvgPool2d(3) head only fits 96-ish inputs; other sizes get global pooling.
  return seedResNet({ numClasses, widths, depths, ...(imageSize === 96 ? {} : { head: 'global' }) });
}

/** The optimizer a checkpoint names, as `--optimizer` does. */
const OPTIMIZER_FLAGS: Record<string, TrainOptions['optimizer']> = {
  SGD: 'sgd',
  Adam: 'adam',
  AdamW: 'adamw',
};
/** The schedule a checkpoint names (its config's name), as `--schedule` does. */
const SCHEDULE_FLAGS: Record<string, TrainOptions['schedule']> = {
  stepLR: 'step',
  cosineAnnealingLR: 'cosine',
  oneCycleLR: 'onecycle',
};

/** The optimizer the options ask for (on `--resume`, the checkpoint's settings where no flag was given). */
function makeOptimizer(o: TrainOptions): OptimizerFactory {
  return (params) => {
    const { lr, weightDecay } = o;
    switch (o.optimizer) {
      case 'sgd':
        return new SGD(params, { lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay });
      case 'adam':
        return new Adam(params, { lr, weightDecay });
      case 'adamw':
        return new AdamW(params, { lr, weightDecay });
    }
  };
}

/** Each schedule starts from the optimizer's rate, `--lr` or the checkpoint's: onecycle's peak too. */
function makeSchedule(o: TrainOptions, epochs: number, stepsPerEpoch: number): LRSchedule | undefined {
  switch (o.schedule) {
    case 'constant':
      return undefined;
    case 'step':
      return stepLR({ stepSize: Math.max(1, Math.round(epochs / 3)), gamma: 0.1 });
    case 'cosine':
      return cosineAnnealingLR({ tMax: epochs });
    case 'onecycle':
      return oneCycleLR({ totalSteps: epochs * stepsPerEpoch });
  }
}

/**
 * A checkpoint's settings in the CLI's flags: the trainer's own record (optimizer, its settings before any
 * schedule, schedule, epochs, seed), and the flags it cannot know, which the CLI keeps in the run's config
 * ({@link runConfig}). A name no flag has (a run made by your own code) stays as it is, for the flag's check to
 * refuse.
 */
function savedFlags(saved: CheckpointSettings): SavedFlags {
  const { hyper } = saved;
  return {
    ...saved.config,
    optimizer: OPTIMIZER_FLAGS[saved.kind] ?? saved.kind,
    lr: saved.initialLr,
    momentum: hyper['momentum'],
    nesterov: hyper['nesterov'],
    weightDecay: hyper['weightDecay'],
    schedule: saved.schedule ? (SCHEDULE_FLAGS[saved.schedule.name] ?? saved.schedule.name) : 'constant',
    epochs: saved.epochs,
    seed: saved.seed,
  };
}

/** The flags that shape the run and that the trainer does not record itself, kept with every checkpoint. */
function runConfig(o: TrainOptions, imageSize: number, dataset: CifarDataset['name']) {
  return {
    model: o.model,
    widths: [...stepShape(o).widths],
    imageSize,
    dataset,
    subset: o.subset ?? null,
    batchSize: o.batchSize,
  };
}

interface Pipeline {
  transform: Transform[];
  normalize: Normalize;
}

function source(
  split: CifarSplit,
  batchSize: number,
  o: TrainOptions,
  pipeline: Pipeline,
  shuffle: boolean,
): DataSource {
  return {
    length: Math.ceil(split.length / batchSize),
    batches: (epoch) =>
      split.batches({
        batchSize,
        shuffle,
        seed: o.seed,
        epoch,
        transform: pipeline.transform,
        normalize: pipeline.normalize,
      }),
  };
}

/** Says `message` on stderr and returns the exit code. */
function fail(io: Io, code: number, message: string): number {
  io.err(`skipnet-train: ${message}`);
  return code;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: Io = consoleIo, signal?: AbortSignal): Promise<number> {
  let o: TrainOptions;
  try {
    o = parseOptions(argv);
  } catch (error) {
    if (error instanceof CommanderError) return 0; // --help or --version, already printed
    if (error instanceof UsageError) return fail(io, 2, error.message);
    throw error;
  }

  // Before anything slow: a run that cannot be written, or would overwrite another, stops here.
  let out: OutDir;
  try {
    out = await prepareOutDir({
      out: o.out,
      resume: o.resume,
      overwrite: o.overwrite,
      cwd: process.cwd(),
    });
  } catch (error) {
    if (error instanceof OutDirError) return fail(io, 2, error.message);
    throw error;
  }
  try {
    return await run(o, out, io, signal);
  } finally {
    await out.release();
  }
}

/** The message for a run with no complete checkpoint to resume, in the CLI's flags. */
function cannotResume(error: CheckpointError): string {
  return (
    `cannot resume the run in ${error.location}: no complete checkpoint.\n` +
    error.problems.map((p) => `  ${p}\n`).join('') +
    'Start a new run there with --overwrite instead of --resume (the damaged run is kept until the new ' +
    'one saves a checkpoint), or choose another --out.'
  );
}

async function run(flags: TrainOptions, out: OutDir, io: Io, signal?: AbortSignal): Promise<number> {
  let choice: Awaited<ReturnType<typeof selectBackend>>;
  try {
    choice = await selectBackend(flags.backend);
  } catch (error) {
    if (error instanceof BackendUnavailableError) return fail(io, 2, error.message);
    throw error;
  }
  io.out(`backend: ${choice.name} — ${choice.device}`);
  for (const p of choice.passedOver) io.out(`  passed over ${p.name}: ${p.reason}`);

  // A resumed run is the checkpoint's, except for the flags given (the trainer logs each setting that differs):
  // its seed, data, model, epochs, optimizer and schedule, read before any of them is used.
  let o = flags;
  if (o.resume) {
    try {
      const saved = await checkpointSettings(new FolderStore(out.path));
      o = withCheckpoint(o, saved ? savedFlags(saved) : {});
    } catch (error) {
      if (error instanceof CheckpointError) return fail(io, 1, cannotResume(error));
      if (error instanceof UsageError) return fail(io, 2, error.message);
      throw error;
    }
  }

  const imageSize = o.imageSize ?? (o.model === 'seed' ? 96 : 32);
  const misfit = checkImageSize(stepShape(o), memoryBudget(choice.name), imageSize);
  if (misfit) return fail(io, 2, misfit);

  let data: CifarDataset;
  try {
    data = await loadData(o, io.err);
  } catch (error) {
    if (error instanceof DataUnavailableError) return fail(io, 1, error.message);
    throw error;
  }
  const synthetic = data.name === 'synthetic';
  const epochs = o.epochs ?? (synthetic ? SYNTHETIC_DEFAULTS.epochs : SEED_EPOCHS);
  io.out(
    `dataset: ${synthetic ? 'SYNTHETIC (built in, not CIFAR-10)' : 'CIFAR-10'}, ${data.train.length} train / ` +
      `${data.test.length} test images${data.dir ? ` from ${data.dir}` : ''}, resized to ${imageSize}×${imageSize}`,
  );

  // The seed's data_treating: resize (PIL bilinear), /255, then (x − 0.5) / 0.5.
  const pipeline: Pipeline = {
    transform: imageSize === 32 ? [] : [resize(imageSize)],
    normalize: { mean: 0.5, std: 0.5 },
  };
  const model = makeModel(o, data.classNames.length, imageSize);
  const params = model.parameters().reduce((n, p) => n + p.size, 0);
  io.out(
    `model: ${o.model === 'seed' ? 'seed ResNet' : 'CIFAR-style ResNet'}, ${params.toLocaleString('en')} parameters`,
  );
  for (const note of out.notes) io.out(note);

  const trainSource = source(data.train, o.batchSize, o, pipeline, true);
  const testSource = source(data.test, o.testBatchSize, o, pipeline, false);
  const outDir = out.path;
  const schedule = makeSchedule(o, epochs, trainSource.length ?? 1);
  try {
    const result = await trainCh6(model, trainSource, testSource, {
      epochs,
      optimizer: makeOptimizer(o),
      ...(schedule ? { schedule } : {}),
      config: runConfig(o, imageSize, data.name),
      seed: o.seed,
      device: choice.name,
      outDir,
      resume: o.resume,
      ...(signal ? { signal } : {}),
      log: io.out,
      progress: o.progress ? 'auto' : 'none',
      title: `${o.model === 'seed' ? 'seed ResNet' : 'CIFAR ResNet'} on ${synthetic ? 'the SYNTHETIC set' : 'CIFAR-10'} (${choice.name})`,
      callbacks: { onEpochEnd: () => out.committed() },
    });
    io.out(`wrote ${outDir}:`);
    for (const file of ['plot.svg', 'plot.png', 'history.json', 'history.csv', 'epochs.csv']) {
      if (existsSync(resolve(outDir, file))) io.out(`  ${resolve(outDir, file)}`);
    }
    if (result.checkpoint) {
      io.out(
        `  ${result.checkpoint} (checkpoint: weights.safetensors holds the weights under PyTorch names)`,
      );
    }
    return 0;
  } catch (error) {
    const again = `skipnet-train --resume --out ${outDir}`;
    if (error instanceof TrainingAbortedError) {
      return fail(
        io,
        130,
        `training aborted in epoch ${error.epoch} after batch ${error.batch}; saved ${error.checkpoint}. ` +
          `To continue: ${again} (the run's settings come from the checkpoint; give --backend or --data-dir ` +
          'again if you chose them).',
      );
    }
    if (error instanceof CheckpointError) return fail(io, 1, cannotResume(error));
    if (error instanceof NonFiniteLossError) {
      const resume = error.checkpoint ? ` To continue from it at a lower rate: ${again} --lr <smaller>.` : '';
      return fail(io, 1, `${error.message}${resume}`);
    }
    throw error;
  } finally {
    model.dispose();
  }
}
