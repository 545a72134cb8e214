import { BRAND, isInstance } from '../brand.ts';

/**
 * What the reader and the writer share about [safetensors](https://github.com/huggingface/safetensors): 8 bytes of
 * little-endian u64 header length N, N bytes of UTF-8 JSON (`{"name": {"dtype", "shape", "data_offsets"},
 * "__metadata__"}`), then the tensors' little-endian, row-major bytes, with offsets counted from the end of the
 * header. header.ts validates, read.ts decodes, write.ts encodes.
 */

/** The element types skipnet reads and writes; tfjs holds them as float32, int32 or bool. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** What went wrong, for callers that branch on it; the message says it in words. */
export type SafetensorsErrorCode =
  /** Shorter than its 8-byte length prefix, or than the header length it announces. */
  | 'TRUNCATED'
  /**
   * The header is longer than `maxHeaderBytes` (default 8 MB) or the 100 MB the format allows, or holds more
   * entries than `maxEntries` (default 100,000).
   */
  | 'HEADER_TOO_LARGE'
  /**
   * The header is not UTF-8 JSON of one object with unique keys, nests deeper than the format does, or
   * `__metadata__` is not strings.
   */
  | 'INVALID_HEADER'
  /** A tensor's entry lacks `dtype`, `shape` or `data_offsets`, or one has the wrong type. */
  | 'INVALID_ENTRY'
  /** A dtype skipnet does not handle (for example U32 or F8_E4M3). */
  | 'UNSUPPORTED_DTYPE'
  /** Offsets outside the data, overlapping, leaving holes, or bytes after the last tensor. */
  | 'INVALID_OFFSETS'
  /** A tensor's byte length is not its element count times the dtype's size. */
  | 'SIZE_MISMATCH'
  /** An integer does not fit the type it is converted to (I64 to int32 on reading, int32 to I8 on writing). */
  | 'OUT_OF_RANGE'
  /** A bad argument (an option out of range, a dtype that does not fit). */
  | 'INVALID_ARGUMENT';

/** The one error the safetensors functions throw; `key` names the tensor when one is to blame. */
export class SafetensorsError extends Error {
  static readonly [BRAND] = '@skipnet/nn:SafetensorsError';
  override readonly name = 'SafetensorsError';

  /** `instanceof` that also holds across the ESM and CommonJS builds of this package (see brand.ts). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, value);
  }

  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
    readonly key?: string,
  ) {
    super(message);
  }
}

/** A validated header entry; `dataOffsets` count from the end of the header, as in the file. */
export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Record<string, SafetensorsTensorInfo>;
  metadata: Record<string, string>;
}

export const DTYPE_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
export const DTYPES = Object.keys(DTYPE_SIZE) as SafetensorsDtype[];

// The Hugging Face reference implementation's limit; it keeps a hostile length prefix from costing memory.
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * The readers' default limits. What a valid header describes is kept as JavaScript objects at several times its
 * length: about 260 bytes and a few microseconds per tensor entry of 50 bytes, 90 bytes per metadata pair of 13,
 * 8 bytes per dimension of 2. Under the format's 100 MB that could reach gigabytes and a minute; under these the
 * worst valid header costs under 70 MB and 0.65 s of CPU on our busy 2-core machine (BENCHMARKS.md). Real
 * checkpoints stay far below them: a shard of a model on the Hub holds about a thousand tensors in about 100 kB.
 */
export const DEFAULT_MAX_HEADER_BYTES = 8_000_000;
export const DEFAULT_MAX_ENTRIES = 100_000;

/** Options of the readers, `readSafetensors` and `readSafetensorsHeader`. */
export interface ReadSafetensorsOptions {
  /**
   * The longest header to read, in bytes, at most the format's 100,000,000. Default 8,000,000: with
   * `maxEntries`, it keeps any header, valid or hostile, under a second and 100 MB to read. Raise it for a file
   * you trust whose header is longer (the error says how long it is).
   */
  maxHeaderBytes?: number;
  /** The most entries (tensors and metadata pairs together) a header may hold. Default 100,000. */
  maxEntries?: number;
  /** Where the bytes came from (a file name, a URL), named in error messages. */
  source?: string;
}

export const METADATA_KEY = '__metadata__';

export function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_SIZE, value);
}

/**
 * Plain assignment would treat a tensor named `__proto__` as the prototype; names come from files and users, so
 * define own properties instead.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

/** A short quote of a value for a message; user-given values may be BigInts or circular. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = `a ${typeof value}`;
  }
  return shorten(text);
}

/** At most 60 characters of `text`, for a message. */
export function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `error` with the input's `source` named in its message, when it is a {@link SafetensorsError} and there is one. */
export function withSource(error: unknown, source: string | undefined): unknown {
  if (source === undefined || !(error instanceof SafetensorsError)) return error;
  const message = error.message.replace(/^safetensors: /, '');
  return new SafetensorsError(error.code, `safetensors: ${source}: ${message}`, error.key);
}
