import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fixturePath, readSafetensorsFile } from './fixtures.node.ts';
import { parseSafetensors, safetensorsToTensors } from './safetensors.ts';

/** A safetensors file written by hand, as the format's spec lays it out. */
function file(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const data = new Uint8Array(4 * 2 + 8 * 2 + 3);
new Float32Array(data.buffer, 0, 2).set([1.5, -2]);
new BigInt64Array(data.buffer, 8, 2).set([7n, -3n]);
data.set([0, 128, 255], 24);
const header = {
  __metadata__: { format: 'pt' },
  w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
  n: { dtype: 'I64', shape: [2, 1], data_offsets: [8, 24] },
  u: { dtype: 'U8', shape: [3], data_offsets: [24, 27] },
};

describe('the safetensors test reader', () => {
  it('reads F32, I64 and U8 as tfjs float32 and int32 tensors', async () => {
    const tensors = safetensorsToTensors(file(header, data));
    expect(Object.keys(tensors).sort()).toEqual(['n', 'u', 'w']);
    expect([tensors['w']!.dtype, await tensors['w']!.data()]).toEqual([
      'float32',
      new Float32Array([1.5, -2]),
    ]);
    expect([tensors['n']!.dtype, tensors['n']!.shape, await tensors['n']!.data()]).toEqual([
      'int32',
      [2, 1],
      new Int32Array([7, -3]),
    ]);
    expect(Array.from(await tensors['u']!.data())).toEqual([0, 128, 255]);
    tf.dispose(Object.values(tensors));
  });

  it('refuses a truncated file, a tensor of the wrong size and an I64 outside int32, naming the file', () => {
    const whole = file(header, data);
    expect(() => parseSafetensors(whole.subarray(0, whole.length - 1), 'cut.safetensors')).toThrow(
      "cut.safetensors: 'u' ends past the end of the file",
    );
    expect(() =>
      parseSafetensors(file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data)),
    ).toThrow("'w' (F32 [3]) has 8 bytes");
    const big = new Uint8Array(8);
    new BigInt64Array(big.buffer).set([2n ** 40n]);
    expect(() =>
      safetensorsToTensors(file({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big), 'b'),
    ).toThrow("b: 'n': 1099511627776 does not fit int32");
  });

  it('reads the PyTorch fixtures', () => {
    const io = readSafetensorsFile(fixturePath('seed-resnet-narrow', 'io.safetensors'));
    expect(io.get('x')).toMatchObject({ dtype: 'F32', shape: [4, 3, 96, 96] });
    expect(io.get('y')).toMatchObject({ dtype: 'I64', shape: [4] });
  });
});
