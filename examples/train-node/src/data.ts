import {
  Cifar10Error,
  type CifarDataset,
  defaultDataDir,
  loadCifar10,
  loadSynthetic,
  TARBALL_NAME,
} from '@skipnet/cifar10';
import { SYNTHETIC_DEFAULTS, type TrainOptions } from './options.ts';

/** CIFAR-10 could not be had; the message says why and which flags fix it (the CLI exits with code 1). */
export class DataUnavailableError extends Error {
  override name = 'DataUnavailableError';
  constructor(
    /** Why, in a sentence without advice (for the fallback banner). */
    readonly reason: string,
    /** What to do, in the CLI's flags. */
    readonly fix: string,
  ) {
    super(`${reason}. ${fix}`);
  }
}

/** The ways to get CIFAR-10 onto this machine, in the CLI's words. */
function offlineFix(dataDir: string): string {
  return (
    `To train on CIFAR-10: put the extracted cifar-10-batches-bin/ or ${TARBALL_NAME} in ${dataDir} ` +
    '(or pass the folder holding them with --data-dir), or let the run download it (170 MB; --url <mirror> for ' +
    'another source).'
  );
}

/** `loadCifar10`'s failure, told with this CLI's flags instead of the library's options. */
function inCliWords(error: Cifar10Error, dataDir: string): DataUnavailableError {
  switch (error.code) {
    case 'missing':
      return new DataUnavailableError(
        `no CIFAR-10 files in ${dataDir} and --no-download`,
        offlineFix(dataDir),
      );
    case 'checksum':
      return new DataUnavailableError(
        error.reason,
        'The file is damaged, cut short, or another packaging of CIFAR-10. A file in --data-dir: delete it and ' +
          'run again to download it afresh. A mirror (--url) you trust: pass the MD5 of its file (md5sum prints ' +
          'it) with --md5 <hex>, or use another --url.',
      );
    case 'download':
      return new DataUnavailableError(error.reason, offlineFix(dataDir));
  }
}

export function syntheticSizes(o: Pick<TrainOptions, 'subset'>): { train: number; test: number } {
  return o.subset === undefined
    ? { train: SYNTHETIC_DEFAULTS.train, test: SYNTHETIC_DEFAULTS.test }
    : { train: o.subset, test: o.subset };
}

export function loadSyntheticFor(o: Pick<TrainOptions, 'subset' | 'seed'>): Promise<CifarDataset> {
  const sizes = syntheticSizes(o);
  return loadSynthetic({ trainSize: sizes.train, testSize: sizes.test, seed: o.seed });
}

/** CIFAR-10 as the options ask (from --data-dir, or downloaded), or a {@link DataUnavailableError}. */
export async function loadCifarFor(o: TrainOptions, log: (line: string) => void): Promise<CifarDataset> {
  const dataDir = o.dataDir ?? defaultDataDir();
  try {
    return await loadCifar10({
      dataDir,
      download: o.download,
      ...(o.url ? { url: o.url } : {}),
      ...(o.md5 ? { md5: o.md5 } : {}),
      ...(o.subset === undefined ? {} : { subset: { train: o.subset, test: o.subset } }),
      progress: o.progress ? 'auto' : 'none',
      log,
    });
  } catch (error) {
    if (error instanceof Cifar10Error) throw inCliWords(error, dataDir);
    throw error;
  }
}

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

function banner(paragraphs: string[]): string[] {
  const lines = paragraphs.flatMap((p) => wrap(p, 96));
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  return ['#'.repeat(width), ...lines.map((line) => `# ${line.padEnd(width - 4)} #`), '#'.repeat(width)];
}

/**
 * The data set `--dataset` asks for. 'auto' falls back to the synthetic set when CIFAR-10 cannot be had, with a
 * banner on `err` saying why and how to get CIFAR-10.
 */
export async function loadData(o: TrainOptions, err: (line: string) => void): Promise<CifarDataset> {
  if (o.dataset === 'synthetic') return loadSyntheticFor(o);
  if (o.dataset === 'cifar10') return loadCifarFor(o, err);
  try {
    return await loadCifarFor(o, err);
  } catch (error) {
    if (!(error instanceof DataUnavailableError)) throw error;
    for (const line of banner([
      'CIFAR-10 could not be had, so this run uses the built-in SYNTHETIC set instead.',
      'Its numbers say nothing about CIFAR-10.',
      `Why: ${error.reason}.`,
      `${error.fix} With --dataset cifar10 a run fails rather than fall back.`,
    ])) {
      err(line);
    }
    return loadSyntheticFor(o);
  }
}
