import * as tf from '@tensorflow/tfjs-core';
import { BRAND, isInstance } from './brand.ts';

/**
 * Reads and writes [safetensors](https://github.com/huggingface/safetensors) files: 8 bytes of little-endian
 * u64 header length N, N bytes of UTF-8 JSON (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__"}`),
 * then the tensors' little-endian, row-major bytes, with offsets counted from the end of the header.
 *
 * Every file is validated in full (as the Hugging Face reference does) before any tensor memory is allocated, so a
 * corrupt or hostile file fails with a {@link SafetensorsError} instead of an out-of-memory crash.
 */

/** The element types skipnet reads and writes; tfjs holds them as float32, int32 or bool. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** What went wrong, for callers that branch on it; the message says it in words. */
export type SafetensorsErrorCode =
  /** Shorter than its 8-byte length prefix, or than the header length it announces. */
  | 'TRUNCATED'
  /** The header length is over the 100 MB the format allows. */
  | 'HEADER_TOO_LARGE'
  /** The header is not UTF-8 JSON of one object with unique keys, or `__metadata__` is not strings. */
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
  /** A bad argument to {@link writeSafetensors}. */
  | 'INVALID_ARGUMENT';

/** The one error this module throws; `key` names the tensor when one is to blame. */
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

export interface WriteSafetensorsOptions {
  /** String pairs stored under `__metadata__` (first in the header, as PyTorch's writers do). Default: none. */
  metadata?: Record<string, string>;
  /**
   * The file dtype per tensor key, when it differs from the default (float32 → F32, int32 → I32, bool → BOOL).
   * float32 tensors may become F64, F16 or BF16 (rounded to nearest even); int32 tensors I64, I16, I8 or U8 (an
   * out-of-range value is an error). Example: `{ 'bn.num_batches_tracked': 'I64' }` to match PyTorch.
   */
  dtypes?: Record<string, SafetensorsDtype>;
}

const DTYPE_SIZE: Record<SafetensorsDtype, number> = {
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
const DTYPES = Object.keys(DTYPE_SIZE) as SafetensorsDtype[];

// The Hugging Face reference implementation's limit; it keeps a hostile length prefix from costing memory.
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_SIZE, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Plain assignment would treat a tensor named `__proto__` as the prototype; names come from files and users, so
 * define own properties instead.
 */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A short quote of a value for a message; user-given values may be BigInts or circular. */
function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = `a ${typeof value}`;
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Reads and validates the header: every entry, every offset, and that the data section is covered exactly once.
 * Needs the whole file (offsets are checked against its length). Allocates nothing beyond the header's text.
 */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  return parse(bytes).header;
}

function parse(bytes: Uint8Array): { header: SafetensorsHeader; dataStart: number } {
  if (bytes.length < 8) {
    throw new SafetensorsError(
      'TRUNCATED',
      `safetensors: the input has ${bytes.length} bytes, fewer than the 8-byte header length; ` +
        'the file is truncated or not a safetensors file',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // u64 as two u32 halves: a high half above zero is already far past the limit.
  const headerLengthHigh = view.getUint32(4, true);
  const headerLength = view.getUint32(0, true);
  if (headerLengthHigh !== 0 || headerLength > MAX_HEADER_BYTES) {
    const announced = (BigInt(headerLengthHigh) << 32n) | BigInt(headerLength);
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `safetensors: the header length is ${announced} bytes, over the format's limit of ${MAX_HEADER_BYTES}; ` +
        'this is not a safetensors file, or its first 8 bytes are damaged',
    );
  }
  const dataStart = 8 + headerLength;
  if (dataStart > bytes.length) {
    throw new SafetensorsError(
      'TRUNCATED',
      `safetensors: the header announces ${headerLength} bytes but only ${bytes.length - 8} follow the ` +
        'length prefix; the file is truncated (an incomplete download?)',
    );
  }
  const parsed = parseHeaderJson(bytes.subarray(8, dataStart));
  const dataLength = bytes.length - dataStart;

  let metadata: Record<string, string> = {};
  const tensors: Record<string, SafetensorsTensorInfo> = {};
  for (const [key, entry] of Object.entries(parsed)) {
    if (key === METADATA_KEY) {
      metadata = parseMetadata(entry);
    } else {
      setOwn(tensors, key, parseEntry(key, entry, dataLength));
    }
  }
  checkCoverage(tensors, dataLength);
  return { header: { tensors, metadata }, dataStart };
}

function parseHeaderJson(headerBytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError('INVALID_HEADER', 'safetensors: the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: the header must start with '{' but starts with ${describe(text.slice(0, 8))}; ` +
        'this is not a safetensors file',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: the header is not valid JSON (${(error as Error).message})`,
    );
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) {
    const { key, topLevel } = duplicate;
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: the header has the ${topLevel ? 'tensor' : 'field'} ${describe(key)} twice; keys must be unique`,
      topLevel ? key : undefined,
    );
  }
  // Valid JSON that starts with '{' is an object.
  return parsed as Record<string, unknown>;
}

/**
 * JSON.parse keeps the last of duplicate keys silently; the format forbids them, so scan the (already valid) JSON
 * text once with one set of keys per open object.
 */
function findDuplicateKey(json: string): { key: string; topLevel: boolean } | undefined {
  const objects: Array<Set<string> | null> = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) {
        if (json[i] === '\\') i++;
      }
      const keys = objects[objects.length - 1];
      let next = i + 1;
      while (json[next] === ' ' || json[next] === '\t' || json[next] === '\n' || json[next] === '\r') next++;
      if (keys && json[next] === ':') {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        if (keys.has(key)) return { key, topLevel: objects.length === 1 };
        keys.add(key);
      }
    } else if (c === '{') {
      objects.push(new Set());
    } else if (c === '[') {
      objects.push(null);
    } else if (c === '}' || c === ']') {
      objects.pop();
    }
  }
  return undefined;
}

function parseMetadata(entry: unknown): Record<string, string> {
  // Writers that have no metadata may write null (the reference Rust type is an Option).
  if (entry === null) return {};
  if (!isPlainObject(entry)) {
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: "${METADATA_KEY}" must be an object of strings, not ${describe(entry)}`,
    );
  }
  for (const [name, value] of Object.entries(entry)) {
    if (typeof value !== 'string') {
      throw new SafetensorsError(
        'INVALID_HEADER',
        `safetensors: metadata ${describe(name)} is ${describe(value)}; metadata values must be strings`,
      );
    }
  }
  return entry as Record<string, string>;
}

function parseEntry(key: string, entry: unknown, dataLength: number): SafetensorsTensorInfo {
  const name = `safetensors: tensor ${describe(key)}`;
  if (!isPlainObject(entry)) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: its entry must be an object with dtype, shape and data_offsets, not ${describe(entry)}`,
      key,
    );
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: "dtype" must be a string, not ${describe(dtype)}`,
      key,
    );
  }
  if (!isDtype(dtype)) {
    throw new SafetensorsError(
      'UNSUPPORTED_DTYPE',
      `${name}: dtype ${describe(dtype)} is not supported (supported: ${DTYPES.join(', ')}); ` +
        'convert it before saving, e.g. tensor.to(torch.float32) in PyTorch',
      key,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: "shape" must be an array of non-negative integers, not ${describe(shape)}`,
      key,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
  ) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: "data_offsets" must be [begin, end], two non-negative integers, not ${describe(offsets)}`,
      key,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin || end > dataLength) {
    throw new SafetensorsError(
      'INVALID_OFFSETS',
      `${name}: data_offsets [${begin}, ${end}] do not fit the ${dataLength}-byte data section` +
        (end > dataLength ? '; the file is truncated' : ''),
      key,
    );
  }
  const expected = byteLength(shape as number[], DTYPE_SIZE[dtype]);
  if (expected !== end - begin) {
    throw new SafetensorsError(
      'SIZE_MISMATCH',
      `${name}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets ` +
        `[${begin}, ${end}] hold ${end - begin}`,
      key,
    );
  }
  return { dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/**
 * Elements × size, exact while it stays within 2^53 (a product of integers that small is exact in a double);
 * past that no file can hold the tensor, so stop before a hostile shape like [1e12, 1e12] goes further.
 */
function byteLength(shape: number[], size: number): number | string {
  if (shape.includes(0)) return 0;
  let bytes = size;
  for (const dim of shape) {
    bytes *= dim;
    if (bytes > Number.MAX_SAFE_INTEGER) return `more than ${Number.MAX_SAFE_INTEGER}`;
  }
  return bytes;
}

/** The data section must be covered exactly: no overlaps, no holes, nothing after the last tensor. */
function checkCoverage(tensors: Record<string, SafetensorsTensorInfo>, dataLength: number): void {
  const spans = Object.entries(tensors)
    .map(([key, info]) => ({ key, begin: info.dataOffsets[0], end: info.dataOffsets[1] }))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: string | undefined;
  for (const { key, begin, end } of spans) {
    if (begin < covered) {
      throw new SafetensorsError(
        'INVALID_OFFSETS',
        `safetensors: tensor ${describe(key)} (bytes ${begin}-${end}) overlaps tensor ${describe(previous)}, ` +
          'which ends at ' +
          covered,
        key,
      );
    }
    if (begin > covered) {
      throw new SafetensorsError(
        'INVALID_OFFSETS',
        `safetensors: bytes ${covered}-${begin} of the data belong to no tensor (a hole before tensor ` +
          `${describe(key)}); offsets must cover the data contiguously from 0`,
        key,
      );
    }
    covered = end;
    previous = key;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      'INVALID_OFFSETS',
      `safetensors: ${dataLength - covered} bytes follow the last tensor's data (which ends at ${covered}); ` +
        'the file has trailing bytes or a tensor is missing from the header',
    );
  }
}

/**
 * Reads every tensor: F32, F64, F16 and BF16 as float32; I64, I32, I16, I8 and U8 as int32 (an I64 value outside
 * int32 is an error); BOOL as bool. The whole file is validated before any tensor is made, and the tensors own
 * copies of their data (the input may be reused). The caller disposes the tensors. Throws {@link SafetensorsError}.
 */
export function readSafetensors(bytes: Uint8Array): Record<string, tf.Tensor> {
  const { header, dataStart } = parse(bytes);
  // tidy disposes the tensors already made if a later one fails (an I64 out of range).
  return tf.tidy(() => {
    const result: Record<string, tf.Tensor> = {};
    for (const [key, info] of Object.entries(header.tensors)) {
      const [begin, end] = info.dataOffsets;
      const data = bytes.subarray(dataStart + begin, dataStart + end);
      setOwn(result, key, decode(key, info, data));
    }
    return result;
  });
}

function decode(key: string, { dtype, shape }: SafetensorsTensorInfo, data: Uint8Array): tf.Tensor {
  const count = data.length / DTYPE_SIZE[dtype];
  // DataView reads are little-endian and need no alignment; offsets inside a file are only aligned by convention.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (dtype) {
    case 'F32':
      return tf.tensor(copyAligned(data, Float32Array), shape, 'float32');
    case 'I32':
      return tf.tensor(copyAligned(data, Int32Array), shape, 'int32');
    case 'F64': {
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getFloat64(8 * i, true);
      return tf.tensor(values, shape, 'float32');
    }
    case 'F16': {
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = halfToFloat(view.getUint16(2 * i, true));
      return tf.tensor(values, shape, 'float32');
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shifting the bits back is exact.
      const values = new Float32Array(count);
      const bits = new Uint32Array(values.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return tf.tensor(values, shape, 'float32');
    }
    case 'I64': {
      const values = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const low = view.getInt32(8 * i, true);
        // It fits int32 exactly when the high word is the sign extension of the low one.
        if (view.getInt32(8 * i + 4, true) !== low >> 31) {
          throw new SafetensorsError(
            'OUT_OF_RANGE',
            `safetensors: tensor ${describe(key)} (I64) holds ${view.getBigInt64(8 * i, true)} at flat index ${i}, ` +
              'outside int32, which is the widest integer tfjs has; store it as F64 or F32 instead',
            key,
          );
        }
        values[i] = low;
      }
      return tf.tensor(values, shape, 'int32');
    }
    case 'I16': {
      const values = new Int32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getInt16(2 * i, true);
      return tf.tensor(values, shape, 'int32');
    }
    case 'I8':
      return tf.tensor(Int32Array.from(new Int8Array(data.buffer, data.byteOffset, count)), shape, 'int32');
    case 'U8':
      return tf.tensor(Int32Array.from(data), shape, 'int32');
    case 'BOOL':
      // Any non-zero byte is true, as in C and NumPy; tfjs expects exactly 0 or 1.
      return tf.tensor(
        data.map((b) => (b === 0 ? 0 : 1)),
        shape,
        'bool',
      );
  }
}

/**
 * A fresh typed array with the bytes' values (host order, which is little-endian wherever Node runs). Copying
 * into a new buffer avoids a view at an unaligned offset of the file, and `slice` is no copy on a Node Buffer.
 */
function copyAligned<T extends Float32Array | Int32Array>(
  data: Uint8Array,
  Type: { new (length: number): T; BYTES_PER_ELEMENT: number },
): T {
  const values = new Type(data.length / Type.BYTES_PER_ELEMENT);
  new Uint8Array(values.buffer).set(data);
  return values;
}

const float32Scratch = new Float32Array(1);
const uint32Scratch = new Uint32Array(float32Scratch.buffer);

/** IEEE 754 binary16 bits to a number, subnormals, infinities and NaN included. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (fraction + 0x400) * 2 ** (exponent - 25);
}

/** A float32 value to binary16 bits, rounding to nearest even like PyTorch's `.half()`; overflow gives ±inf. */
function floatToHalf(value: number): number {
  float32Scratch[0] = value;
  const bits = uint32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Below 2^-25 (half the smallest subnormal) everything rounds to zero.
    if (halfExponent < -10) return sign;
    const shift = 14 - halfExponent;
    const full = mantissa | 0x800000;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let half = full >>> shift;
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to infinity, which is the right answer.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** A float32 value to bfloat16 bits, rounding to nearest even like PyTorch's `.bfloat16()`. */
function floatToBfloat16(value: number): number {
  float32Scratch[0] = value;
  const bits = uint32Scratch[0]!;
  if (Number.isNaN(value)) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

const TARGETS: Record<'float32' | 'int32' | 'bool', readonly SafetensorsDtype[]> = {
  float32: ['F32', 'F64', 'F16', 'BF16'],
  int32: ['I32', 'I64', 'I16', 'I8', 'U8'],
  bool: ['BOOL'],
};
const DEFAULT_TARGET = { float32: 'F32', int32: 'I32', bool: 'BOOL' } as const;
const INTEGER_RANGE: Record<'I16' | 'I8' | 'U8', readonly [number, number]> = {
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
};

/**
 * Writes tensors as a safetensors file, in the order of `tensors`' keys (deterministic: the same input gives the
 * same bytes), the header padded with spaces to a multiple of 8 bytes so that the data starts 8-aligned.
 * Downloads each tensor with `dataSync`, so it blocks until a GPU backend has finished; the tensors are not
 * disposed. Throws {@link SafetensorsError}.
 */
export function writeSafetensors(
  tensors: Record<string, tf.Tensor>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const { metadata, dtypes = {} } = options;
  for (const key of Object.keys(dtypes)) {
    if (!Object.hasOwn(tensors, key)) {
      throw new SafetensorsError(
        'INVALID_ARGUMENT',
        `writeSafetensors: options.dtypes names ${describe(key)}, which is not among the tensors`,
        key,
      );
    }
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = parseMetadata(metadata);

  const plan: Array<{ key: string; tensor: tf.Tensor; dtype: SafetensorsDtype; begin: number }> = [];
  let offset = 0;
  for (const [key, tensor] of Object.entries(tensors)) {
    const dtype = targetDtype(key, tensor, Object.hasOwn(dtypes, key) ? dtypes[key] : undefined);
    const bytes = tensor.size * DTYPE_SIZE[dtype];
    setOwn(header, key, { dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] });
    plan.push({ key, tensor, dtype, begin: offset });
    offset += bytes;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `writeSafetensors: the header would take ${headerLength} bytes, over the format's limit of ` +
        `${MAX_HEADER_BYTES}; split the tensors over several files`,
    );
  }
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setUint32(0, headerLength, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  for (const { key, tensor, dtype, begin } of plan) {
    const start = 8 + headerLength + begin;
    encode(key, tensor.dataSync() as Float32Array | Int32Array | Uint8Array, dtype, out, start);
  }
  return out;
}

function targetDtype(
  key: string,
  tensor: tf.Tensor,
  requested: SafetensorsDtype | undefined,
): SafetensorsDtype {
  const name = `writeSafetensors: tensor ${describe(key)}`;
  if (key === METADATA_KEY) {
    throw new SafetensorsError(
      'INVALID_ARGUMENT',
      `${name}: the name is reserved for metadata; pass metadata as options.metadata`,
      key,
    );
  }
  if (!(tensor instanceof tf.Tensor)) {
    throw new SafetensorsError('INVALID_ARGUMENT', `${name}: a ${typeof tensor} is not a tf.Tensor`, key);
  }
  if (tensor.isDisposed) {
    throw new SafetensorsError(
      'INVALID_ARGUMENT',
      `${name}: the tensor is disposed; save it before disposing`,
      key,
    );
  }
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32' && tensor.dtype !== 'bool') {
    throw new SafetensorsError(
      'INVALID_ARGUMENT',
      `${name}: dtype ${tensor.dtype} cannot be saved; use a float32, int32 or bool tensor`,
      key,
    );
  }
  if (requested === undefined) return DEFAULT_TARGET[tensor.dtype];
  if (!TARGETS[tensor.dtype].includes(requested)) {
    throw new SafetensorsError(
      'INVALID_ARGUMENT',
      `${name}: a ${tensor.dtype} tensor cannot be written as ${describe(requested)} ` +
        `(possible: ${TARGETS[tensor.dtype].join(', ')}); tf.cast it first to change its kind`,
      key,
    );
  }
  return requested;
}

function encode(
  key: string,
  values: Float32Array | Int32Array | Uint8Array,
  dtype: SafetensorsDtype,
  out: Uint8Array,
  start: number,
): void {
  const count = values.length;
  const view = new DataView(out.buffer, start, count * DTYPE_SIZE[dtype]);
  switch (dtype) {
    case 'F32':
    case 'I32':
    case 'BOOL':
      // Same layout as the file (little-endian host): copy the bytes, which also keeps NaN payloads.
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), start);
      return;
    case 'F64':
      for (let i = 0; i < count; i++) view.setFloat64(8 * i, values[i]!, true);
      return;
    case 'F16':
      for (let i = 0; i < count; i++) view.setUint16(2 * i, floatToHalf(values[i]!), true);
      return;
    case 'BF16':
      for (let i = 0; i < count; i++) view.setUint16(2 * i, floatToBfloat16(values[i]!), true);
      return;
    case 'I64':
      for (let i = 0; i < count; i++) {
        view.setInt32(8 * i, values[i]!, true);
        view.setInt32(8 * i + 4, values[i]! < 0 ? -1 : 0, true);
      }
      return;
    case 'I16':
    case 'I8':
    case 'U8': {
      const [min, max] = INTEGER_RANGE[dtype];
      for (let i = 0; i < count; i++) {
        const value = values[i]!;
        if (value < min || value > max) {
          throw new SafetensorsError(
            'OUT_OF_RANGE',
            `writeSafetensors: tensor ${describe(key)} holds ${value} at flat index ${i}, outside ${dtype} ` +
              `[${min}, ${max}]; clip it or choose a wider dtype`,
            key,
          );
        }
        if (dtype === 'I16') view.setInt16(2 * i, value, true);
        else if (dtype === 'I8') view.setInt8(i, value);
        else view.setUint8(i, value);
      }
      return;
    }
  }
}
