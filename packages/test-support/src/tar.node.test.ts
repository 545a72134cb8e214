// The hand-written archives checked by another reader: GNU tar (in every Debian) lists and extracts them.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTar, makeTarGz, type TarEntry, zerosTarGz } from './tar.node.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skipnet-tar-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** GNU tar run on `archive`; it fails on a header whose checksum or fields it cannot read. */
async function tar(archive: Buffer, ...args: string[]): Promise<Buffer> {
  const file = join(dir, 'a.tar');
  await writeFile(file, archive);
  return execFileSync('tar', [...args, '-f', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
}

const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
const entries: TarEntry[] = [
  { name: 'd/', type: '5' },
  { name: 'd/a.bin', data: bytes },
  { name: 'd/note.txt', data: 'hi' },
  { name: 'd/link', type: '2', linkname: 'a.bin' },
  { name: 'd/hard', type: '1', linkname: 'd/a.bin' },
];

describe('makeTar', () => {
  it('writes entries GNU tar lists in order, with their types, link targets and bytes', async () => {
    const archive = makeTar(entries);
    expect(archive.length % 512).toBe(0);
    const listing = (await tar(archive, '-tv')).toString().trim().split('\n');
    expect(listing.map((l) => l.slice(l.indexOf(' d/') + 1))).toEqual([
      'd/',
      'd/a.bin',
      'd/note.txt',
      'd/link -> a.bin',
      'd/hard link to d/a.bin',
    ]);
    expect(listing.map((l) => l[0])).toEqual(['d', '-', '-', 'l', 'h']);
    expect(new Uint8Array(await tar(archive, '-xO', 'd/a.bin'))).toEqual(bytes);
    expect((await tar(archive, '-xO', 'd/note.txt')).toString()).toBe('hi');
  });

  it('gzips the same archive', () => {
    expect(gunzipSync(makeTarGz(entries)).equals(makeTar(entries))).toBe(true);
  });
});

describe('zerosTarGz', () => {
  it('streams entries of zeros of the sizes asked for, far smaller than they unpack', async () => {
    const size = 3 * (1 << 20) + 5;
    const archive = await zerosTarGz([{ name: 'big.bin', size }]);
    expect(archive.length).toBeLessThan(size / 100);
    const unpacked = gunzipSync(archive);
    const listing = (await tar(unpacked, '-tv')).toString();
    expect(listing).toMatch(new RegExp(` ${size} .* big\\.bin\\n$`));
    const data = await tar(unpacked, '-xO', 'big.bin');
    expect(data.length).toBe(size);
    expect(data.every((b) => b === 0)).toBe(true);
  });
});
