// A small safetensors reader for tests: the fixtures' format (8-byte little-endian header length, a JSON header,
// raw little-endian data), apart from @skipnet/nn's reader so that tests of that reader, and packages that do not
// depend on @skipnet/nn, have one of their own. Platform-neutral: bytes in, no file access.
import * as tf from '@tensorflow/tfjs-core';

/** One tensor of a safetensors file, undecoded. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** The tensor's raw little-endian bytes (a copy, aligned). */
  bytes: Uint8Array;
}

const ELEMENT_BYTES: Record<string, number> = { F32: 4, I64: 8, U8: 1 };

/** Every tensor of a safetensors file by name (`__metadata__` left out), checked against the file's length. */
export function parseSafetensors(bytes: Uint8Array, label = 'safetensors'): Map<string, SafetensorsEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new Error(`${label}: ${bytes.byteLength} bytes, too short for a header`);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.byteLength) {
    throw new Error(`${label}: header of ${headerLength} bytes in a file of ${bytes.byteLength}`);
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    const count = info.shape.reduce((a, b) => a * b, 1);
    const size = ELEMENT_BYTES[info.dtype];
    if (size !== undefined && end - begin !== count * size) {
      throw new Error(`${label}: '${name}' (${info.dtype} [${info.shape}]) has ${end - begin} bytes`);
    }
    if (base + end > bytes.byteLength) throw new Error(`${label}: '${name}' ends past the end of the file`);
    entries.set(name, { dtype: info.dtype, shape: info.shape, bytes: bytes.slice(base + begin, base + end) });
  }
  return entries;
}

/**
 * The tensors of a safetensors file as tfjs holds them: F32 as float32, I64 and U8 as int32 (an I64 outside int32
 * is an error). The caller disposes them.
 */
export function safetensorsToTensors(bytes: Uint8Array, label = 'safetensors'): Record<string, tf.Tensor> {
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, { dtype, shape, bytes: data }] of parseSafetensors(bytes, label)) {
    tensors[name] = tf.tensor(
      decode(data, dtype, `${label}: '${name}'`),
      shape,
      dtype === 'F32' ? 'float32' : 'int32',
    );
  }
  return tensors;
}

function decode(data: Uint8Array, dtype: string, what: string): Float32Array | Int32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
    case 'U8':
      return Int32Array.from(data);
    case 'I64': {
      const wide = new BigInt64Array(data.buffer, data.byteOffset, data.byteLength / 8);
      return Int32Array.from(wide, (v) => {
        if (v < -(2n ** 31n) || v >= 2n ** 31n) throw new Error(`${what}: ${v} does not fit int32`);
        return Number(v);
      });
    }
    default:
      throw new Error(
        `${what}: dtype ${dtype}; this test reader knows F32, I64 and U8 (the fixtures' dtypes)`,
      );
  }
}
