// A tiny data set in CIFAR-10's binary layout, and its .tar.gz as the official archive packs it
// (cifar-10-batches-bin/data_batch_1.bin, test_batch.bin, batches.meta.txt), made here so that the browser tests
// need no download. Random pixels: it checks the reading and the training path, not learning.
import { createHash } from 'node:crypto';
import { makeTarGz } from '@skipnet/test-support';

/** One record: a label byte, then 32×32 pixels as three planes (R, G, B). */
const RECORD = 1 + 3 * 32 * 32;
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

function records(count: number, seed: number): Buffer {
  const bytes = Buffer.alloc(count * RECORD);
  let state = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    bytes[i] = state >>> 24;
  }
  for (let r = 0; r < count; r++) bytes[r * RECORD] = r % CLASSES.length;
  return bytes;
}

/** The extracted files: `train` images in data_batch_1.bin, `test` in test_batch.bin. */
export function tinyCifarFiles(train: number, test: number): Map<string, Buffer> {
  return new Map([
    ['data_batch_1.bin', records(train, 1)],
    ['test_batch.bin', records(test, 2)],
    ['batches.meta.txt', Buffer.from(`${CLASSES.join('\n')}\n`)],
  ]);
}

/** The files as a .tar.gz under cifar-10-batches-bin/, as in cifar-10-binary.tar.gz. */
export function tarGz(files: Map<string, Buffer>): Buffer {
  const folder = 'cifar-10-batches-bin/';
  return makeTarGz([
    { name: folder, type: '5' },
    ...[...files].map(([name, data]) => ({ name: folder + name, data })),
  ]);
}

export function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}
