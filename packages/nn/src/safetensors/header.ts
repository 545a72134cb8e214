import {
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_HEADER_BYTES,
  DTYPE_SIZE,
  DTYPES,
  describe,
  isDtype,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  type ReadSafetensorsOptions,
  SafetensorsError,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  setOwn,
  withSource,
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
 * what it describes. A header longer than `options.maxHeaderBytes` (default 8 MB) is refused unread, one with
 * more than `options.maxEntries` (default 100,000) at the first entry too many.
 */
export function readSafetensorsHeader(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafetensorsHeader {
  return parseSafetensors(bytes, options).header;
}

/** The validated header, and where the data section starts in `bytes`. */
export function parseSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): { header: SafetensorsHeader; dataStart: number } {
  const { maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES, maxEntries = DEFAULT_MAX_ENTRIES, source } = options;
  if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < 0 || maxHeaderBytes > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      'INVALID_ARGUMENT',
      `safetensors: options.maxHeaderBytes is ${describe(maxHeaderBytes)}; it must be a whole number of bytes ` +
        `from 0 to ${MAX_HEADER_BYTES}, the format's limit`,
    );
  }
  if (!(Number.isInteger(maxEntries) || maxEntries === Number.POSITIVE_INFINITY) || maxEntries < 0) {
    throw new SafetensorsError(
      'INVALID_ARGUMENT',
      `safetensors: options.maxEntries is ${describe(maxEntries)}; it must be a whole number from 0, or Infinity`,
    );
  }
  try {
    return parse(bytes, maxHeaderBytes, new EntryCount(maxEntries));
  } catch (error) {
    throw withSource(error, source);
  }
}

/** Counts the header's entries, tensors and metadata pairs, against `maxEntries`. */
class EntryCount {
  private count = 0;

  constructor(private readonly max: number) {}

  add(): void {
    if (++this.count <= this.max) return;
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `safetensors: the header holds more than ${this.max} entries (tensors and metadata pairs), over the limit ` +
        `of ${this.max} (maxEntries${this.max === DEFAULT_MAX_ENTRIES ? ', the default' : ''}), which keeps ` +
        'reading any header under a second and 100 MB; real checkpoints have far fewer. If you trust this file, ' +
        'read it with a higher maxEntries',
    );
  }
}

function parse(
  bytes: Uint8Array,
  maxHeaderBytes: number,
  entries: EntryCount,
): { header: SafetensorsHeader; dataStart: number } {
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
  if (headerLength > maxHeaderBytes) {
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `safetensors: the header is ${headerLength} bytes, over the limit of ${maxHeaderBytes} (maxHeaderBytes` +
        `${maxHeaderBytes === DEFAULT_MAX_HEADER_BYTES ? ', the default' : ''}), which keeps reading any header ` +
        'under a second and 100 MB; real checkpoints have far shorter ones. If you trust this file, read it ' +
        `with { maxHeaderBytes: ${headerLength} }`,
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
  // Names and infos in header order, for the coverage check (an object's key order puts integer-like names first).
  const names: string[] = [];
  const infos: SafetensorsTensorInfo[] = [];
  const metadata = readHeader(bytes.subarray(8, dataStart), dataLength, entries, tensors, names, infos);
  checkCoverage(names, infos, dataLength);
  return { header: { tensors, metadata }, dataStart };
}

/**
 * Reads the top-level object into `tensors`, and `names` and `infos` in header order (each entry checked as it
 * ends); returns the metadata.
 */
function readHeader(
  headerBytes: Uint8Array,
  dataLength: number,
  count: EntryCount,
  tensors: Record<string, SafetensorsTensorInfo>,
  names: string[],
  infos: SafetensorsTensorInfo[],
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
  if (json.openObject(1)) {
    do {
      const key = json.key();
      if (key === METADATA_KEY) {
        if (metadata !== undefined) throw duplicate('tensor', key, key);
        metadata = readMetadata(json, count);
      } else {
        if (Object.hasOwn(tensors, key)) throw duplicate('tensor', key, key);
        count.add();
        const info = readEntry(json, key, dataLength);
        setOwn(tensors, key, info);
        names.push(key);
        infos.push(info);
      }
    } while (json.nextMember());
  }
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

function readMetadata(json: HeaderJson, count: EntryCount): Record<string, string> {
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
  if (json.openObject(2)) {
    do {
      const name = json.key();
      if (Object.hasOwn(metadata, name)) throw duplicate('field', name);
      count.add();
      if (json.peek() !== 'string') {
        const start = json.skip(3);
        throw new SafetensorsError(
          'INVALID_HEADER',
          `safetensors: metadata ${describe(name)} is ${json.quote(start)}; metadata values must be strings`,
        );
      }
      setOwn(metadata, name, json.string());
    } while (json.nextMember());
  }
  return metadata;
}

/**
 * An entry's fields as read. A field of the wrong kind is kept quoted, for the message, in `wrong` (made only
 * then: a valid entry allocates nothing but its result).
 */
interface EntryFields {
  dtype?: string;
  shape?: number[];
  offsets?: number[];
  wrong?: WrongFields;
}

type WrongFields = { dtype?: string; shape?: string; data_offsets?: string };

const FIELDS = ['dtype', 'shape', 'data_offsets'] as const;
const DTYPE = 1;
const SHAPE = 2;
const OFFSETS = 4;

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
  let seen = 0;
  let count = 0;
  if (json.openObject(2)) {
    do {
      if (++count > MAX_SKIPPED) {
        throw new SafetensorsError(
          'INVALID_ENTRY',
          `${tensorName(key)}: its entry has more than ${MAX_SKIPPED} fields; it needs dtype, shape and data_offsets`,
          key,
        );
      }
      const field = json.key(FIELDS);
      const bit =
        field === 'dtype' ? DTYPE : field === 'shape' ? SHAPE : field === 'data_offsets' ? OFFSETS : 0;
      if (bit === 0) {
        json.skip(3); // unknown fields are ignored, as the reference implementation does
        continue;
      }
      if (seen & bit) throw duplicate('field', field);
      seen |= bit;
      const start = json.valueStart();
      if (bit === DTYPE) {
        if (json.peek() === 'string') fields.dtype = json.string(DTYPES);
        else json.skip(3);
      } else if (bit === SHAPE) {
        fields.shape = readNumbers(json, MAX_RANK, key);
      } else {
        // Past two elements it is no [begin, end]; read the rest as any value, for the message.
        fields.offsets = readNumbers(json, 2);
      }
      const value = bit === DTYPE ? fields.dtype : bit === SHAPE ? fields.shape : fields.offsets;
      if (value === undefined) {
        fields.wrong ??= {};
        fields.wrong[field as keyof WrongFields] = json.quote(start);
      }
    } while (json.nextMember());
  }
  return checkEntry(key, fields, dataLength);
}

function tensorName(key: string): string {
  return `safetensors: tensor ${describe(key)}`;
}

/**
 * A list of at most `max` numbers at nesting level 3, or undefined when the value is anything else; that value
 * is then read to its end (as any skipped value, at most {@link MAX_SKIPPED} items) to be quoted. With
 * `shapeOf`, the list is the shape of that tensor, and one longer than `max` fails at once.
 */
function readNumbers(json: HeaderJson, max: number, shapeOf?: string): number[] | undefined {
  if (json.peek() !== 'array') {
    json.skip(3);
    return undefined;
  }
  const start = json.pos;
  let valid = true;
  let index = 0;
  if (json.openArray(3)) {
    do {
      if (index >= max) {
        if (shapeOf !== undefined) {
          throw new SafetensorsError(
            'INVALID_ENTRY',
            `${tensorName(shapeOf)}: "shape" has more than ${MAX_RANK} dimensions`,
            shapeOf,
          );
        }
        if (index >= MAX_SKIPPED) json.tooMany(start);
        valid = false;
      }
      if (json.peek() === 'number') scratch[index] = json.number();
      else {
        json.skip(4);
        valid = false;
      }
      index++;
    } while (json.nextElement());
  }
  return valid ? scratch.slice(0, index) : undefined;
}

// Lists are read into one scratch array and copied out at their length: an array grown by push from empty keeps
// room for 17 numbers, which for a shape like [1, 16, 256] is 110 bytes more, kept as long as the header is.
const scratch: number[] = [];

function checkEntry(
  key: string,
  { dtype, shape, offsets, wrong }: EntryFields,
  dataLength: number,
): SafetensorsTensorInfo {
  if (dtype === undefined) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      // A field that is missing is quoted as undefined, as JSON.stringify would.
      `${tensorName(key)}: "dtype" must be a string, not ${wrong?.dtype ?? 'undefined'}`,
      key,
    );
  }
  if (!isDtype(dtype)) {
    throw new SafetensorsError(
      'UNSUPPORTED_DTYPE',
      `${tensorName(key)}: dtype ${describe(dtype)} is not supported (supported: ${DTYPES.join(', ')}); ` +
        'convert it before saving, e.g. tensor.to(torch.float32) in PyTorch',
      key,
    );
  }
  if (shape === undefined || !allNaturals(shape)) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${tensorName(key)}: "shape" must be an array of non-negative integers, not ` +
        (shape ? describe(shape) : (wrong?.shape ?? 'undefined')),
      key,
    );
  }
  if (offsets?.length !== 2 || !allNaturals(offsets)) {
    throw new SafetensorsError(
      'INVALID_ENTRY',
      `${tensorName(key)}: "data_offsets" must be [begin, end], two non-negative integers, not ` +
        (offsets ? describe(offsets) : (wrong?.data_offsets ?? 'undefined')),
      key,
    );
  }
  const begin = offsets[0] as number;
  const end = offsets[1] as number;
  if (end < begin || end > dataLength) {
    throw new SafetensorsError(
      'INVALID_OFFSETS',
      `${tensorName(key)}: data_offsets [${begin}, ${end}] do not fit the ${dataLength}-byte data section` +
        (end > dataLength ? '; the file is truncated' : ''),
      key,
    );
  }
  const expected = byteLength(shape, DTYPE_SIZE[dtype]);
  if (expected !== end - begin) {
    throw new SafetensorsError(
      'SIZE_MISMATCH',
      `${tensorName(key)}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets ` +
        `[${begin}, ${end}] hold ${end - begin}`,
      key,
    );
  }
  return { dtype, shape, dataOffsets: offsets as [number, number] };
}

function allNaturals(numbers: number[]): boolean {
  for (const n of numbers) if (!Number.isSafeInteger(n) || n < 0) return false;
  return true;
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

/**
 * The data section must be covered exactly: no overlaps, no holes, nothing after the last tensor. `names` and
 * `entries` are in header order, which is the data's order in files from every writer we know; other orders are
 * sorted first.
 */
function checkCoverage(names: string[], entries: SafetensorsTensorInfo[], dataLength: number): void {
  const begin = (i: number) => (entries[i] as SafetensorsTensorInfo).dataOffsets[0];
  const end = (i: number) => (entries[i] as SafetensorsTensorInfo).dataOffsets[1];
  const order = (a: number, b: number) => begin(a) - begin(b) || end(a) - end(b);
  let sorted = true;
  for (let i = 1; i < entries.length && sorted; i++) sorted = order(i - 1, i) <= 0;
  const indices = sorted ? undefined : Array.from(entries, (_, i) => i).sort(order);
  let covered = 0;
  let previous: string | undefined;
  for (let n = 0; n < entries.length; n++) {
    const i = indices ? (indices[n] as number) : n;
    const key = names[i] as string;
    if (begin(i) < covered) {
      throw new SafetensorsError(
        'INVALID_OFFSETS',
        `safetensors: tensor ${describe(key)} (bytes ${begin(i)}-${end(i)}) overlaps tensor ${describe(previous)}, ` +
          'which ends at ' +
          covered,
        key,
      );
    }
    if (begin(i) > covered) {
      throw new SafetensorsError(
        'INVALID_OFFSETS',
        `safetensors: bytes ${covered}-${begin(i)} of the data belong to no tensor (a hole before tensor ` +
          `${describe(key)}); offsets must cover the data contiguously from 0`,
        key,
      );
    }
    covered = end(i);
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
