import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<repo root>/../shared/fixtures`, resolved from this file; a missing folder fails loudly. */
export function fixturesDir(): string {
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures');
  return dir;
}

export interface SafeTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Reads a safetensors file (8-byte little-endian header length, JSON header, raw data): enough for fixtures. */
export function readSafetensorsFile(path: string): Map<string, SafeTensor> {
  const buf = readFileSync(path);
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const out = new Map<string, SafeTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    out.set(name, {
      dtype: info.dtype,
      shape: info.shape,
      bytes: new Uint8Array(buf.subarray(base + begin, base + end)),
    });
  }
  return out;
}

export { join };
