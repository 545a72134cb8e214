import * as tf from '@tensorflow/tfjs-core';
import { halfToFloat } from './float16.ts';
import {
  DTYPE_SIZE,
  describe,
  type ReadSafetensorsOptions,
  SafetensorsError,
  type SafetensorsTensorInfo,
  setOwn,
  withSource,
} from './format.ts';
import { parseSafetensors } from './header.ts';

/**
 * Reads every tensor: F32, F64, F16 and BF16 as float32; I64, I32, I16, I8 and U8 as int32 (an I64 value outside
 * int32 is an error); BOOL as bool. The whole file is validated before any tensor is made, and the tensors own
 * copies of their data (the input may be reused). The caller disposes the tensors. Throws {@link SafetensorsError}.
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): Record<string, tf.Tensor> {
  const { header, dataStart } = parseSafetensors(bytes, options);
  try {
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
  } catch (error) {
    throw withSource(error, options.source);
  }
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
