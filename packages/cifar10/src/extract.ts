import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, win32 } from 'node:path';
import { type ReadEntry, x as untar } from 'tar';

/** The folder the official archive unpacks to. */
export const BATCHES_FOLDER = 'cifar-10-batches-bin';

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/**
 * Why an entry must not be written, or null. Only plain files and folders that stay inside the target folder are
 * allowed: `..`, absolute paths and links (a link could point a later entry outside) are path traversal.
 */
function unsafeEntry(path: string, type: string, root: string): string | null {
  if (!ALLOWED_TYPES.has(type)) return `it is a ${type} entry; only plain files and folders are allowed`;
  if (isAbsolute(path) || posix.isAbsolute(path) || win32.isAbsolute(path)) return 'its path is absolute';
  if (path.split(/[\\/]+/).includes('..')) return "its path contains '..'";
  const rel = relative(root, resolve(root, path));
  if (rel.startsWith('..') || isAbsolute(rel)) return 'its path escapes the target folder';
  return null;
}

/**
 * Extracts a CIFAR `.tar.gz` (streamed by node-tar) into a private temporary folder inside `targetDir`, checks
 * every entry, then renames `cifar-10-batches-bin/` into place in one step, so a reader never sees half a folder.
 * Returns the extracted folder. If another process put the folder there first, theirs is kept.
 */
export async function extractCifarTarball(tarball: string, targetDir: string): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  const tmp = join(targetDir, `.extract-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  const final = join(targetDir, BATCHES_FOLDER);
  try {
    let rejected: string | null = null;
    try {
      await untar({
        file: tarball,
        cwd: tmp,
        strict: true,
        filter: (path: string, entry) => {
          const type = (entry as ReadEntry).type ?? 'File';
          const why = unsafeEntry(path, type, tmp);
          if (why && !rejected) rejected = `entry '${path}' was rejected: ${why}`;
          return why === null;
        },
      });
    } catch (e) {
      if (rejected) throw new Error(`${tarball}: ${rejected}`);
      throw new Error(
        `${tarball} is not a readable .tar.gz (${e instanceof Error ? e.message : String(e)}). Delete it and load ` +
          `again to download a fresh copy, or pass another tarball.`,
      );
    }
    if (rejected) {
      throw new Error(
        `${tarball}: ${rejected} (path traversal). Nothing from this archive was kept; use the official archive.`,
      );
    }
    const inner = join(tmp, BATCHES_FOLDER);
    const source = existsSync(inner) ? inner : tmp;
    const names = await readdir(source);
    if (!names.includes('test_batch.bin')) {
      throw new Error(
        `${tarball} holds no ${BATCHES_FOLDER}/test_batch.bin (found: ${names.slice(0, 10).join(', ') || 'nothing'}). ` +
          `Is it the binary version (cifar-10-binary.tar.gz), not the Python or MATLAB one?`,
      );
    }
    try {
      await rename(source, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!(code === 'ENOTEMPTY' || code === 'EEXIST') || !existsSync(final)) throw e;
    }
    return final;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
