import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { ArchiveError, readArchive } from './archive.ts';

/** The folder the official archive unpacks to. */
export const BATCHES_FOLDER = 'cifar-10-batches-bin';

/**
 * Extracts a CIFAR `.tar.gz` into a private temporary folder inside `targetDir`, through the same checked reader
 * the browser uses ({@link readArchive}: links and paths outside the archive rejected, no entry larger than a
 * CIFAR-10 file, no more than the archive holds in all), then renames `cifar-10-batches-bin/` into place in one
 * step, so a reader never sees half a folder. Each entry is written and awaited before the next is read, so when
 * extraction stops — finished or refused — nothing is still writing, and the temporary folder is removed whole.
 * Returns the extracted folder. If another process put the folder there first, theirs is kept.
 */
export async function extractCifarTarball(tarball: string, targetDir: string): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  const tmp = join(targetDir, `.extract-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  const final = join(targetDir, BATCHES_FOLDER);
  try {
    try {
      const bytes = Readable.toWeb(createReadStream(tarball)) as ReadableStream<Uint8Array>;
      for await (const entry of readArchive(bytes, tarball)) {
        const dest = join(tmp, entry.path);
        await mkdir(dirname(dest), { recursive: true });
        await writeFile(dest, entry.bytes);
      }
    } catch (e) {
      if (e instanceof ArchiveError && e.refused) {
        throw new Error(`${e.message}. Nothing from this archive was kept; use the official archive.`);
      }
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}. Delete ${tarball} and load again to download a fresh ` +
          `copy, or pass another tarball.`,
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
