import {
  DTYPE_SIZE,
  DTYPES,
  describe,
  isDtype,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  setOwn,
} from './format.ts';
import { HeaderJson, MAX_SKIPPED } from './json.ts';

/**
 * Validation of the header. Every file is checked in full (as the Hugging Face reference does) before any tensor
 * memory is allocated, so a corrupt or hostile file fails with a {@link SafetensorsError} instead of an
 * out-of-memory crash; a hostile header fails at its first fault, in one pass, without building a JSON tree.
 */

const OPEN_BRACE = 0x7b;
// NumPy's limit (NPY_MAXDIMS in NumPy 2). A rank bound keeps one entry's shape from holding millions of numbers.
const MAX_RANK = 64;

/**
 * Reads and validates the header: every entry, every offset, and that the data section is covered exactly once.
 * Needs the whole file (offsets are checked against its length). Allocates nothing beyond the header's text and
 * what it describes.
 */
export function readSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  return parseSafetensors(bytes).header;
}

/** The validated header, and where the data section starts in `bytes`. */
export function parseSafetensors(bytes: Uint8Array): { header: SafetensorsHeader; dataStart: number } {
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
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, SafetensorsTensorInfo> = {};
  const spans: Span[] = [];
  const metadata = readHeader(bytes.subarray(8, dataStart), tensors, spans, dataLength);
  checkCoverage(spans, dataLength);
  return { header: { tensors, metadata }, dataStart };
}

/** Reads the top-level object into `tensors` (each entry checked as it ends) and returns the metadata. */
function readHeader(
  headerBytes: Uint8Array,
  tensors: Record<string, SafetensorsTensorInfo>,
  spans: Span[],
  dataLength: number,
): Record<string, string> {
  if (headerBytes[0] !== OPEN_BRACE) {
    const start = new TextDecoder('utf-8', { ignoreBOM: true }).decode(headerBytes.subarray(0, 8));
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: the header must start with '{' but starts with ${describe(start)}; ` +
        'this is not a safetensors file',
    );
  }
  const json = new HeaderJson(headerBytes);
  let metadata: Record<string, string> | undefined;
  json.object(1, (key) => {
    if (key === METADATA_KEY ? metadata !== undefined : Object.hasOwn(tensors, key)) {
      throw duplicate('tensor', key, key);
    }
    if (key === METADATA_KEY) metadata = readMetadata(json);
    else {
      const info = readEntry(json, key, dataLength);
      setOwn(tensors, key, info);
      spans.push({ key, begin: info.dataOffsets[0], end: info.dataOffsets[1] });
    }
  });
  json.end();
  return metadata ?? {};
}

function duplicate(kind: 'tensor' | 'field', name: string, key?: string): SafetensorsError {
  return new SafetensorsError(
    'INVALID_HEADER',
    `safetensors: the header has the ${kind} ${describe(name)} twice; keys must be unique`,
    key,
  );
}

function readMetadata(json: HeaderJson): Record<string, string> {
  // Writers that have no metadata may write null (the reference Rust type is an Option).
  if (json.null()) return {};
  if (json.peek() !== 'object') {
    const start = json.skip(2);
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: "${METADATA_KEY}" must be an object of strings, not ${json.quote(start)}`,
    );
  }
  const metadata: Record<string, string> = {};
  json.object(2, (name) => {
    if (Object.hasOwn(metadata, name)) throw duplicate('field', name);
    if (json.peek() !== 'string') {
      const start = json.skip(3);
      throw new SafetensorsError(
        'INVALID_HEADER',
        `safetensors: metadata ${describe(name)} is ${json.quote(start)}; metadata values must be strings`,
      );
    }
    setOwn(metadata, name, json.string());
  });
  return metadata;
}

/** A field of an entry as read: its value when it has the expected kind, else the value quoted for a message. */
interface Field<T> {
  value?: T;
  quote?: string;
}

type EntryFields = { dtype?: Field<string>; shape?: Field<number[]>; data_offsets?: Field<number[]> };

function readEntry(json: HeaderJson, key: string, dataLength: number): SafetensorsTensorInfo {
  if (json.peek() !== 'object') {
    const start = json.skip(2);
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${tensorName(key)}: its entry must be an object with dtype, shape and data_offsets, not ${json.quote(start)}`,
      key,
    );
  }
  const fields: EntryFields = {};
  let count = 0;
  json.object(2, (field) => {
    if (++count > MAX_SKIPPED) {
      throw new SafetensorsError(
        'INVALID_ENTRY',
        `${tensorName(key)}: its entry has more than ${MAX_SKIPPED} fields; it needs dtype, shape and data_offsets`,
        key,
      );
    }
    if (field !== 'dtype' && field !== 'shape' && field !== 'data_offsets') {
      json.skip(3); // unknown fields are ignored, as the reference implementation does
      return;
    }
    if (fields[field]) throw duplicate('field', field);
    if (field === 'dtype') fields.dtype = json.peek() === 'string' ? { value: json.string() } : other(json);
    else if (field === 'shape') {
      fields.shape = readNumbers(json, MAX_RANK, () => {
        throw new SafetensorsError(
          'INVALID_ENTRY',
          `${tensorName(key)}: "shape" has more than ${MAX_RANK} dimensions`,
          key,
        );
      });
    } else {
      // Past two elements it is no [begin, end]; read the rest as any value, for the message.
      fields.data_offsets = readNumbers(json, 2);
    }
  });
  return checkEntry(key, fields, dataLength);
}

function tensorName(key: string): string {
  return `safetensors: tensor ${describe(key)}`;
}

/** A value of the wrong kind, skipped and quoted. */
function other(json: HeaderJson): Field<never> {
  const start = json.skip(3);
  return { quote: json.quote(start) };
}

/**
 * A list of numbers at nesting level 3. Past `max` elements, `tooLong` throws if given; otherwise the list is no
 * valid value and is read on (as any skipped value, at most {@link MAX_SKIPPED} items) to be quoted.
 */
function readNumbers(json: HeaderJson, max: number, tooLong?: () => never): Field<number[]> {
  if (json.peek() !== 'array') return other(json);
  const start = json.pos;
  const numbers: number[] = [];
  let valid = true;
  json.array(3, (index) => {
    if (index >= max) {
      tooLong?.();
      if (index >= MAX_SKIPPED) json.tooMany(start);
      valid = false;
    }
    if (json.peek() === 'number') numbers.push(json.number());
    else {
      json.skip(4);
      valid = false;
    }
  });
  return valid ? { value: numbers } : { quote: json.quote(start) };
}

function checkEntry(
  key: string,
  { dtype, shape, data_offsets: offsets }: EntryFields,
  dataLength: number,
): SafetensorsTensorInfo {
  const name = tensorName(key);
  // A field that is missing is quoted as undefined, as JSON.stringify would.
  const quote = (field: Field<unknown> | undefined) => field?.quote ?? 'undefined';
  if (dtype?.value === undefined) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: "dtype" must be a string, not ${quote(dtype)}`,
      key,
    );
  }
  if (!isDtype(dtype.value)) {
    throw new SafetensorsError(
      'UNSUPPORTED_DTYPE',
      `${name}: dtype ${describe(dtype.value)} is not supported (supported: ${DTYPES.join(', ')}); ` +
        'convert it before saving, e.g. tensor.to(torch.float32) in PyTorch',
      key,
    );
  }
  const dims = shape?.value;
  if (!dims?.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: "shape" must be an array of non-negative integers, not ${dims ? describe(dims) : quote(shape)}`,
      key,
    );
  }
  const span = offsets?.value;
  if (span?.length !== 2 || !span.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${name}: "data_offsets" must be [begin, end], two non-negative integers, not ` +
        (span ? describe(span) : quote(offsets)),
      key,
    );
  }
  const [begin, end] = span as [number, number];
  if (end < begin || end > dataLength) {
    throw new SafetensorsError(
      'INVALID_OFFSETS',
      `${name}: data_offsets [${begin}, ${end}] do not fit the ${dataLength}-byte data section` +
        (end > dataLength ? '; the file is truncated' : ''),
      key,
    );
  }
  const expected = byteLength(dims, DTYPE_SIZE[dtype.value]);
  if (expected !== end - begin) {
    throw new SafetensorsError(
      'SIZE_MISMATCH',
      `${name}: shape [${dims.join(', ')}] of ${dtype.value} needs ${expected} bytes but data_offsets ` +
        `[${begin}, ${end}] hold ${end - begin}`,
      key,
    );
  }
  return { dtype: dtype.value, shape: dims, dataOffsets: [begin, end] };
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

/** Where a tensor's bytes lie in the data section. */
interface Span {
  key: string;
  begin: number;
  end: number;
}

/** The data section must be covered exactly: no overlaps, no holes, nothing after the last tensor. */
function checkCoverage(spans: Span[], dataLength: number): void {
  const order = (a: Span, b: Span) => a.begin - b.begin || a.end - b.end;
  // Writers lay the tensors out in header order: sort only when they did not.
  if (spans.some((span, i) => i > 0 && order(spans[i - 1] as Span, span) > 0)) spans.sort(order);
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
