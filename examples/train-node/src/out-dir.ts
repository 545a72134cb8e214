import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** What a run writes into `--out`: if any of these is there, the folder holds a run. */
export const RUN_FILES = [
  'checkpoints',
  'history.json',
  'history.csv',
  'epochs.csv',
  'plot.svg',
  'plot.png',
] as const;

/** Where runs go when `--out` is not given: a new folder per run, so a second run never touches the first. */
export const RUNS_FOLDER = 'runs';

const ASIDE_PREFIX = '.overwritten-';

/** `--out` cannot be used as asked; the message names the folder and the fix. The CLI exits with code 2. */
export class OutDirError extends Error {
  override name = 'OutDirError';
}

export interface OutDirRequest {
  /** `--out` as given; undefined: a new `runs/<date>_<time>` (or, with `resume`, the newest run under `runs/`). */
  out: string | undefined;
  resume: boolean;
  overwrite: boolean;
  /** Relative paths resolve against this folder. */
  cwd: string;
  now?: Date;
}

/** The folder a run writes into, checked and claimed before anything trains. */
export interface OutDir {
  path: string;
  /** Lines for the user: where the run goes, what was moved aside. */
  notes: string[];
  /** The new run has saved a checkpoint: an earlier run moved aside by `--overwrite` can go now. */
  committed(): Promise<void>;
  /**
   * The run ends, however. If it saved no checkpoint, a run moved aside by `--overwrite` is put back, and a folder
   * made for this run is removed again if it is still empty.
   */
  release(): Promise<void>;
}

function holdsRun(dir: string): string[] {
  return RUN_FILES.filter((name) => existsSync(join(dir, name)));
}

/** Whether `dir/checkpoints` holds something `--resume` can continue from. */
async function holdsCheckpoint(dir: string): Promise<boolean> {
  const names = await readdir(join(dir, 'checkpoints')).catch(() => [] as string[]);
  return names.some((n) => n === 'latest.json' || /^epoch-\d+/.test(n));
}

const pad = (n: number) => String(n).padStart(2, '0');

function stamp(d: Date): string {
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}_` +
    `${pad(d.getHours())}-${pad(d.getMinutes())}-${pad(d.getSeconds())}`
  );
}

/** What a failed file operation on `--out` means, in words. */
function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return 'a file is in the way (it, or a folder on its path, is a file, not a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'it is not writable (permission denied)';
    case 'EROFS':
      return 'it is on a read-only file system';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return (error as Error).message;
  }
}

function unusable(path: string, error: unknown): OutDirError {
  return new OutDirError(
    `--out ${path} cannot hold the run: ${describe(error)}. Choose a folder you can write to with --out <dir>.`,
  );
}

/**
 * Creates `path` (and its parents) and writes and deletes a file in it, so an unusable `--out` fails now rather
 * than after an epoch of training. Returns the topmost folder it created, or undefined when `path` existed.
 */
async function claim(path: string): Promise<string | undefined> {
  let created: string | undefined;
  try {
    created = await mkdir(path, { recursive: true });
    if (!(await stat(path)).isDirectory())
      throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    const probe = join(path, `.skipnet-write-check-${process.pid}`);
    await writeFile(probe, '');
    await unlink(probe);
  } catch (error) {
    if (created) await removeEmpty(path, created);
    throw unusable(path, error);
  }
  return created;
}

/** Removes `path` and its parents up to `top` while they are empty (never anything with files in it). */
async function removeEmpty(path: string, top: string): Promise<void> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    if (dir === top || dir === dirname(dir)) return;
  }
}

/**
 * A new `runs/<date>_<time>` folder, claimed atomically (a second run in the same second gets `-2`), and the
 * topmost folder made for it.
 */
async function newRunFolder(cwd: string, now: Date): Promise<{ path: string; created: string }> {
  const runs = resolve(cwd, RUNS_FOLDER);
  const createdRuns = await claim(runs);
  for (let n = 1; ; n++) {
    const path = join(runs, n === 1 ? stamp(now) : `${stamp(now)}-${n}`);
    try {
      await mkdir(path);
      return { path, created: createdRuns ?? path };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(path, error);
    }
  }
}

/** The run under `runs/` whose checkpoint was saved last, for `--resume` without `--out`. */
async function newestRun(cwd: string): Promise<string> {
  const runs = resolve(cwd, RUNS_FOLDER);
  const names = await readdir(runs).catch(() => [] as string[]);
  let best: { path: string; time: number } | null = null;
  for (const name of names) {
    const path = join(runs, name);
    const pointer = join(path, 'checkpoints', 'latest.json');
    const time = existsSync(pointer) ? statSync(pointer).mtimeMs : -1;
    if (time >= 0 && (!best || time > best.time)) best = { path, time };
  }
  if (!best) {
    throw new OutDirError(
      `--resume: no run under ${runs} to continue. Pass the run's folder with --out <dir>, or drop --resume to start one.`,
    );
  }
  return best.path;
}

/**
 * Decides and checks the folder a run writes into, before any training: refuses a folder that holds a run unless
 * `resume` (continue it) or `overwrite` (replace it) is asked, refuses `resume` where there is nothing to continue,
 * and makes sure the folder can be written. `overwrite` moves the earlier run aside (`.overwritten-<time>/`
 * inside the folder) and deletes it only once the new run has a checkpoint of its own.
 */
export async function prepareOutDir(request: OutDirRequest): Promise<OutDir> {
  const { resume, overwrite, cwd } = request;
  const now = request.now ?? new Date();
  if (resume && overwrite) {
    throw new OutDirError(
      '--resume continues the run in --out and --overwrite replaces it: pass one of them.',
    );
  }
  if (request.out !== undefined && request.out.trim() === '') {
    throw new OutDirError('--out is empty; name a folder for the run, e.g. --out runs/first.');
  }
  const notes: string[] = [];
  const nothing = async () => {};

  if (request.out === undefined && !resume) {
    const { path, created } = await newRunFolder(cwd, now);
    notes.push(`out: ${path} (a new folder for this run; --out <dir> chooses another)`);
    return { path, notes, committed: nothing, release: () => removeEmpty(path, created) };
  }

  const path = request.out === undefined ? await newestRun(cwd) : resolve(cwd, request.out);
  for (const name of await readdir(path).catch(() => [] as string[])) {
    if (name.startsWith(ASIDE_PREFIX)) {
      notes.push(
        `note: ${join(path, name)} holds a run an interrupted --overwrite moved aside; move its files back into ` +
          `${path} to keep it, or delete it.`,
      );
    }
  }
  if (resume) {
    if (!(await holdsCheckpoint(path))) {
      throw new OutDirError(
        `--resume: ${path} holds no checkpoint to continue (no checkpoints/latest.json). Drop --resume to start ` +
          'a new run, or pass the folder of the run to continue with --out <dir>.',
      );
    }
    await claim(path);
    notes.push(`out: ${path} (continuing the run saved there)`);
    return { path, notes, committed: nothing, release: nothing };
  }

  const existing = holdsRun(path);
  if (existing.length > 0 && !overwrite) {
    throw new OutDirError(
      `--out ${path} holds a run (${existing.join(', ')}); pass --resume to continue it, --overwrite to replace ` +
        'it, or choose another folder.',
    );
  }
  const created = await claim(path);
  if (existing.length === 0) {
    notes.push(`out: ${path}`);
    return {
      path,
      notes,
      committed: nothing,
      release: () => (created ? removeEmpty(path, created) : nothing()),
    };
  }

  // --overwrite: the earlier run stays whole, aside, until this run has something to show for it.
  const aside = join(path, `${ASIDE_PREFIX}${stamp(now)}-${process.pid}`);
  await mkdir(aside);
  for (const name of existing) await rename(join(path, name), join(aside, name));
  notes.push(
    `out: ${path} (--overwrite: the earlier run is moved to ${basename(aside)}/ and deleted once this run saves ` +
      'its first checkpoint; if it ends before that, the earlier run is put back)',
  );
  let asideGone = false;
  return {
    path,
    notes,
    committed: async () => {
      if (asideGone) return;
      asideGone = true;
      await rm(aside, { recursive: true, force: true });
    },
    release: async () => {
      if (asideGone || (await holdsCheckpoint(path))) return;
      asideGone = true;
      for (const name of existing) {
        // Whatever this run left under the same name (an empty checkpoints/ at most) makes way for the earlier run.
        await rm(join(path, name), { recursive: true, force: true });
        await rename(join(aside, name), join(path, name));
      }
      await rmdir(aside);
    },
  };
}
