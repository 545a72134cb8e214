import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { applySubset, CIFAR10_MD5, type CifarDataset, type CifarFile, readFiles } from './dataset.ts';
import { ChecksumError, DeadlineError, download, md5File } from './download.ts';
import { BATCHES_FOLDER, extractCifarTarball } from './extract.ts';
import { checkProgressMode, type ProgressMode } from './progress.ts';
import type { Subset } from './split.ts';

/** The official binary archive. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** File name of the archive in the cache folder. */
export const TARBALL_NAME = 'cifar-10-binary.tar.gz';

export interface LoadCifar10Options {
  /**
   * Folder holding `cifar-10-batches-bin/` or `cifar-10-binary.tar.gz` (or the batches folder itself); downloads
   * land here too. Default: `$XDG_CACHE_HOME/skipnet/cifar10`, else `~/.cache/skipnet/cifar10`.
   */
  dataDir?: string;
  /** A local copy of `cifar-10-binary.tar.gz`, extracted into `dataDir` without touching the network. */
  tarball?: string;
  /** false: never use the network; fail with the offline alternatives if nothing is on disk (default true). */
  download?: boolean;
  /** Where to download from (default {@link CIFAR10_URL}); for a mirror of the same file. */
  url?: string;
  /** Expected MD5 of the archive (default {@link CIFAR10_MD5}, also for `url` mirrors); null skips the check. */
  md5?: string | null;
  /** Keep only part of each split: the first N images, or `{ perClass: N }`. */
  subset?: { train?: Subset; test?: Subset };
  /** Download progress: a bar on a terminal, plain lines otherwise ('auto', the default), or none. */
  progress?: ProgressMode;
  /** Where messages go (default: stderr). */
  log?: (line: string) => void;
  /** Further download attempts after a failure, each resuming the partial file (default 3). */
  retries?: number;
  /** Abandon a connection silent for this long, in ms (default 60,000). */
  timeoutMs?: number;
  /**
   * Give up when the download, retries included, has not finished this long after it started, in ms (default
   * 3,600,000: an hour, 47 kB/s for the 170 MB archive). The partial file is kept, and the next load resumes it.
   */
  deadlineMs?: number;
}

/**
 * Why {@link loadCifar10} could not get the files. The message says it with this library's options; `code` and
 * `reason` let a caller (a CLI with its own flags) give its own advice instead.
 */
export class Cifar10Error extends Error {
  override name = 'Cifar10Error';
  constructor(
    /**
     * 'missing': no files on disk and the network not allowed (or `tarball` does not exist); 'checksum': an archive
     * (on disk or just downloaded) has another MD5 than expected; 'download': the download failed.
     */
    readonly code: 'missing' | 'checksum' | 'download',
    /** What went wrong, naming the file or URL, without advice. */
    readonly reason: string,
    advice: string,
  ) {
    super(`cifar10: ${reason}. ${advice}`);
  }
}

/** The per-user cache folder: `$XDG_CACHE_HOME/skipnet/cifar10` or `~/.cache/skipnet/cifar10`. */
export function defaultDataDir(): string {
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'skipnet', 'cifar10');
}

function defaultLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** `dir/cifar-10-batches-bin`, or `dir` itself when it is such a folder; null when neither. */
function findBatchesFolder(dir: string): string | null {
  for (const candidate of [join(dir, BATCHES_FOLDER), dir]) {
    if (existsSync(join(candidate, 'test_batch.bin')) || existsSync(join(candidate, 'data_batch_1.bin'))) {
      return candidate;
    }
  }
  return null;
}

function offlineHelp(dataDir: string, md5: string | null): string {
  return (
    `Offline alternatives: (1) put the extracted folder ${BATCHES_FOLDER}/ in ${dataDir} (or pass dataDir: the ` +
    `folder that holds it); (2) put ${TARBALL_NAME}${md5 ? ` (MD5 ${md5})` : ''} in ${dataDir}, or pass tarball: ` +
    `'/path/to/${TARBALL_NAME}'; (3) pass url: a reachable mirror of the same file; (4) for tests and demos only, ` +
    `loadSynthetic() makes a synthetic 10-class set (not CIFAR-10).`
  );
}

/**
 * Serialises download and extraction between processes sharing a cache folder (a lock folder with a heartbeat,
 * taken over when its holder has died), so two loads never write the same files at once.
 */
async function withCacheLock<T>(dir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  let compromised: Error | null = null;
  const options = {
    lockfilePath: join(dir, '.lock'),
    realpath: false,
    stale: 30_000,
    update: 5_000,
    onCompromised: (e: Error) => {
      compromised = e;
    },
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    log(`cifar10: another process is preparing ${dir}; waiting for it`);
    // Up to an hour: a slow download by the other process is fine, a dead one goes stale within 30 s.
    release = await lockfile.lock(dir, {
      ...options,
      retries: { retries: 3600, factor: 1, minTimeout: 250, maxTimeout: 1000 },
    });
  }
  try {
    const result = await fn();
    if (compromised) throw compromised;
    return result;
  } finally {
    await release().catch(() => {});
  }
}

/**
 * Loads CIFAR-10 (binary version): from `dataDir` if the extracted folder is there, else from a local tarball, else
 * downloaded (resumable, MD5-checked) into `dataDir` and extracted. Two processes may load into the same folder at
 * once: one prepares it while the other waits.
 */
export async function loadCifar10(options: LoadCifar10Options = {}): Promise<CifarDataset> {
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  const url = options.url ?? CIFAR10_URL;
  const md5 = options.md5 === undefined ? CIFAR10_MD5 : options.md5;
  const log = options.log ?? defaultLog;
  if (options.progress !== undefined) checkProgressMode(options.progress);
  let folder = findBatchesFolder(dataDir);
  if (!folder) {
    const cached = join(dataDir, TARBALL_NAME);
    const tarball = options.tarball ? resolve(options.tarball) : existsSync(cached) ? cached : null;
    if (options.tarball && !existsSync(options.tarball)) {
      throw new Cifar10Error(
        'missing',
        `tarball ${options.tarball} does not exist`,
        offlineHelp(dataDir, md5),
      );
    }
    if (!tarball && options.download === false) {
      throw new Cifar10Error(
        'missing',
        `no CIFAR-10 files in ${dataDir} and download is false`,
        offlineHelp(dataDir, md5),
      );
    }
    await mkdir(dataDir, { recursive: true });
    folder = await withCacheLock(dataDir, log, async () => {
      const done = findBatchesFolder(dataDir);
      if (done) return done;
      let archive = tarball ?? (existsSync(cached) ? cached : null);
      if (archive) {
        if (md5) {
          const sum = await md5File(archive);
          if (sum !== md5.toLowerCase()) {
            throw new Cifar10Error(
              'checksum',
              `checksum mismatch for ${archive}: MD5 ${sum}, expected ${md5}`,
              `The file is damaged or not ${TARBALL_NAME}: delete it and load again to download it, or pass ` +
                'md5: null to trust it.',
            );
          }
        }
      } else {
        log(`cifar10: downloading ${url} into ${dataDir}`);
        try {
          await download({
            url,
            dest: cached,
            md5,
            retries: options.retries ?? 3,
            timeoutMs: options.timeoutMs ?? 60_000,
            deadlineMs: options.deadlineMs ?? 3_600_000,
            progress: options.progress ?? 'auto',
            log,
            label: 'cifar10',
          });
        } catch (e) {
          if (e instanceof ChecksumError) {
            throw new Cifar10Error(
              'checksum',
              e.message,
              'If the server (a mirror?) serves another file, pass its url and md5, or md5: null to skip the check.',
            );
          }
          throw new Cifar10Error(
            'download',
            `could not download ${url}: ${e instanceof Error ? e.message : String(e)}`,
            `${e instanceof DeadlineError ? 'Load again to resume it, or pass deadlineMs to allow longer. ' : ''}` +
              offlineHelp(dataDir, md5),
          );
        }
        archive = cached;
      }
      log(`cifar10: extracting ${archive}`);
      return extractCifarTarball(archive, dataDir);
    });
  }
  const dataset = await readCifarFolder(folder);
  return applySubset(dataset, options.subset);
}

/**
 * Reads a folder in the CIFAR-10 binary layout: `data_batch_<n>.bin` (train, in numeric order), `test_batch.bin`
 * and `batches.meta.txt` (one class name per line), through `readCifarFiles`. A set whose class names all
 * start with `synthetic-` is named 'synthetic', so it can never pass for CIFAR-10.
 */
export async function readCifarFolder(folder: string): Promise<CifarDataset> {
  const names = await readdir(folder);
  const missing = [
    ...(names.some((n) => /^data_batch_\d+\.bin$/.test(n)) ? [] : ['data_batch_1.bin … data_batch_5.bin']),
    ...['test_batch.bin', 'batches.meta.txt'].filter((n) => !names.includes(n)),
  ];
  if (missing.length > 0) {
    throw new Error(
      `cifar10: ${folder} lacks ${missing.join(', ')}. A CIFAR-10 binary folder holds data_batch_1.bin … ` +
        `data_batch_5.bin, test_batch.bin and batches.meta.txt: delete the folder and load again to re-extract it.`,
    );
  }
  const files: CifarFile[] = [];
  for (const name of names) {
    const path = join(folder, name);
    const info = await stat(path);
    if (!info.isFile()) continue;
    files.push({
      name,
      size: info.size,
      async arrayBuffer() {
        const bytes = await readFile(path);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    });
  }
  const remedy = `Delete the folder ${folder} and load again to re-extract it from the checked archive, or fix the file.`;
  return { ...(await readFiles(files, { source: folder }, remedy)), dir: folder };
}
