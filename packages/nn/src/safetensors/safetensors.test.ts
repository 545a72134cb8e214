import '@tensorflow/tfjs-backend-cpu';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fixturesDir, readFixtureBytes } from '@skipnet/test-support';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsDtype,
  SafetensorsError,
  type SafetensorsErrorCode,
  writeSafetensors,
} from '../index.ts';
import { expectError, file } from './test-files.ts';

function listFixtures(dir = fixturesDir()): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFixtures(path);
    return entry.name.endsWith('.safetensors') ? [relative(fixturesDir(), path)] : [];
  });
}

function disposeAll(tensors: Record<string, tf.Tensor>): void {
  tf.dispose(Object.values(tensors));
}

/** The file's dtype per key where it is not the default for the tensor it reads into, to write it back alike. */
function nonDefaultDtypes(bytes: Uint8Array): Record<string, SafetensorsDtype> {
  const { tensors } = readSafetensorsHeader(bytes);
  return Object.fromEntries(
    Object.entries(tensors)
      .filter(([, info]) => !['F32', 'I32', 'BOOL'].includes(info.dtype))
      .map(([key, info]) => [key, info.dtype]),
  );
}

let tensorsBefore = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  tensorsBefore = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

describe('PyTorch fixtures', () => {
  it('reads every fixture file and writes it back byte for byte like the reference writer', () => {
    const paths = listFixtures();
    expect(paths.length).toBeGreaterThanOrEqual(5);
    for (const path of paths) {
      const bytes = readFixtureBytes(path);
      const header = readSafetensorsHeader(bytes);
      const tensors = readSafetensors(bytes);
      expect(Object.keys(tensors)).toEqual(Object.keys(header.tensors));
      for (const [key, info] of Object.entries(header.tensors)) {
        expect(tensors[key]!.shape, key).toEqual(info.shape);
      }
      // make_fixtures.py writes the metadata first, compact JSON, space padding, insertion order: so do we.
      const written = writeSafetensors(tensors, {
        metadata: header.metadata,
        dtypes: nonDefaultDtypes(bytes),
      });
      expect(Buffer.compare(written, bytes), path).toBe(0);
      disposeAll(tensors);
    }
  });

  // Reference values read from the files with Python's struct and numpy.frombuffer (an independent parser).
  it('reads the narrow weights: names, OIHW shapes, I64 counters, values', () => {
    const tensors = readSafetensors(readFixtureBytes('seed-resnet-narrow/weights.safetensors'));
    expect(Object.keys(tensors)).toHaveLength(111);
    const conv = tensors['block1.0.weight']!;
    expect(conv.dtype).toBe('float32');
    expect(conv.shape).toEqual([8, 3, 7, 7]);
    const values = conv.dataSync() as Float32Array;
    expect(Array.from(values.slice(0, 3))).toEqual([
      0.013845983892679214, 0.04155953601002693, 0.06240973249077797,
    ]);
    expect(values.reduce((sum, v) => sum + v, 0)).toBeCloseTo(3.923495808849111, 9);
    // xavier_uniform_ bound for a 7x7 conv from 3 to 8 channels: sqrt(6 / (3*49 + 8*49)).
    const bound = Math.sqrt(6 / (3 * 49 + 8 * 49));
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(tensors['block3.0.conv3.weight']!.shape).toEqual([16, 8, 1, 1]);
    expect(tensors['classifier.weight']!.shape).toEqual([10, 64]);
    const counter = tensors['block1.1.num_batches_tracked']!;
    expect(counter.dtype).toBe('int32');
    expect(counter.shape).toEqual([]);
    expect(counter.dataSync()[0]).toBe(0);
    disposeAll(tensors);
  });

  it('reads the narrow io file, whose I64 scalars sit at offsets not aligned to 8', () => {
    const bytes = readFixtureBytes('seed-resnet-narrow/io.safetensors');
    const header = readSafetensorsHeader(bytes);
    const dataStart = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const counter = header.tensors['after.block1.1.num_batches_tracked']!;
    expect(counter.dtype).toBe('I64');
    expect((dataStart + counter.dataOffsets[0]) % 8).toBe(4);
    const tensors = readSafetensors(bytes);
    expect(Object.keys(tensors)).toHaveLength(177);
    expect(tensors['after.block1.1.num_batches_tracked']!.dataSync()[0]).toBe(1);
    expect(Array.from(tensors['y']!.dataSync())).toEqual([6, 8, 7, 8]);
    expect(tensors['y']!.dtype).toBe('int32');
    expect(tensors['loss']!.shape).toEqual([]);
    expect(tensors['loss']!.dataSync()[0]).toBe(3.7112700939178467);
    expect(Array.from(tensors['losses.3steps']!.dataSync())).toEqual([
      3.7112700939178467, 1.2539362907409668, 0.48069870471954346,
    ]);
    disposeAll(tensors);
  });

  it('reads the full model and its io', () => {
    const weightsBytes = readFixtureBytes('seed-resnet-full/weights.safetensors');
    expect(readSafetensorsHeader(weightsBytes).metadata).toEqual({
      format: 'pt',
      layout: 'PyTorch state_dict, conv OIHW, linear [out,in]',
    });
    const weights = readSafetensors(weightsBytes);
    expect(Object.keys(weights)).toHaveLength(111);
    expect(weights['block5.0.conv3.weight']!.shape).toEqual([512, 256, 1, 1]);
    expect(weights['classifier.weight']!.shape).toEqual([10, 512]);
    disposeAll(weights);
    const io = readSafetensors(readFixtureBytes('seed-resnet-full/io.safetensors'));
    expect(Array.from(io['y']!.dataSync())).toEqual([9, 3]);
    expect(io['loss']!.dataSync()[0]).toBe(4.45320987701416);
    expect(io['x']!.shape).toEqual([2, 3, 96, 96]);
    disposeAll(io);
  });

  it('reads U8 images as int32', () => {
    const tensors = readSafetensors(readFixtureBytes('resize/resize.safetensors'));
    const images = tensors['images']!;
    expect(images.dtype).toBe('int32');
    expect(images.shape).toEqual([8, 32, 32, 3]);
    const pixels = images.dataSync() as Int32Array;
    expect(Array.from(pixels.slice(0, 5))).toEqual([168, 229, 184, 171, 238]);
    expect(pixels.reduce((sum, v) => sum + v, 0)).toBe(3123158);
    expect(Array.from(tensors['normalized']!.dataSync().slice(0, 3))).toEqual([
      0.3176470994949341, 0.7960784435272217, 0.4431372880935669,
    ]);
    disposeAll(tensors);
  });

  it('reads the same from a buffer at an odd byte offset (every typed view unaligned)', () => {
    const bytes = readFixtureBytes('seed-resnet-narrow/io.safetensors');
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const expected = readSafetensors(bytes);
    const actual = readSafetensors(shifted.subarray(3));
    for (const [key, tensor] of Object.entries(expected)) {
      const bytesOf = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array | Int32Array).buffer);
      expect(Buffer.compare(bytesOf(actual[key]!), bytesOf(tensor)), key).toBe(0);
    }
    disposeAll(expected);
    disposeAll(actual);
  });
});

describe('a file built by hand from the spec', () => {
  // Every dtype, a scalar and a zero-size tensor; several entries start at offsets that are odd for their type.
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"h":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},' +
    '"b":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},' +
    '"d":{"dtype":"F64","shape":[1],"data_offsets":[14,22]},' +
    '"n":{"dtype":"I64","shape":[],"data_offsets":[22,30]},' +
    '"i":{"dtype":"I32","shape":[2],"data_offsets":[30,38]},' +
    '"s":{"dtype":"I16","shape":[1],"data_offsets":[38,40]},' +
    '"c":{"dtype":"I8","shape":[1],"data_offsets":[40,41]},' +
    '"u":{"dtype":"U8","shape":[1,2],"data_offsets":[41,43]},' +
    '"m":{"dtype":"BOOL","shape":[3],"data_offsets":[43,46]},' +
    '"e":{"dtype":"F32","shape":[0,3],"data_offsets":[46,46]}}';
  // IEEE 754 encodings, little-endian: 1.0f, -2.0f; half 1.0, -2.5; bfloat16 1.0; double 0.5; int64 -2;
  // int32 7, -1; int16 -300 (0xfed4); int8 -5; uint8 0, 255; bool 1, 0, 1.
  const data = [
    [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0],
    [0x00, 0x3c, 0x00, 0xc1],
    [0x80, 0x3f],
    [0, 0, 0, 0, 0, 0, 0xe0, 0x3f],
    [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    [0x07, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
    [0xd4, 0xfe],
    [0xfb],
    [0x00, 0xff],
    [0x01, 0x00, 0x01],
  ].flat();
  const bytes = file(header, data);
  const dtypes: Record<string, SafetensorsDtype> = {
    h: 'F16',
    b: 'BF16',
    d: 'F64',
    n: 'I64',
    s: 'I16',
    c: 'I8',
    u: 'U8',
  };

  it('is what writeSafetensors makes, byte for byte', () => {
    const tensors = {
      w: tf.tensor([1, -2]),
      h: tf.tensor([1, -2.5]),
      b: tf.scalar(1),
      d: tf.tensor([0.5]),
      n: tf.scalar(-2, 'int32'),
      i: tf.tensor([7, -1], [2], 'int32'),
      s: tf.tensor([-300], [1], 'int32'),
      c: tf.tensor([-5], [1], 'int32'),
      u: tf.tensor([[0, 255]], [1, 2], 'int32'),
      m: tf.tensor([true, false, true]),
      e: tf.zeros([0, 3]),
    };
    const written = writeSafetensors(tensors, { metadata: { format: 'pt' }, dtypes });
    expect(Array.from(written)).toEqual(Array.from(bytes));
    disposeAll(tensors);
  });

  it('reads back with the right dtypes, shapes and values', () => {
    const header = readSafetensorsHeader(bytes);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.tensors['n']).toEqual({ dtype: 'I64', shape: [], dataOffsets: [22, 30] });
    const t = readSafetensors(bytes);
    const summary = Object.fromEntries(
      Object.entries(t).map(([key, tensor]) => [
        key,
        [tensor.dtype, tensor.shape, Array.from(tensor.dataSync())],
      ]),
    );
    expect(summary).toEqual({
      w: ['float32', [2], [1, -2]],
      h: ['float32', [2], [1, -2.5]],
      b: ['float32', [], [1]],
      d: ['float32', [1], [0.5]],
      n: ['int32', [], [-2]],
      i: ['int32', [2], [7, -1]],
      s: ['int32', [1], [-300]],
      c: ['int32', [1], [-5]],
      u: ['int32', [1, 2], [0, 255]],
      m: ['bool', [3], [1, 0, 1]],
      e: ['float32', [0, 3], []],
    });
    disposeAll(t);
  });
});

describe('dtype conversions', () => {
  // Inputs and expected bits from PyTorch 1.13: torch.tensor(v).to(torch.float16 / torch.bfloat16).
  const inputs = [
    0,
    -0,
    1,
    -2.5,
    1 / 3,
    65504,
    65519,
    65520,
    1e6,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    1e-8,
    Infinity,
    -Infinity,
    0.1,
    -3.14159274,
    6.1e-5,
  ];
  const torchHalf = [
    0x0, 0x8000, 0x3c00, 0xc100, 0x3555, 0x7bff, 0x7bff, 0x7c00, 0x7c00, 0x1, 0x0, 0x1, 0x0, 0x7c00, 0xfc00,
    0x2e66, 0xc248, 0x3ff,
  ];
  const torchBfloat16 = [
    0x0, 0x8000, 0x3f80, 0xc020, 0x3eab, 0x4780, 0x4780, 0x4780, 0x4974, 0x3380, 0x3300, 0x3340, 0x322c,
    0x7f80, 0xff80, 0x3dcd, 0xc049, 0x3880,
  ];

  function writtenBits(values: number[], dtype: SafetensorsDtype): number[] {
    const bytes = tf.tidy(() => writeSafetensors({ v: tf.tensor(values) }, { dtypes: { v: dtype } }));
    const data = bytes.subarray(bytes.length - 2 * values.length);
    return Array.from(new Uint16Array(data.slice().buffer));
  }

  it('rounds float32 to F16 and BF16 exactly like PyTorch', () => {
    expect(writtenBits(inputs, 'F16')).toEqual(torchHalf);
    expect(writtenBits(inputs, 'BF16')).toEqual(torchBfloat16);
    const [nanHalf] = writtenBits([Number.NaN], 'F16');
    expect(nanHalf! & 0x7c00).toBe(0x7c00);
    expect(nanHalf! & 0x3ff).not.toBe(0);
    const [nanBfloat16] = writtenBits([Number.NaN], 'BF16');
    expect(nanBfloat16! & 0x7f80).toBe(0x7f80);
    expect(nanBfloat16! & 0x7f).not.toBe(0);
  });

  function readAll16(dtype: 'F16' | 'BF16'): { bits: Uint16Array; values: Float32Array } {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const bytes = file(
      { v: { dtype, shape: [65536], data_offsets: [0, 131072] } },
      new Uint8Array(bits.buffer),
    );
    const { v } = readSafetensors(bytes);
    const values = v!.dataSync() as Float32Array;
    v!.dispose();
    return { bits, values };
  }

  it('reads every F16 bit pattern, subnormals, infinities and NaN included, and writes it back unchanged', () => {
    const { bits, values } = readAll16('F16');
    // Known values (IEEE 754 binary16; 0x03ff checked against torch above).
    expect(values[0x0001]).toBe(2 ** -24);
    expect(values[0x03ff]).toBe(6.097555160522461e-5);
    expect(values[0x0400]).toBe(2 ** -14);
    expect(values[0x3c00]).toBe(1);
    expect(values[0x3555]).toBe(0.333251953125);
    expect(values[0x7bff]).toBe(65504);
    expect(values[0x7c00]).toBe(Infinity);
    expect(values[0xfc00]).toBe(-Infinity);
    expect(Object.is(values[0x8000], -0)).toBe(true);
    expect(values[0x7e00]).toBeNaN();
    expect(values[0xfc01]).toBeNaN();
    const finite = Array.from(bits).filter((h) => !Number.isNaN(values[h]));
    expect(finite).toHaveLength(65536 - 2 * 1023);
    const rewritten = writtenBits(
      finite.map((h) => values[h]!),
      'F16',
    );
    expect(rewritten).toEqual(finite);
  });

  it('reads every BF16 bit pattern as the top half of a float32 and writes it back unchanged', () => {
    const { bits, values } = readAll16('BF16');
    const asFloat32 = new Float32Array(new Uint32Array(bits).map((b) => b << 16).buffer);
    const finite = Array.from(bits).filter((b) => !Number.isNaN(asFloat32[b]));
    expect(bits.filter((b) => !Object.is(values[b], asFloat32[b]))).toEqual(new Uint16Array(0));
    expect(
      writtenBits(
        finite.map((b) => values[b]!),
        'BF16',
      ),
    ).toEqual(finite);
  });

  it('reads I64 at the int32 limits and names the key when a value does not fit', () => {
    const int64 = (...values: bigint[]) => new Uint8Array(new BigInt64Array(values).buffer);
    const fits = readSafetensors(
      file({ k: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, int64(-(2n ** 31n), 2n ** 31n - 1n)),
    );
    expect(Array.from(fits['k']!.dataSync())).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    disposeAll(fits);
    for (const tooBig of [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 40n, -(2n ** 63n)]) {
      const bytes = file(
        {
          first: { dtype: 'F32', shape: [], data_offsets: [0, 4] },
          'bn.num_batches_tracked': { dtype: 'I64', shape: [2], data_offsets: [4, 20] },
        },
        [0, 0, 0, 0, ...int64(0n, tooBig)],
      );
      // The tensor read before the failing one must not leak (afterEach counts tensors).
      expectError(
        () => readSafetensors(bytes),
        'OUT_OF_RANGE',
        new RegExp(`"bn.num_batches_tracked".*${tooBig} at flat index 1.*int32`),
        'bn.num_batches_tracked',
      );
    }
  });

  it('reads any non-zero BOOL byte as true', () => {
    const { m } = readSafetensors(
      file({ m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, [0, 2, 255]),
    );
    expect(Array.from(m!.dataSync())).toEqual([0, 1, 1]);
    m!.dispose();
  });

  it('writes int32 as I64 with the sign extended, like num_batches_tracked in PyTorch', () => {
    const t = tf.tensor([-1, 2 ** 31 - 1], [2], 'int32');
    const bytes = writeSafetensors({ t }, { dtypes: { t: 'I64' } });
    const data = new BigInt64Array(bytes.slice(bytes.length - 16).buffer);
    expect(Array.from(data)).toEqual([-1n, 2n ** 31n - 1n]);
    t.dispose();
  });
});

describe('writeSafetensors errors', () => {
  it('rejects values outside the target integer type, naming the key', () => {
    const t = tf.tensor([1, 300], [2], 'int32');
    expectError(
      () => writeSafetensors({ t }, { dtypes: { t: 'I8' } }),
      'OUT_OF_RANGE',
      /"t" holds 300.*I8/,
      't',
    );
    const negative = tf.neg(t);
    expectError(
      () => writeSafetensors({ negative }, { dtypes: { negative: 'U8' } }),
      'OUT_OF_RANGE',
      /-1.*U8/,
    );
    expect(writeSafetensors({ t }, { dtypes: { t: 'I16' } })).toBeInstanceOf(Uint8Array);
    tf.dispose([t, negative]);
  });

  it('rejects bad arguments with a message that says what to do', () => {
    const x = tf.tensor([1.5]);
    const i = tf.tensor([1], [1], 'int32');
    expectError(() => writeSafetensors({ x }, { dtypes: { x: 'I64' } }), 'INVALID_ARGUMENT', /tf\.cast/, 'x');
    expectError(() => writeSafetensors({ i }, { dtypes: { i: 'F16' } }), 'INVALID_ARGUMENT', /I32, I64/, 'i');
    expectError(
      () => writeSafetensors({ x }, { dtypes: { y: 'F16' } }),
      'INVALID_ARGUMENT',
      /"y".*not among/,
      'y',
    );
    expectError(() => writeSafetensors({ __metadata__: x }), 'INVALID_ARGUMENT', /options\.metadata/);
    expectError(
      () => writeSafetensors({ x }, { metadata: { epochs: 3 as unknown as string } }),
      'INVALID_HEADER',
      /"epochs".*strings/,
    );
    expectError(
      () => writeSafetensors({ x }, { metadata: { big: 3n as unknown as string } }),
      'INVALID_HEADER',
      /"big" is a bigint/,
    );
    const s = tf.tensor(['a']);
    expectError(() => writeSafetensors({ s }), 'INVALID_ARGUMENT', /string cannot be saved/, 's');
    s.dispose();
    const gone = tf.scalar(1);
    gone.dispose();
    expectError(() => writeSafetensors({ gone }), 'INVALID_ARGUMENT', /disposed/, 'gone');
    expectError(
      () => writeSafetensors({ x: [1] as unknown as tf.Tensor }),
      'INVALID_ARGUMENT',
      /not a tf\.Tensor/,
    );
    tf.dispose([x, i]);
  });
});

describe('validation of malformed files', () => {
  const f32 = (offsets: [number, number], shape: number[] = [(offsets[1] - offsets[0]) / 4]) => ({
    dtype: 'F32',
    shape,
    data_offsets: offsets,
  });
  const length = (n: bigint, rest: number[] = []) => {
    const out = new Uint8Array(8 + rest.length);
    new DataView(out.buffer).setBigUint64(0, n, true);
    out.set(rest, 8);
    return out;
  };
  const withByte = (bytes: Uint8Array, at: number, value: number) => {
    bytes[at] = value;
    return bytes;
  };
  const cases: Array<[string, Uint8Array, SafetensorsErrorCode, RegExp, string?]> = [
    ['fewer than 8 bytes', new Uint8Array(5), 'TRUNCATED', /5 bytes.*truncated/],
    ['a header past the end', length(100n, [0x7b]), 'TRUNCATED', /100 bytes.*truncated/],
    ['a header over 100 MB', length(100_000_001n), 'HEADER_TOO_LARGE', /100000001.*limit/],
    ['a 2^40-byte header length', length(2n ** 40n), 'HEADER_TOO_LARGE', /1099511627776/],
    ['an empty header', length(0n), 'INVALID_HEADER', /start with '\{'/],
    ['invalid UTF-8', withByte(file('{"ab":1}'), 10, 0xff), 'INVALID_HEADER', /UTF-8/],
    ['a header that is an array', file('[]'), 'INVALID_HEADER', /start with/],
    ['a header that is not JSON', file('{"a":'), 'INVALID_HEADER', /not valid JSON/],
    ['a header that is null', file('null'), 'INVALID_HEADER', /start with/],
    ['an entry that is a number', file({ a: 1 }), 'INVALID_ENTRY', /"a".*dtype, shape and data_offsets/, 'a'],
    ['a missing shape', file({ a: { dtype: 'F32', data_offsets: [0, 0] } }), 'INVALID_ENTRY', /"shape"/, 'a'],
    [
      'a numeric dtype',
      file({ a: { ...f32([0, 0]), dtype: 5 } }),
      'INVALID_ENTRY',
      /"dtype" must be a string/,
      'a',
    ],
    [
      'an unknown dtype',
      file({ a: { ...f32([0, 4], [1]), dtype: 'U32' } }, [0, 0, 0, 0]),
      'UNSUPPORTED_DTYPE',
      /"a".*"U32" is not supported \(supported: F64, F32.*torch\.float32/,
      'a',
    ],
    [
      'a negative dimension',
      file({ a: f32([0, 0], [-1]) }),
      'INVALID_ENTRY',
      /non-negative integers.*\[-1\]/,
      'a',
    ],
    [
      'a fractional dimension',
      file({ a: f32([0, 0], [1.5]) }),
      'INVALID_ENTRY',
      /non-negative integers/,
      'a',
    ],
    ['a string dimension', file({ a: f32([0, 0], ['2'] as never) }), 'INVALID_ENTRY', /non-negative/, 'a'],
    [
      'one data offset',
      file({ a: { ...f32([0, 0]), data_offsets: [0] } }),
      'INVALID_ENTRY',
      /\[begin, end\]/,
      'a',
    ],
    ['a negative offset', file({ a: f32([-4, 0], [1]) }), 'INVALID_ENTRY', /data_offsets/, 'a'],
    [
      'a string offset',
      file({ a: { ...f32([0, 0]), data_offsets: [0, '4'] } }),
      'INVALID_ENTRY',
      /data_offsets/,
      'a',
    ],
    ['end before begin', file({ a: f32([4, 0], [1]) }, [0, 0, 0, 0]), 'INVALID_OFFSETS', /\[4, 0\]/, 'a'],
    [
      'offsets past the data',
      file({ a: f32([0, 8]) }, [0, 0, 0, 0]),
      'INVALID_OFFSETS',
      /4-byte.*truncated/,
      'a',
    ],
    [
      'overlapping tensors',
      file({ a: f32([0, 8]), b: f32([4, 12]) }, new Uint8Array(12)),
      'INVALID_OFFSETS',
      /"b" \(bytes 4-12\) overlaps tensor "a"/,
      'b',
    ],
    [
      'a hole between tensors',
      file({ a: f32([0, 4]), b: f32([8, 12]) }, new Uint8Array(12)),
      'INVALID_OFFSETS',
      /bytes 4-8 .*hole before tensor "b"/,
      'b',
    ],
    [
      'data not starting at 0',
      file({ a: f32([4, 8]) }, new Uint8Array(8)),
      'INVALID_OFFSETS',
      /bytes 0-4/,
      'a',
    ],
    ['trailing bytes', file({ a: f32([0, 4]) }, new Uint8Array(9)), 'INVALID_OFFSETS', /5 bytes follow/],
    ['data without tensors', file({}, [1]), 'INVALID_OFFSETS', /1 bytes follow/],
    [
      'a shape too small for its bytes',
      file({ a: f32([0, 8], [3]) }, new Uint8Array(8)),
      'SIZE_MISMATCH',
      /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
      'a',
    ],
    [
      'shape [1e12] on 4 bytes',
      file({ a: f32([0, 4], [1e12]) }, [0, 0, 0, 0]),
      'SIZE_MISMATCH',
      /needs 4000000000000 bytes/,
      'a',
    ],
    [
      'shape [2^53-1, 2^53-1] of F64',
      file(
        { a: { dtype: 'F64', shape: [2 ** 53 - 1, 2 ** 53 - 1], data_offsets: [0, 8] } },
        new Uint8Array(8),
      ),
      'SIZE_MISMATCH',
      /more than 9007199254740991/,
      'a',
    ],
    [
      'metadata with a number',
      file({ __metadata__: { epoch: 3 } }),
      'INVALID_HEADER',
      /"epoch" is 3.*strings/,
    ],
    ['metadata that is an array', file({ __metadata__: ['a'] }), 'INVALID_HEADER', /object of strings/],
    [
      'a duplicate key',
      file(
        '{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}',
      ),
      'INVALID_HEADER',
      /tensor "a" twice/,
      'a',
    ],
    [
      'a duplicate field inside an entry',
      file('{"a":{"dtype":"F32","shape":[0],"shape":[0],"data_offsets":[0,0]}}'),
      'INVALID_HEADER',
      /field "shape" twice/,
    ],
  ];

  it.each(cases)('rejects %s', (_, bytes, code, message, key) => {
    expectError(() => readSafetensorsHeader(bytes), code, message, key);
    expectError(() => readSafetensors(bytes), code, message, key);
  });

  it('accepts zero-size tensors with huge dimensions, null metadata and awkward names', () => {
    // Written by hand: an object literal's __proto__ would set the prototype, not make a key.
    const text =
      '{"__metadata__":null,"__proto__":{"dtype":"F32","shape":[1e12,0],"data_offsets":[0,0]},' +
      '"constructor":{"dtype":"I64","shape":[0],"data_offsets":[0,0]},' +
      '"a \\"quoted\\"\\\\ key":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}';
    const t = readSafetensors(file(text, [1]));
    expect(Object.keys(t)).toEqual(['__proto__', 'constructor', 'a "quoted"\\ key']);
    const protoKey = '__proto__';
    expect(t[protoKey]!.shape).toEqual([1e12, 0]);
    expect(t['constructor']!.dtype).toBe('int32');
    expect(t['a "quoted"\\ key']!.dataSync()[0]).toBe(1);
    const dtypes: Record<string, SafetensorsDtype> = Object.fromEntries([['constructor', 'I64']]);
    const written = writeSafetensors(t, { dtypes });
    expect(readSafetensorsHeader(written).tensors['constructor']!.dtype).toBe('I64');
    const back = readSafetensors(written);
    expect(Object.keys(back)).toEqual(Object.keys(t));
    expect(readSafetensorsHeader(file(text, [1])).metadata).toEqual({});
    disposeAll(t);
    disposeAll(back);
  });
});

describe('property-based', () => {
  type Spec = { key: string; dtype: SafetensorsDtype; shape: number[]; values: Array<number | boolean> };
  const int = (min: number, max: number) => fc.integer({ min, max });
  // Values each dtype holds exactly, so a round trip must return them unchanged.
  const valueArbitrary: Record<SafetensorsDtype, fc.Arbitrary<number | boolean>> = {
    F32: fc.float(),
    F64: fc.float(),
    // m * 2^e with an 11-bit m and e >= -24 is a binary16 value (normal or subnormal), up to 65504.
    F16: fc.oneof(
      fc.tuple(int(-2047, 2047), int(-24, 5)).map(([m, e]) => m * 2 ** e),
      fc.constantFrom(Infinity, -Infinity, Number.NaN, -0),
    ),
    // m * 2^e with an 8-bit m and e >= -133 is a bfloat16 value.
    BF16: fc.oneof(
      fc.tuple(int(-255, 255), int(-133, 120)).map(([m, e]) => m * 2 ** e),
      fc.constantFrom(Infinity, -Infinity, Number.NaN, -0),
    ),
    I64: int(-(2 ** 31), 2 ** 31 - 1),
    I32: int(-(2 ** 31), 2 ** 31 - 1),
    I16: int(-32768, 32767),
    I8: int(-128, 127),
    U8: int(0, 255),
    BOOL: fc.boolean(),
  };
  const dtypes = Object.keys(valueArbitrary) as SafetensorsDtype[];
  const spec: fc.Arbitrary<Spec> = fc
    .record({
      key: fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.constantFrom('__proto__', 'constructor', 'toString', ''),
      ),
      dtype: fc.constantFrom(...dtypes),
      shape: fc.array(int(0, 4), { maxLength: 4 }),
    })
    .filter(({ key }) => key !== '__metadata__')
    .chain(({ key, dtype, shape }) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return fc
        .array(valueArbitrary[dtype], { minLength: size, maxLength: size })
        .map((values) => ({ key, dtype, shape, values }));
    });
  const kindOf = (dtype: SafetensorsDtype) =>
    dtype === 'BOOL' ? 'bool' : dtype.startsWith('I') || dtype === 'U8' ? 'int32' : 'float32';

  it('round-trips random tensor dicts of every dtype, deterministically', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(spec, { selector: (s) => s.key, maxLength: 6 }),
        fc.option(fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }))),
        (specs, metadata) => {
          const tensors: Record<string, tf.Tensor> = {};
          const targets: Record<string, SafetensorsDtype> = {};
          for (const { key, dtype, shape, values } of specs) {
            const kind = kindOf(dtype);
            const data = kind === 'bool' ? values.map((v) => (v ? 1 : 0)) : (values as number[]);
            Object.defineProperty(tensors, key, {
              value: tf.tensor(kind === 'float32' ? new Float32Array(data) : data, shape, kind),
              enumerable: true,
            });
            Object.defineProperty(targets, key, { value: dtype, enumerable: true });
          }
          const options = { dtypes: targets, ...(metadata === null ? {} : { metadata }) };
          try {
            const bytes = writeSafetensors(tensors, options);
            expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
            const header = readSafetensorsHeader(bytes);
            expect(header.metadata).toEqual(metadata ?? {});
            expect(Object.keys(header.tensors)).toEqual(specs.map((s) => s.key));
            const back = readSafetensors(bytes);
            try {
              for (const { key, dtype, shape } of specs) {
                expect(header.tensors[key]!.dtype).toBe(dtype);
                expect(back[key]!.dtype).toBe(kindOf(dtype));
                expect(back[key]!.shape).toEqual(shape);
                const expected = tensors[key]!.dataSync();
                const actual = back[key]!.dataSync();
                expect(actual.length).toBe(expected.length);
                for (let i = 0; i < expected.length; i++) {
                  if (!Object.is(actual[i], expected[i]))
                    expect([key, i, actual[i]]).toEqual([key, i, expected[i]]);
                }
              }
              expect(Buffer.compare(writeSafetensors(back, options), bytes)).toBe(0);
            } finally {
              disposeAll(back);
            }
          } finally {
            disposeAll(tensors);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  /** Reading anything must either work or throw a SafetensorsError; a RangeError would mean a wild allocation. */
  function readsOrRejects(bytes: Uint8Array): void {
    try {
      readSafetensorsHeader(bytes);
      disposeAll(readSafetensors(bytes));
    } catch (error) {
      if (!(error instanceof SafetensorsError)) throw error;
    }
  }

  const seeds = [
    file(
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
        b: { dtype: 'I64', shape: [], data_offsets: [4, 12] },
        c: { dtype: 'BOOL', shape: [1, 2], data_offsets: [12, 14] },
        d: { dtype: 'F32', shape: [0], data_offsets: [14, 14] },
        e: { dtype: 'BF16', shape: [1], data_offsets: [14, 16] },
      },
      new Uint8Array(16),
    ),
    file(
      {
        x: { dtype: 'F64', shape: [1, 1], data_offsets: [0, 8] },
        y: { dtype: 'U8', shape: [3], data_offsets: [8, 11] },
      },
      [0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 1, 2, 3],
    ),
  ];

  it('never fails with anything but SafetensorsError on mutated or truncated files', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat()),
        (seed, edits, cut) => {
          const bytes = seed.slice();
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          readsOrRejects(cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  // Shapes and offsets a hostile header might hold: huge, negative, fractional, past 2^53.
  const wildNumber = fc.oneof(
    int(0, 24),
    fc.constantFrom(-1, 0.5, 1e12, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 1e300, -0),
  );

  it('never fails with anything but SafetensorsError on valid headers with one fault', () => {
    // Random headers almost never get past the offset checks; these are valid but for one thing, so the checks
    // after them (sizes, dtypes, I64 range) and the decoding are reached too.
    const size: Record<string, number> = {
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
    const fault = fc.oneof(
      fc.record({ kind: fc.constant('none' as const) }),
      fc.record({ kind: fc.constant('dim' as const), entry: fc.nat(), index: fc.nat(), value: wildNumber }),
      fc.record({
        kind: fc.constant('offset' as const),
        entry: fc.nat(),
        index: int(0, 1),
        value: wildNumber,
      }),
      fc.record({
        kind: fc.constant('dtype' as const),
        entry: fc.nat(),
        value: fc.constantFrom(...dtypes, 'U32'),
      }),
      fc.record({ kind: fc.constant('data' as const), delta: int(-3, 3) }),
    );
    const nearlyValid = fc.record({
      entries: fc.array(
        fc.record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(int(0, 3), { maxLength: 3 }) }),
        { minLength: 1, maxLength: 4 },
      ),
      fault,
      noise: fc.uint8Array({ minLength: 900, maxLength: 900 }),
      zeros: fc.boolean(),
    });
    fc.assert(
      fc.property(nearlyValid, ({ entries, fault, noise, zeros }) => {
        let offset = 0;
        const header = entries.map(({ dtype, shape }) => {
          const begin = offset;
          offset += shape.reduce((a, b) => a * b, 1) * size[dtype]!;
          return { dtype: dtype as string, shape, data_offsets: [begin, offset] };
        });
        let dataLength = offset;
        if (fault.kind === 'data') dataLength = Math.max(0, offset + fault.delta);
        if (fault.kind === 'dtype') header[fault.entry % header.length]!.dtype = fault.value;
        if (fault.kind === 'dim' || fault.kind === 'offset') {
          const target = header[fault.entry % header.length]!;
          const list = fault.kind === 'dim' ? target.shape : target.data_offsets;
          list[fault.index % (list.length + 1)] = fault.value;
        }
        const data = zeros ? new Uint8Array(dataLength) : noise.subarray(0, dataLength);
        readsOrRejects(file(Object.fromEntries(header.map((entry, i) => [`t${i}`, entry])), data));
      }),
      { numRuns: 3000 },
    );
  });

  it('never fails with anything but SafetensorsError on random headers, huge shapes included', () => {
    const number = wildNumber;
    const entry = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record(
          {
            dtype: fc.constantFrom<unknown>(
              'F64',
              'F32',
              'F16',
              'BF16',
              'I64',
              'I32',
              'I16',
              'I8',
              'U8',
              'BOOL',
              'U32',
              7,
            ),
            shape: fc.array(number, { maxLength: 4 }),
            data_offsets: fc.oneof(fc.tuple(number, number), fc.array(number, { maxLength: 3 })),
          },
          { requiredKeys: [] },
        ),
      },
      { weight: 1, arbitrary: fc.jsonValue() },
    );
    const header = fc.oneof(
      fc
        .dictionary(fc.oneof(fc.string(), fc.constant('__metadata__')), entry, { maxKeys: 4 })
        .map((h) => JSON.stringify(h)),
      fc.json(),
      fc.string({ unit: 'binary' }),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (text, data) => readsOrRejects(file(text, data))),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), readsOrRejects), { numRuns: 1000 });
  });
});
