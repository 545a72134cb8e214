// The platform-neutral readers, fed the way a browser feeds them: bytes, a Blob or File, a stream, a Response.
import { makeTar, makeTarGz, zerosTarGz } from '@skipnet/test-support';
import { describe, expect, it } from 'vitest';
import { type ArchiveLimits, readArchive } from './archive.ts';
import { type CifarDataset, readCifarFiles, readCifarTarball } from './dataset.ts';
import { CIFAR10_CLASSES, IMAGE_BYTES } from './format.ts';
import { md5, tinyCifar, tinyCifarTarGz } from './test-utils.ts';

const set = tinyCifar();
const tarball = new Uint8Array(tinyCifarTarGz(set));
const sum = md5(tarball);

function expectTinySet(data: CifarDataset): void {
  expect(data.name).toBe('cifar10');
  expect(data.dir).toBe(null);
  expect(data.classNames).toEqual(CIFAR10_CLASSES);
  expect(data.train.labels).toEqual(set.train.labels);
  expect(data.test.labels).toEqual(set.test.labels);
  expect(Buffer.from(data.train.images).equals(Buffer.from(set.train.images))).toBe(true);
  expect(Buffer.from(data.test.images).equals(Buffer.from(set.test.images))).toBe(true);
}

function streamOf(bytes: Uint8Array, chunk = 777): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) controller.close();
      else {
        controller.enqueue(bytes.slice(at, at + chunk));
        at += chunk;
      }
    },
  });
}

describe('readCifarTarball', () => {
  it('reads the archive from bytes, a File, a stream and a Response, checking its MD5', async () => {
    expectTinySet(await readCifarTarball(tarball, { md5: sum }));
    expectTinySet(await readCifarTarball(new File([tarball], 'cifar-10-binary.tar.gz'), { md5: sum }));
    expectTinySet(await readCifarTarball(streamOf(tarball), { md5: sum }));
    const progress: number[] = [];
    const response = new Response(tarball, { headers: { 'content-length': String(tarball.length) } });
    expectTinySet(
      await readCifarTarball(response, { md5: sum, onProgress: (bytes) => progress.push(bytes) }),
    );
    expect(progress.at(-1)).toBe(tarball.length);
  });

  it('reads an uncompressed .tar too, and keeps the subsets asked for', async () => {
    const tar = makeTar(
      [...set.files].map(([name, data]) => ({ name: `cifar-10-batches-bin/${name}`, data })),
    );
    const data = await readCifarTarball(tar, { md5: null, subset: { train: 4 } });
    expect(data.train.length).toBe(4);
    expect(data.test.length).toBe(4);
  });

  it('refuses an archive whose MD5 differs, naming it', async () => {
    await expect(
      readCifarTarball(new File([tarball], 'mirror.tar.gz'), { md5: 'f'.repeat(32) }),
    ).rejects.toThrow(/checksum mismatch for mirror\.tar\.gz: MD5 [0-9a-f]{32}, expected f{32}.*md5: null/);
  });

  it('calls a response that ends before its Content-Length an interrupted download', async () => {
    const cut = streamOf(tarball.subarray(0, Math.floor(tarball.length * 0.4)));
    const response = new Response(cut, { headers: { 'content-length': String(tarball.length) } });
    await expect(readCifarTarball(response, { md5: null, name: 'http://mirror/x.tar.gz' })).rejects.toThrow(
      /download of http:\/\/mirror\/x\.tar\.gz was interrupted after \d[\d,]* of [\d,]+ bytes.*fetch it again/,
    );
  });

  it('calls a cut archive of unknown length cut short', async () => {
    const cut = streamOf(tarball.subarray(0, Math.floor(tarball.length * 0.4)));
    await expect(readCifarTarball(cut, { md5: null })).rejects.toThrow(
      /the archive ends early \(.*\): it was cut short, by an interrupted download or a partial copy/,
    );
  });

  it('refuses an HTTP error response, naming the status', async () => {
    await expect(
      readCifarTarball(new Response('no', { status: 404, statusText: 'Not Found' })),
    ).rejects.toThrow(/answered HTTP 404 Not Found/);
  });

  it('refuses an entry larger than any CIFAR-10 file, on its header', async () => {
    const bomb = await zerosTarGz([{ name: 'cifar-10-batches-bin/test_batch.bin', size: 1 << 30 }]);
    // Only the first 64 kB: the header alone must decide, before the gigabyte is unpacked.
    await expect(
      readCifarTarball(bomb.subarray(0, 65_536), { md5: null, name: 'bomb.tar.gz' }),
    ).rejects.toThrow(
      /bomb\.tar\.gz: entry 'cifar-10-batches-bin\/test_batch\.bin' is 1,073,741,824 bytes, more than any file of CIFAR-10's archive/,
    );
  });

  it('refuses links and paths outside the archive', async () => {
    const link = makeTarGz([
      { name: 'cifar-10-batches-bin/test_batch.bin', type: '2', linkname: '/etc/passwd' },
    ]);
    await expect(readCifarTarball(link, { md5: null })).rejects.toThrow(
      /symbolic link entry.*path traversal/,
    );
    const up = makeTarGz([{ name: '../test_batch.bin', data: 'x' }]);
    await expect(readCifarTarball(up, { md5: null })).rejects.toThrow(
      /'\.\.\/test_batch\.bin' was rejected.*'\.\.'/,
    );
    const absolute = makeTarGz([{ name: '/tmp/test_batch.bin', data: 'x' }]);
    await expect(readCifarTarball(absolute, { md5: null })).rejects.toThrow(/path is absolute/);
  });
});

describe('readArchive caps', () => {
  const limits: ArchiveLimits = { entryBytes: 10_000, totalBytes: 50_000 };
  const drain = async (bytes: Uint8Array) => {
    const paths: string[] = [];
    for await (const e of readArchive(streamOf(bytes, 4096), 'x.tar.gz', limits)) paths.push(e.path);
    return paths;
  };

  it('passes an archive within the caps', async () => {
    const ok = makeTarGz([
      { name: 'a/', type: '5' },
      { name: 'a/one.bin', data: new Uint8Array(10_000) },
      { name: './a/two.bin', data: new Uint8Array(9_000) },
    ]);
    expect(await drain(ok)).toEqual(['a/one.bin', 'a/two.bin']);
  });

  it('stops at the total cap, however small each entry is', async () => {
    const many = makeTarGz(
      Array.from({ length: 10 }, (_, i) => ({ name: `part${i}.bin`, data: new Uint8Array(9_000) })),
    );
    await expect(drain(many)).rejects.toThrow(/x\.tar\.gz unpacks to more than 50,000 bytes/);
  });
});

describe('readCifarFiles', () => {
  const files = () => [...set.files].map(([name, data]) => new File([new Uint8Array(data)], name));

  it("reads the extracted binary files as a file input gives them; CIFAR-10's names without batches.meta.txt", async () => {
    expectTinySet(await readCifarFiles(files()));
    const withoutMeta = files().filter((f) => f.name !== 'batches.meta.txt');
    const data = await readCifarFiles(withoutMeta);
    expect(data.classNames).toEqual(CIFAR10_CLASSES);
    expect(data.train.image(14)).toEqual(set.train.images.slice(14 * IMAGE_BYTES, 15 * IMAGE_BYTES));
  });

  it('names what is missing, and the file of a bad record', async () => {
    await expect(readCifarFiles(files().filter((f) => f.name !== 'test_batch.bin'))).rejects.toThrow(
      /lack test_batch\.bin \(got data_batch_1\.bin/,
    );
    const cut = files().map((f) =>
      f.name === 'data_batch_2.bin' ? new File([new Uint8Array(5000)], f.name) : f,
    );
    await expect(readCifarFiles(cut, { source: 'picked' })).rejects.toThrow(
      /picked\/data_batch_2\.bin: 5,000 bytes is not a whole number of 3,073-byte CIFAR records/,
    );
  });

  it('tells whoever picked a file that is not whole records to pick it again, by its own name', async () => {
    const cut = files().map((f) =>
      f.name === 'data_batch_2.bin' ? new File([new Uint8Array(5000)], f.name) : f,
    );
    const error = await readCifarFiles(cut).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^data_batch_2\.bin: 5,000 bytes is not a whole number .* Pick or download the extracted files again, or give the archive cifar-10-binary\.tar\.gz itself \(its MD5 is checked\)\.$/,
    );
    // The advice of Node's cache folder has no place here.
    expect((error as Error).message).not.toMatch(/folder|load again/i);
  });

  it('tells whoever gave an archive holding such a file to get the archive again, naming the entry', async () => {
    const cut = makeTarGz(
      [...set.files].map(([name, data]) => ({
        name: `cifar-10-batches-bin/${name}`,
        data: name === 'test_batch.bin' ? data.subarray(0, 5000) : data,
      })),
    );
    const error = await readCifarTarball(new File([new Uint8Array(cut)], 'mirror.tar.gz'), {
      md5: null,
    }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^mirror\.tar\.gz:cifar-10-batches-bin\/test_batch\.bin: 5,000 bytes is not a whole number .* The archive is damaged or not CIFAR-10's binary version: get cifar-10-binary\.tar\.gz again, with its MD5 \(c32a1d4ab5d03f1284b67883e8d87530\) checked\.$/,
    );
    expect((error as Error).message).not.toMatch(/folder|load again|Pick/i);
  });
});
