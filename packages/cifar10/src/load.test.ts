import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTarGz, zerosTarGz } from '@skipnet/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ENTRY_BYTES } from './archive.ts';
import { CIFAR10_CLASSES, IMAGE_BYTES } from './format.ts';
import { Cifar10Error, defaultDataDir, type LoadCifar10Options, loadCifar10, TARBALL_NAME } from './load.ts';
import type { ProgressMode } from './progress.ts';
import {
  type LoopbackServer,
  loadInChildProcess,
  md5,
  serve,
  type TinyCifar,
  tinyCifar,
  tinyCifarTarGz,
  writeCifarFolder,
} from './test-utils.ts';

let dir: string;
let set: TinyCifar;
let tarball: Buffer;
let server: LoopbackServer;
let lines: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skipnet-cifar10-'));
  set = tinyCifar();
  tarball = tinyCifarTarGz(set);
  server = await serve(tarball);
  lines = [];
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const part = () => join(dir, `${TARBALL_NAME}.part`);

function options(extra: LoadCifar10Options = {}): LoadCifar10Options {
  return {
    dataDir: dir,
    url: server.url,
    md5: md5(tarball),
    progress: 'lines',
    log: (l) => lines.push(l),
    retries: 2,
    timeoutMs: 5_000,
    ...extra,
  };
}

function expectTinySet(data: Awaited<ReturnType<typeof loadCifar10>>): void {
  expect(data.name).toBe('cifar10');
  expect(data.classNames).toEqual(CIFAR10_CLASSES);
  expect(data.train.length).toBe(15);
  expect(data.test.length).toBe(4);
  expect(data.train.labels).toEqual(set.train.labels);
  expect(data.test.labels).toEqual(set.test.labels);
  expect(data.train.image(7)).toEqual(set.train.images.slice(7 * IMAGE_BYTES, 8 * IMAGE_BYTES));
  expect(data.test.image(3)).toEqual(set.test.images.slice(3 * IMAGE_BYTES, 4 * IMAGE_BYTES));
}

describe('loadCifar10 from a loopback server', () => {
  it("refuses a progress mode that is not the trainer's vocabulary ('auto', 'bar', 'lines', 'none'), before any download", async () => {
    await expect(loadCifar10(options({ progress: 'log' as ProgressMode }))).rejects.toThrow(
      `cifar10: progress must be 'auto', 'bar', 'lines', 'none', got "log"`,
    );
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });

  it('downloads, checks the MD5, extracts, and leaves no temporary files', async () => {
    const data = await loadCifar10(options());
    expectTinySet(data);
    expect(server.requests).toEqual([null]);
    expect((await readdir(dir)).sort()).toEqual(['cifar-10-batches-bin', TARBALL_NAME]);
    expect(lines.some((l) => l.includes('100%'))).toBe(true);
    // A second load reads the cache and makes no request.
    expectTinySet(await loadCifar10(options()));
    expect(server.requests.length).toBe(1);
  });

  it('resumes with an HTTP Range request after the connection is cut', async () => {
    server.cutAfter = 1000;
    server.cutWhen = () => existsSync(part()) && statSync(part()).size === 1000;
    expectTinySet(await loadCifar10(options()));
    expect(server.requests).toEqual([null, 'bytes=1000-']);
    const retry = lines.filter((l) => l.includes('retrying'));
    expect(retry).toEqual([
      expect.stringMatching(/; retrying \(1\/2\), resuming after the 1,000 bytes already here$/),
    ]);
  });

  it('resumes a partial file left by an earlier run', async () => {
    await writeFile(join(dir, `${TARBALL_NAME}.part`), tarball.subarray(0, 500));
    expectTinySet(await loadCifar10(options()));
    expect(server.requests).toEqual(['bytes=500-']);
  });

  it('starts over when a partial file from an earlier run belongs to another file', async () => {
    await writeFile(join(dir, `${TARBALL_NAME}.part`), Buffer.alloc(700, 1));
    expectTinySet(await loadCifar10(options()));
    expect(server.requests).toEqual(['bytes=700-', null]);
    expect(lines.some((l) => l.includes('downloading it afresh'))).toBe(true);
  });

  it('abandons a stalled connection and resumes', async () => {
    server.stallAfter = 800;
    expectTinySet(await loadCifar10(options({ timeoutMs: 300 })));
    // The second request resumes, or starts over if the bytes in flight at the stall had not reached the disk.
    expect(server.requests.length).toBe(2);
    expect(server.requests[1] ?? 'bytes=0-').toMatch(/^bytes=\d+-$/);
    expect(lines.some((l) => l.includes('stalled for 300 ms'))).toBe(true);
  });

  for (const lengthless of ['chunked', 'close'] as const) {
    it(`resumes a body without Content-Length (${lengthless}) that ended at 40%, instead of failing its MD5`, async () => {
      server.lengthless = lengthless;
      const cut = Math.floor(tarball.length * 0.4);
      server.endEarlyAfter = cut;
      expectTinySet(await loadCifar10(options()));
      expect(server.requests).toEqual([null, `bytes=${cut}-`]);
      expect(lines.some((l) => l.includes('was interrupted; resuming it'))).toBe(true);
    });
  }

  it('never installs a cut body without Content-Length as the cache, even with md5: null', async () => {
    server.lengthless = 'close';
    server.endEarlyAfter = Math.floor(tarball.length * 0.4);
    expectTinySet(await loadCifar10(options({ md5: null })));
    expect(statSync(join(dir, TARBALL_NAME)).size).toBe(tarball.length);
  });

  it('confirms a whole body without Content-Length by asking for the bytes after it', async () => {
    server.lengthless = 'chunked';
    expectTinySet(await loadCifar10(options({ md5: null })));
    expect(server.requests).toEqual([null, `bytes=${tarball.length}-`]);
  });

  it('gives up on a trickle at the deadline, naming it and keeping the partial file', async () => {
    const byteEveryMs = 50;
    server.trickleMs = byteEveryMs;
    const started = Date.now();
    const error = (await loadCifar10(options({ deadlineMs: 1_000 })).catch((e: Error) => e)) as Cifar10Error;
    // Not a timing target: it only tells "stopped at the deadline" from "waited for the whole trickle" (minutes).
    expect(Date.now() - started).toBeLessThan((tarball.length * byteEveryMs) / 4);
    expect(error).toBeInstanceOf(Cifar10Error);
    expect(error.code).toBe('download');
    expect(error.message).toMatch(/did not finish within 1 s: \d+ of [\d,]+ bytes arrived.*pass deadlineMs/s);
    expect(statSync(part()).size).toBeGreaterThan(0);
  });

  it('rejects a checksum mismatch and keeps nothing it would trust later', async () => {
    const error = await loadCifar10(options({ md5: '0'.repeat(32) })).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Cifar10Error);
    expect(error).toMatchObject({ code: 'checksum' });
    expect((error as Cifar10Error).reason).toMatch(
      /^checksum mismatch for http:.*MD5 \w+, expected 0+; the download/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports an HTTP error with the offline alternatives, without retrying a 404', async () => {
    server.status = 404;
    const error = await loadCifar10(options()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/HTTP 404/);
    expect(error).toMatchObject({
      code: 'download',
      reason: `could not download ${server.url}: HTTP 404 Not Found`,
    });
    expect((error as Error).message).toMatch(/Offline alternatives.*tarball.*loadSynthetic/s);
    expect(server.requests.length).toBe(1);
  });

  it('retries a server error, then gives up naming the URL', async () => {
    server.status = 503;
    await expect(loadCifar10(options({ retries: 1 }))).rejects.toThrow(
      /could not download http:\/\/127\.0\.0\.1.*503/,
    );
    expect(server.requests.length).toBe(2);
    // Nothing arrived, so the retry resumes nothing and does not say it does.
    expect(lines.filter((l) => l.includes('retrying'))).toEqual([
      expect.stringMatching(/503.*; retrying \(1\/1\)$/),
    ]);
  });

  it('lets two concurrent loads share one download', async () => {
    const [a, b] = await Promise.all([loadCifar10(options()), loadCifar10(options())]);
    expectTinySet(a);
    expectTinySet(b);
    expect(server.requests).toEqual([null]);
    expect(lines.some((l) => l.includes('another process is preparing'))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['cifar-10-batches-bin', TARBALL_NAME]);
  });

  it('lets two processes load into one cache at once: one download, both get the data', async () => {
    const childOptions = { dataDir: dir, url: server.url, md5: md5(tarball), progress: 'none', retries: 2 };
    // A slow server keeps the first process downloading while the second arrives and must wait for the lock.
    server.delayMs = 4000;
    const [a, b] = await Promise.all([loadInChildProcess(childOptions), loadInChildProcess(childOptions)]);
    expect(`${a.stderr}${b.stderr}`).toMatch(/another process is preparing/);
    expect(a.error ?? a.labels).toEqual([...set.train.labels]);
    expect(b.error ?? b.labels).toEqual([...set.train.labels]);
    expect(server.requests).toEqual([null]);
    expect((await readdir(dir)).sort()).toEqual(['cifar-10-batches-bin', TARBALL_NAME]);
  });
});

describe('loadCifar10 offline', () => {
  it('refuses the network with download: false, listing the alternatives', async () => {
    const error = (await loadCifar10(options({ download: false })).catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(/download is false/);
    expect(error).toMatchObject({ name: 'Cifar10Error', code: 'missing' });
    expect(error.message).toMatch(/cifar-10-batches-bin.*cifar-10-binary\.tar\.gz.*url.*loadSynthetic/s);
    expect(server.requests).toEqual([]);
  });

  it('reads an extracted folder, given its parent or the folder itself', async () => {
    const folder = await writeCifarFolder(dir, set);
    expectTinySet(await loadCifar10(options({ download: false })));
    expectTinySet(await loadCifar10(options({ dataDir: folder, download: false })));
    expect(server.requests).toEqual([]);
  });

  it('extracts a local tarball without touching the network', async () => {
    const local = join(dir, 'elsewhere.tar.gz');
    await writeFile(local, tarball);
    expectTinySet(await loadCifar10(options({ tarball: local, download: false })));
    expect(server.requests).toEqual([]);
  });

  it('rejects a tar entry whose path escapes the target folder, and keeps nothing from it', async () => {
    const evil = makeTarGz([
      ...[...set.files].map(([name, data]) => ({ name: `cifar-10-batches-bin/${name}`, data })),
      { name: '../escaped.txt', data: 'owned' },
    ]);
    const local = join(dir, 'evil.tar.gz');
    await writeFile(local, evil);
    const data = join(dir, 'data');
    await expect(loadCifar10(options({ dataDir: data, tarball: local, md5: null }))).rejects.toThrow(
      /'\.\.\/escaped\.txt' was rejected.*'\.\.'/,
    );
    expect(existsSync(join(dir, 'escaped.txt'))).toBe(false);
    expect((await readdir(data)).filter((n) => n !== '.lock')).toEqual([]);
  });

  it('rejects links in the archive', async () => {
    const evil = makeTarGz([
      { name: 'cifar-10-batches-bin/test_batch.bin', type: '2', linkname: '/etc/passwd' },
    ]);
    const local = join(dir, 'link.tar.gz');
    await writeFile(local, evil);
    await expect(
      loadCifar10(options({ dataDir: join(dir, 'd'), tarball: local, md5: null })),
    ).rejects.toThrow(/symbolic link entry/);
  });

  it('refuses an entry larger than any CIFAR-10 file, naming it, and leaves nothing in dataDir', async () => {
    // One record more than an official batch file: a gzip bomb's shape (megabytes unpacked from kilobytes).
    const bomb = await zerosTarGz([
      { name: 'cifar-10-batches-bin/data_batch_1.bin', size: MAX_ENTRY_BYTES + 3073 },
    ]);
    const local = join(dir, 'bomb.tar.gz');
    await writeFile(local, bomb);
    const data = join(dir, 'data');
    await expect(loadCifar10(options({ dataDir: data, tarball: local, md5: null }))).rejects.toThrow(
      /bomb\.tar\.gz: entry 'cifar-10-batches-bin\/data_batch_1\.bin' is 30,733,073 bytes, more than any file of CIFAR-10's archive \(30,730,000 bytes\).*Nothing from this archive was kept/,
    );
    expect((await readdir(data)).filter((n) => n !== '.lock')).toEqual([]);
  });

  it('stops an archive that unpacks to more than CIFAR-10 holds, after its writes, leaving nothing behind', async () => {
    // Seven entries, each within the per-entry cap, 215 MB in all from under 1 MB: the extraction must stop at
    // the total cap and remove its temporary folder only once nothing is writing into it.
    const names = [
      'data_batch_1',
      'data_batch_2',
      'data_batch_3',
      'data_batch_4',
      'data_batch_5',
      'data_batch_6',
      'test_batch',
    ];
    const bomb = await zerosTarGz(
      names.map((n) => ({ name: `cifar-10-batches-bin/${n}.bin`, size: MAX_ENTRY_BYTES })),
    );
    expect(bomb.length).toBeLessThan(1_500_000);
    const local = join(dir, 'bomb.tar.gz');
    await writeFile(local, bomb);
    const data = join(dir, 'data');
    await expect(loadCifar10(options({ dataDir: data, tarball: local, md5: null }))).rejects.toThrow(
      /bomb\.tar\.gz unpacks to more than 200,000,000 bytes.*decompression bomb.*Nothing from this archive was kept/,
    );
    expect((await readdir(data)).filter((n) => n !== '.lock')).toEqual([]);
  });

  it('checks the MD5 of a local tarball', async () => {
    const local = join(dir, 'x.tar.gz');
    await writeFile(local, tarball);
    const error = await loadCifar10(options({ tarball: local, md5: 'f'.repeat(32) })).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'checksum' });
    expect((error as Error).message).toMatch(/checksum mismatch for .*x\.tar\.gz/);
  });

  it('names the file and the fix for a truncated file', async () => {
    const folder = await writeCifarFolder(dir, set);
    await writeFile(join(folder, 'data_batch_3.bin'), set.files.get('data_batch_3.bin')!.subarray(0, 5000));
    const error = await loadCifar10(options({ download: false })).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /data_batch_3\.bin: 5,000 bytes is not a whole number of 3,073-byte CIFAR records.*truncated/s,
    );
    // The cache folder's own advice, naming it: not the picked files' of the browser.
    expect((error as Error).message).toContain(
      `Delete the folder ${folder} and load again to re-extract it from the checked archive, or fix the file.`,
    );
    expect((error as Error).message).not.toMatch(/Pick/);
  });

  it('names the file and the record for a label out of range', async () => {
    const folder = await writeCifarFolder(dir, set);
    const bad = new Uint8Array(set.files.get('test_batch.bin')!);
    bad[2 * 3073] = 10;
    await writeFile(join(folder, 'test_batch.bin'), bad);
    await expect(loadCifar10(options({ download: false }))).rejects.toThrow(
      /test_batch\.bin: record 2 .*label 10.*only 10 classes/,
    );
  });

  it('names the missing files', async () => {
    const folder = await writeCifarFolder(dir, set);
    await rm(join(folder, 'batches.meta.txt'));
    await expect(loadCifar10(options({ download: false }))).rejects.toThrow(/lacks batches\.meta\.txt/);
  });

  it('keeps the subsets asked for', async () => {
    await writeCifarFolder(dir, set);
    const data = await loadCifar10(options({ download: false, subset: { train: 4, test: { perClass: 1 } } }));
    expect(data.train.length).toBe(4);
    expect(data.train.labels).toEqual(set.train.labels.subarray(0, 4));
    expect(new Set(data.test.labels).size).toBe(data.test.length);
  });

  it('defaults to the XDG cache folder', () => {
    const saved = process.env['XDG_CACHE_HOME'];
    process.env['XDG_CACHE_HOME'] = '/tmp/xdg-test';
    try {
      expect(defaultDataDir()).toBe('/tmp/xdg-test/skipnet/cifar10');
    } finally {
      if (saved === undefined) delete process.env['XDG_CACHE_HOME'];
      else process.env['XDG_CACHE_HOME'] = saved;
    }
  });
});
