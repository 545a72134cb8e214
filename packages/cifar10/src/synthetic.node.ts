import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { applySubset, type CifarDataset } from './dataset.ts';
import { RECORD_BYTES } from './format.ts';
import { readCifarFolder } from './load.ts';
import {
  type LoadSyntheticOptions as InMemoryOptions,
  loadSynthetic as loadSyntheticInMemory,
  resolveSizes,
  SYNTHETIC_CLASSES,
  SYNTHETIC_FOLDER,
  SYNTHETIC_GENERATOR,
  type SyntheticOptions,
  syntheticRecords,
} from './synthetic.ts';

export interface LoadSyntheticOptions extends InMemoryOptions {
  /** Write the files under this folder and read them back through the CIFAR reader; default: in memory. */
  dataDir?: string;
}

/**
 * Writes the synthetic set to `<dir>/synthetic-batches-bin/` in the CIFAR-10 binary layout (data_batch_1..5.bin,
 * test_batch.bin, batches.meta.txt) plus synthetic.json and README.txt saying what it is. Written to a temporary
 * folder and renamed into place; an existing folder made with the same options is reused. Returns the folder.
 */
export async function writeSyntheticCifar(dir: string, options: SyntheticOptions = {}): Promise<string> {
  const o = resolveSizes(options);
  const manifest = `${JSON.stringify(
    {
      name: 'synthetic',
      note: 'SYNTHETIC images made by @skipnet/cifar10 (procedural shapes and textures): not CIFAR-10',
      generator: SYNTHETIC_GENERATOR,
      ...o,
      classNames: SYNTHETIC_CLASSES,
    },
    null,
    2,
  )}\n`;
  const final = join(resolve(dir), SYNTHETIC_FOLDER);
  if (existsSync(final)) {
    const existing = await readFile(join(final, 'synthetic.json'), 'utf8').catch(() => null);
    if (existing === manifest) return final;
    throw new Error(
      `synthetic: ${final} exists but was not made with ${JSON.stringify(o)}; delete it or choose another folder`,
    );
  }
  await mkdir(dir, { recursive: true });
  const tmp = join(resolve(dir), `.synthetic-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const train = syntheticRecords(o.trainSize, o.seed, 'train');
    const files = Math.min(5, o.trainSize);
    for (let f = 0; f < files; f++) {
      const from = Math.floor((f * o.trainSize) / files);
      const to = Math.floor(((f + 1) * o.trainSize) / files);
      await writeFile(
        join(tmp, `data_batch_${f + 1}.bin`),
        train.subarray(from * RECORD_BYTES, to * RECORD_BYTES),
      );
    }
    await writeFile(join(tmp, 'test_batch.bin'), syntheticRecords(o.testSize, o.seed, 'test'));
    await writeFile(join(tmp, 'batches.meta.txt'), `${SYNTHETIC_CLASSES.join('\n')}\n`);
    await writeFile(join(tmp, 'synthetic.json'), manifest);
    await writeFile(
      join(tmp, 'README.txt'),
      'SYNTHETIC DATA, NOT CIFAR-10.\nProcedural shapes and textures with noise, made by @skipnet/cifar10 for ' +
        'tests and offline demos, in the CIFAR-10 binary layout. Parameters: synthetic.json.\n',
    );
    try {
      await rename(tmp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!(code === 'ENOTEMPTY' || code === 'EEXIST')) throw e;
      // Another writer won the race with the same deterministic content, or with other options: re-check.
      return writeSyntheticCifar(dir, options);
    }
    return final;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The built-in synthetic 10-class set (name 'synthetic', classes 'synthetic-…'): the same shape as
 * {@link loadCifar10}'s result. Made in memory through the CIFAR record decoder, or, with `dataDir`, written as
 * CIFAR binary files under `<dataDir>/synthetic-v2-seed<seed>-train<n>-test<m>/` and read back by the CIFAR reader.
 */
export async function loadSynthetic(options: LoadSyntheticOptions = {}): Promise<CifarDataset> {
  if (!options.dataDir) return loadSyntheticInMemory(options);
  const o = resolveSizes(options);
  const version = SYNTHETIC_GENERATOR.split(' ').at(-1);
  const dir = join(
    options.dataDir,
    `synthetic-${version}-seed${o.seed}-train${o.trainSize}-test${o.testSize}`,
  );
  return applySubset(await readCifarFolder(await writeSyntheticCifar(dir, o)), options.subset);
}
