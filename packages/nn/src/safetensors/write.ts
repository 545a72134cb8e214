import * as tf from '@tensorflow/tfjs-core';
import { floatToBfloat16, floatToHalf } from './float16.ts';
import {
  DTYPE_SIZE,
  describe,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  type SafetensorsDtype,
  SafetensorsError,
  setOwn,
} from './format.ts';

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

/** The metadata a caller passes, checked as the reader checks a file's (null stands for none there too). */
function checkMetadata(entry: unknown): Record<string, string> {
  if (entry === null) return {};
  if (typeof entry !== 'object' || Array.isArray(entry)) {
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
  if (metadata !== undefined) header[METADATA_KEY] = checkMetadata(metadata);

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
