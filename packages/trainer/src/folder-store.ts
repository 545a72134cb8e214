import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RunStore } from './store.ts';

/** A temporary name beside `path`, unique per process and call; {@link FolderStore.clean} recognises it. */
function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const TEMP = /^\..+\.tmp-\d+-[0-9a-f]{8}$/;

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** Writes and fsyncs a file (no rename). */
async function writeDurable(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (the names a rename just changed). Linux and macOS allow it; Windows does not. */
async function syncFolder(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * The {@link RunStore} of a folder on disk (Node): every file is written to a temporary name, fsynced and
 * renamed; a checkpoint folder is written under a temporary name and renamed into place whole. A process killed
 * mid-write leaves only `.<name>.tmp-<pid>-<hex>` entries, which {@link clean} removes.
 */
export class FolderStore implements RunStore {
  constructor(readonly location: string) {
    if (location === '') throw new Error('FolderStore: the folder is an empty string; name a folder');
  }

  locate(path: string): string {
    return join(this.location, ...path.split('/'));
  }

  async read(path: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.locate(path)));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async write(path: string, data: Uint8Array | string): Promise<void> {
    const final = this.locate(path);
    await mkdir(dirname(final), { recursive: true });
    const tmp = tempName(final);
    try {
      await writeDurable(tmp, data);
      await rename(tmp, final);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    await syncFolder(dirname(final));
  }

  async writeFolder(path: string, files: Record<string, Uint8Array | string>): Promise<void> {
    const final = this.locate(path);
    await mkdir(dirname(final), { recursive: true });
    const tmp = tempName(final);
    await mkdir(tmp);
    try {
      for (const [name, data] of Object.entries(files)) await writeDurable(join(tmp, name), data);
      await syncFolder(tmp);
      // A folder of that name exists when a run continues from an older checkpoint: move it aside first.
      const old = tempName(final);
      await rename(final, old).catch((e: unknown) => {
        if (!isMissing(e)) throw e;
      });
      await rename(tmp, final);
      await rm(old, { recursive: true, force: true });
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
    await syncFolder(dirname(final));
  }

  async list(path: string): Promise<string[]> {
    try {
      return await readdir(this.locate(path));
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
  }

  async remove(path: string): Promise<void> {
    await rm(this.locate(path), { recursive: true, force: true });
  }

  /** Removes temporary entries in the run folder and its direct subfolders (`checkpoints/`). */
  async clean(): Promise<string[]> {
    const removed: string[] = [];
    const sweep = async (path: string, depth: number) => {
      for (const name of await this.list(path)) {
        const child = path === '' ? name : `${path}/${name}`;
        if (TEMP.test(name)) {
          await this.remove(child);
          removed.push(this.locate(child));
        } else if (depth > 0 && !name.startsWith('.')) await sweep(child, depth - 1);
      }
    };
    await sweep('', 1);
    return removed;
  }
}
