// A tar writer by hand, so tests can make archives no well-behaved tool would (links, paths outside the archive,
// gigabytes of zeros) and need no tar package: ustar headers with the fields tar readers need.
import { createGzip, gzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  data?: Uint8Array | string;
  /** '0' file (the default), '1' hard link, '2' symbolic link, '5' folder. */
  type?: '0' | '1' | '2' | '5';
  /** The target of a link. */
  linkname?: string;
}

/** One ustar header block: name, mode, owner, size, mtime, type, link target, magic and checksum. */
function header(e: { name: string; size: number; type?: string; linkname?: string }): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, 'utf8');
  h.write(e.type === '5' ? '0000755\0' : '0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${e.size.toString(8).padStart(11, '0')}\0`, 124);
  h.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136);
  // The checksum is summed with its own field as spaces.
  h.fill(' ', 148, 156);
  h.write(e.type ?? '0', 156);
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Zeros up to the next 512-byte block. */
const padding = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/** An ustar archive of `entries`, in order, ended by two zero blocks. */
export function makeTar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    blocks.push(header({ ...e, size: data.length }), data, padding(data.length));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** {@link makeTar}, gzipped. */
export function makeTarGz(entries: readonly TarEntry[]): Buffer {
  return gzipSync(makeTar(entries));
}

/**
 * A gzip bomb: a `.tar.gz` of entries made of zeros, streamed through zlib so that hundreds of megabytes
 * unpacked cost a few hundred milliseconds and about a megabyte of memory.
 */
export async function zerosTarGz(entries: readonly { name: string; size: number }[]): Promise<Buffer> {
  const gzip = createGzip({ level: 1 });
  const chunks: Buffer[] = [];
  gzip.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => gzip.on('end', r));
  const zeros = Buffer.alloc(1 << 20);
  for (const e of entries) {
    gzip.write(header(e));
    for (let left = e.size; left > 0; left -= zeros.length) {
      if (!gzip.write(zeros.subarray(0, Math.min(left, zeros.length)))) {
        await new Promise((r) => gzip.once('drain', r));
      }
    }
    gzip.write(padding(e.size));
  }
  gzip.end(Buffer.alloc(1024));
  await done;
  return Buffer.concat(chunks);
}
