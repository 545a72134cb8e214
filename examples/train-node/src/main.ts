import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BackendUnavailableError, selectBackend } from '@skipnet/backend';
import {
  type CifarDataset,
  type CifarSplit,
  loadCifar10,
  loadSynthetic,
  type Normalize,
  resize,
  type Transform,
} from '@skipnet/cifar10';
import type { Module } from '@skipnet/nn';
import { cifarResNet, seedResNet } from '@skipnet/resnet';
import {
  Adam,
  AdamW,
  cosineAnnealingLR,
  type DataSource,
  type LRSchedule,
  NonFiniteLossError,
  oneCycleLR,
  SGD,
  stepLR,
  type TrainOptions as TrainerOptions,
  TrainingAbortedError,
  trainCh6,
} from '@skipnet/trainer';
import { CommanderError } from 'commander';
import { parseOptions, type TrainOptions, UsageError } from './options.ts';

/** Defaults of a run on the synthetic fallback: a few minutes on two cores, yet enough to see it learn. */
export const SYNTHETIC_DEFAULTS = { train: 512, test: 256, epochs: 2 } as const;
const SEED_EPOCHS = 20;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function banner(io: Io, paragraphs: string[]): void {
  const lines = paragraphs.flatMap((p) => wrap(p, 96));
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  io.err('#'.repeat(width));
  for (const line of lines) io.err(`# ${line.padEnd(width - 4)} #`);
  io.err('#'.repeat(width));
}

async function loadData(o: TrainOptions, io: Io): Promise<CifarDataset> {
  const subset = o.subset === undefined ? undefined : { train: o.subset, test: o.subset };
  const synthetic = () =>
    loadSynthetic({
      trainSize: o.subset ?? SYNTHETIC_DEFAULTS.train,
      testSize: o.subset === undefined ? SYNTHETIC_DEFAULTS.test : Math.max(1, Math.ceil(o.subset / 4)),
      seed: o.seed,
    });
  if (o.dataset === 'synthetic') return synthetic();
  const cifar = () =>
    loadCifar10({
      ...(o.dataDir ? { dataDir: o.dataDir } : {}),
      download: o.download,
      ...(subset ? { subset } : {}),
      progress: o.progress ? 'auto' : 'none',
      log: io.err,
    });
  if (o.dataset === 'cifar10') return cifar();
  try {
    return await cifar();
  } catch (error) {
    banner(io, [
      'CIFAR-10 could not be had, so this run uses the built-in SYNTHETIC set instead.',
      'Its numbers say nothing about CIFAR-10.',
      `Why: ${(error as Error).message.split('\n')[0]}`,
      'To train on CIFAR-10: let the run download it (170 MB), or put cifar-10-binary.tar.gz or the extracted ' +
        'cifar-10-batches-bin/ in --data-dir (default ~/.cache/skipnet/cifar10), and pass --dataset cifar10.',
    ]);
    return synthetic();
  }
}

function makeModel(o: TrainOptions, numClasses: number, imageSize: number): Module {
  const widths = o.widths as [number, number, number, number] | undefined;
  if (o.model === 'cifar') return cifarResNet({ numClasses, ...(widths ? { widths } : {}) });
  // The seed's AvgPool2d(3) head only fits 96-ish inputs; other sizes get global pooling.
  return seedResNet({
    numClasses,
    ...(widths ? { widths } : {}),
    ...(imageSize === 96 ? {} : { head: 'global' }),
  });
}

function makeOptimizer(o: TrainOptions): TrainerOptions['optimizer'] {
  switch (o.optimizer) {
    case 'sgd':
      return (params) =>
        new SGD(params, { lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay });
    case 'adam':
      return (params) => new Adam(params, { lr: o.lr, weightDecay: o.weightDecay });
    case 'adamw':
      return (params) => new AdamW(params, { lr: o.lr, weightDecay: o.weightDecay });
  }
}

function makeSchedule(o: TrainOptions, epochs: number, stepsPerEpoch: number): LRSchedule | undefined {
  switch (o.schedule) {
    case 'constant':
      return undefined;
    case 'step':
      return stepLR({ lr: o.lr, stepSize: Math.max(1, Math.round(epochs / 3)), gamma: 0.1 });
    case 'cosine':
      return cosineAnnealingLR({ lr: o.lr, tMax: epochs });
    case 'onecycle':
      return oneCycleLR({ maxLr: o.lr, totalSteps: epochs * stepsPerEpoch });
  }
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

interface Pipeline {
  transform: Transform[];
  normalize: Normalize;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: Io = consoleIo, signal?: AbortSignal): Promise<number> {
  let o: TrainOptions;
  try {
    o = parseOptions(argv);
  } catch (error) {
    if (error instanceof CommanderError) return 0; // --help or --version, already printed
    if (error instanceof UsageError) {
      io.err(`skipnet-train: ${error.message}`);
      return 2;
    }
    throw error;
  }

  let choice: Awaited<ReturnType<typeof selectBackend>>;
  try {
    choice = await selectBackend(o.backend);
  } catch (error) {
    if (error instanceof BackendUnavailableError) {
      io.err(`skipnet-train: ${error.message}`);
      return 2;
    }
    throw error;
  }
  io.out(`backend: ${choice.name} — ${choice.device}`);
  for (const p of choice.passedOver) io.out(`  passed over ${p.name}: ${p.reason}`);

  let data: CifarDataset;
  try {
    data = await loadData(o, io);
  } catch (error) {
    io.err(`skipnet-train: ${(error as Error).message}`);
    return 1;
  }
  const synthetic = data.name === 'synthetic';
  const imageSize = o.imageSize ?? (o.model === 'seed' ? 96 : 32);
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
  let model: Module;
  try {
    model = makeModel(o, data.classNames.length, imageSize);
  } catch (error) {
    io.err(`skipnet-train: ${(error as Error).message}`);
    return 2;
  }
  const params = model.parameters().reduce((n, p) => n + p.size, 0);
  io.out(
    `model: ${o.model === 'seed' ? 'seed ResNet' : 'CIFAR-style ResNet'}, ${params.toLocaleString('en')} parameters`,
  );

  const trainSource = source(data.train, o.batchSize, o, pipeline, true);
  const testSource = source(data.test, o.testBatchSize, o, pipeline, false);
  const outDir = resolve(o.out);
  const schedule = makeSchedule(o, epochs, trainSource.length ?? 1);
  try {
    const result = await trainCh6(model, trainSource, testSource, {
      epochs,
      lr: o.lr,
      optimizer: makeOptimizer(o),
      ...(schedule ? { schedule } : {}),
      seed: o.seed,
      device: choice.name,
      outDir,
      resume: o.resume,
      ...(signal ? { signal } : {}),
      log: io.out,
      progress: o.progress ? 'auto' : 'none',
      title: `${o.model === 'seed' ? 'seed ResNet' : 'CIFAR ResNet'} on ${synthetic ? 'the SYNTHETIC set' : 'CIFAR-10'} (${choice.name})`,
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
    if (error instanceof TrainingAbortedError || error instanceof NonFiniteLossError) {
      io.err(`skipnet-train: ${error.message}`);
      return error instanceof TrainingAbortedError ? 130 : 1;
    }
    throw error;
  } finally {
    model.dispose();
  }
}
