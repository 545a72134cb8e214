import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  type SafetensorsHeader,
} from '../index.ts';
import { catchError, expectError, file } from './test-files.ts';

// Hostile headers: the reader goes through the header once, nests no deeper than the format (3 levels), and skips
// values that are no part of the format only when they are small, so any header within the format's 100 MB limit
// is accepted or rejected after one pass; by default headers over 8 MB or 100,000 entries are refused. Times and
// memory are measured in bench/header.mjs (BENCHMARKS.md).

const MAX_HEADER = 100_000_000;
const DEFAULT_LIMIT = 8_000_000;
/** Reading at the format's limit rather than the default one. */
const atFormatLimit = { maxHeaderBytes: MAX_HEADER };

/** A file whose header is `head`, `open` and `close` each repeated `levels` times around `""`, then `tail`. */
function nested(head: string, open: string, close: string, levels: number, tail: string): Uint8Array {
  const encoder = new TextEncoder();
  const length = head.length + levels * (open.length + close.length) + 2 + tail.length;
  const bytes = new Uint8Array(8 + length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(length), true);
  let at = 8;
  const put = (text: string) => {
    at += encoder.encodeInto(text, bytes.subarray(at)).written;
  };
  put(head);
  // Repeat by doubling copies of the first unit: sixteen million levels in a few copies.
  const fill = (unit: string) => {
    const start = at;
    put(unit);
    let filled = unit.length;
    while (filled < levels * unit.length) {
      const chunk = Math.min(filled, levels * unit.length - filled);
      bytes.copyWithin(start + filled, start, start + chunk);
      filled += chunk;
    }
    at = start + filled;
  };
  fill(open);
  put('""');
  fill(close);
  put(tail);
  return bytes;
}

const entry = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
const NESTING = /nests deeper than the format's 3 levels/;

describe('hostile headers', () => {
  it("rejects the probe's header at once: metadata nested 16 million levels deep, within the size limit", () => {
    // {"__metadata__":{"a":{"a":… : 23-29 s and 3-5 GB before this reader (issue 16), a crash with a 2 GB heap.
    const levels = 16_000_000;
    const bytes = nested('{"__metadata__":', '{"a":', '}', levels, '}');
    expect(bytes.length - 8).toBeLessThan(MAX_HEADER);
    expectError(() => readSafetensorsHeader(bytes, atFormatLimit), 'INVALID_HEADER', NESTING);
    // By default a header this long is not read at all.
    expectError(() => readSafetensorsHeader(bytes), 'HEADER_TOO_LARGE', /over the limit of 8000000/);
  });

  it('rejects nesting past the format anywhere: metadata, an entry, a shape, a skipped field, a top-level value', () => {
    const cases = [
      '{"__metadata__":{"a":{"b":{"c":"d"}}}}',
      '{"t":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}',
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"a":[1]}}}',
      '{"t":[[[]]]}',
      `{"t":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    ];
    for (const header of cases) {
      expectError(() => readSafetensorsHeader(file(header, [0, 0, 0, 0])), 'INVALID_HEADER', NESTING);
    }
  });

  it('accepts what the format nests: three levels, unknown fields of an entry ignored', () => {
    const header = {
      __metadata__: { format: 'pt' },
      t: { ...entry, extra: { note: 'ignored', n: 1 }, list: [1, 'a', null], flag: true },
    };
    expect(readSafetensorsHeader(file(header, [0, 0, 0, 0]))).toEqual({
      tensors: { t: { dtype: 'F32', shape: [1], dataOffsets: [0, 4] } },
      metadata: { format: 'pt' },
    });
  });

  it('rejects long lists and wide values the format has no place for, before reading them', () => {
    const ones = (n: number) => Array.from({ length: n }, () => 1);
    expectError(
      () => readSafetensorsHeader(file({ t: { ...entry, shape: ones(65) } }, [0, 0, 0, 0])),
      'INVALID_ENTRY',
      /"t": "shape" has more than 64 dimensions/,
      't',
    );
    expect(
      readSafetensorsHeader(file({ t: { ...entry, shape: ones(64) } }, [0, 0, 0, 0])).tensors.t?.shape,
    ).toEqual(ones(64));
    expectError(
      () => readSafetensorsHeader(file({ t: { ...entry, data_offsets: [0, 4, ...ones(70)] } }, [0, 0, 0, 0])),
      'INVALID_HEADER',
      /more than 64 items/,
    );
    expectError(
      () => readSafetensorsHeader(file({ t: { ...entry, data_offsets: [0, 4, 4] } }, [0, 0, 0, 0])),
      'INVALID_ENTRY',
      /"data_offsets" must be \[begin, end\].*\[0,4,4\]/,
      't',
    );
    expectError(
      () => readSafetensorsHeader(file({ t: { ...entry, extra: ones(65) } }, [0, 0, 0, 0])),
      'INVALID_HEADER',
      /more than 64 items/,
    );
    expectError(
      () => readSafetensorsHeader(file({ t: ones(1_000_000) })),
      'INVALID_HEADER',
      /more than 64 items/,
    );
    const manyFields = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`f${i}`, 0]));
    expectError(
      () => readSafetensorsHeader(file({ t: { ...entry, ...manyFields } }, [0, 0, 0, 0])),
      'INVALID_ENTRY',
      /"t": its entry has more than 64 fields/,
      't',
    );
  });

  it('stops at the first bad entry of millions', () => {
    const header = `{${Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    expect(header.length).toBeGreaterThan(DEFAULT_LIMIT);
    expectError(
      () => readSafetensorsHeader(file(header), atFormatLimit),
      'INVALID_ENTRY',
      /"k0".*not 0/,
      'k0',
    );
  });
});

describe('the header length limit', () => {
  /** A valid file whose header is exactly `length` bytes: one metadata string fills it. */
  const headerOf = (length: number) => {
    const frame = '{"__metadata__":{"note":""}}';
    const text = `{"__metadata__":{"note":"${'x'.repeat(length - frame.length)}"}}`;
    expect(text.length).toBe(length);
    return file(text);
  };

  it('reads a header of up to 8 MB by default and refuses a longer one unread, saying how to read it', () => {
    expect(readSafetensorsHeader(headerOf(DEFAULT_LIMIT)).metadata.note).toHaveLength(DEFAULT_LIMIT - 28);
    const longer = headerOf(DEFAULT_LIMIT + 8);
    for (const read of [readSafetensorsHeader, readSafetensors]) {
      expectError(
        () => read(longer),
        'HEADER_TOO_LARGE',
        /the header is 8000008 bytes, over the limit of 8000000 \(maxHeaderBytes, the default\).*under a second and 100 MB.*\{ maxHeaderBytes: 8000008 \}/,
      );
    }
    expect(readSafetensorsHeader(longer, { maxHeaderBytes: 8_000_008 }).metadata.note).toHaveLength(
      DEFAULT_LIMIT + 8 - 28,
    );
  });

  it("applies a lower or higher limit the caller sets, up to the format's 100 MB", () => {
    const small = file({ t: entry }, [0, 0, 0, 0]);
    const length = small.length - 12;
    expect(readSafetensorsHeader(small, { maxHeaderBytes: length }).tensors.t?.shape).toEqual([1]);
    expectError(
      () => readSafetensorsHeader(small, { maxHeaderBytes: length - 1 }),
      'HEADER_TOO_LARGE',
      new RegExp(`the header is ${length} bytes, over the limit of ${length - 1} \\(maxHeaderBytes\\)`),
    );
    // Past the format's limit the length prefix itself is wrong, whatever the caller allows.
    const announced = new Uint8Array(8);
    new DataView(announced.buffer).setBigUint64(0, 100_000_001n, true);
    expectError(() => readSafetensorsHeader(announced, atFormatLimit), 'HEADER_TOO_LARGE', /format's limit/);
  });

  it('rejects a limit that is not a whole number of bytes within the format', () => {
    for (const maxHeaderBytes of [-1, 1.5, Number.NaN, MAX_HEADER + 1, Number.POSITIVE_INFINITY]) {
      expectError(
        () => readSafetensorsHeader(file({}), { maxHeaderBytes }),
        'INVALID_ARGUMENT',
        /options\.maxHeaderBytes is .*; it must be a whole number of bytes from 0 to 100000000/,
      );
    }
  });

  it('reads up to 100,000 entries (tensors and metadata pairs) by default, and as many as the caller allows', () => {
    const zeroSize = '{"dtype":"F32","shape":[0],"data_offsets":[0,0]}';
    const header = (tensors: number, pairs: number) => {
      const metadata = Array.from({ length: pairs }, (_, i) => `"m${i}":""`).join(',');
      const entries = Array.from({ length: tensors }, (_, i) => `"t${i}":${zeroSize}`).join(',');
      return file(`{"__metadata__":{${metadata}}${tensors > 0 ? ',' : ''}${entries}}`);
    };
    const atLimit = readSafetensorsHeader(header(99_990, 10));
    expect([Object.keys(atLimit.tensors).length, Object.keys(atLimit.metadata).length]).toEqual([99_990, 10]);
    const tooMany =
      /holds more than 100000 entries \(tensors and metadata pairs\), over the limit of 100000 \(maxEntries, the default\).*under a second and 100 MB.*with a higher maxEntries/;
    expectError(() => readSafetensorsHeader(header(99_991, 10)), 'HEADER_TOO_LARGE', tooMany);
    expectError(() => readSafetensors(header(0, 100_001)), 'HEADER_TOO_LARGE', tooMany);
    expect(
      Object.keys(readSafetensorsHeader(header(0, 100_001), { maxEntries: 100_001 }).metadata),
    ).toHaveLength(100_001);
    expectError(
      () => readSafetensorsHeader(header(3, 0), { maxEntries: 2 }),
      'HEADER_TOO_LARGE',
      /more than 2 entries .*over the limit of 2 \(maxEntries\)/,
    );
    expect(
      readSafetensorsHeader(header(3, 0), { maxEntries: Number.POSITIVE_INFINITY }).tensors.t2,
    ).toBeDefined();
    for (const maxEntries of [-1, 0.5, Number.NaN]) {
      expectError(
        () => readSafetensorsHeader(file({}), { maxEntries }),
        'INVALID_ARGUMENT',
        /options\.maxEntries is .*; it must be a whole number from 0, or Infinity/,
      );
    }
  });

  it('names the source in every message when the caller gives one', () => {
    const source = 'runs/a/weights.safetensors';
    expectError(
      () => readSafetensorsHeader(headerOf(DEFAULT_LIMIT + 8), { source }),
      'HEADER_TOO_LARGE',
      /^safetensors: runs\/a\/weights\.safetensors: the header is 8000008 bytes/,
    );
    expectError(
      () => readSafetensors(file({ a: 1 }), { source }),
      'INVALID_ENTRY',
      /^safetensors: runs\/a\/weights\.safetensors: tensor "a": its entry must be an object/,
      'a',
    );
    // Decoding errors too (an I64 beyond int32), which come after the header.
    const i64 = file({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, [0, 0, 0, 0, 1, 0, 0, 0]);
    expectError(
      () => readSafetensors(i64, { source }),
      'OUT_OF_RANGE',
      /^safetensors: runs\/a\/weights\.safetensors: tensor "n" \(I64\) holds 4294967296/,
      'n',
    );
  });
});

describe('JSON as JSON.parse reads it', () => {
  const validCases: Array<[string, string]> = [
    [
      // Only not before the '{': the format requires the header to start with it.
      'whitespace everywhere',
      '{\n\t"t" : { "dtype" : "F32" , "shape" : [ 1 ] , "data_offsets" : [ 0 , 4 ] } \r\n} ',
    ],
    [
      'escapes in keys',
      '{"t\\u0041\\n\\"\\\\\\/\\ud83d\\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    ],
    ['numbers JSON allows', '{"t":{"dtype":"F32","shape":[1e0],"data_offsets":[0.0e5,4E+0]}}'],
    ['UTF-8 keys', '{"τ→ü😀":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'],
    [
      'null metadata and an empty object',
      '{"__metadata__":null,"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
    ],
  ];
  it.each(validCases)('reads %s', (_, header) => {
    const expected = JSON.parse(header) as Record<string, typeof entry>;
    const [key, value] = Object.entries(expected).find(([k]) => k !== '__metadata__')!;
    expect(readSafetensorsHeader(file(header, [0, 0, 0, 0])).tensors).toEqual({
      [key]: { dtype: value.dtype, shape: value.shape, dataOffsets: value.data_offsets },
    });
  });

  const invalidCases: Array<[string, string]> = [
    ['a leading zero', '{"t":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}'],
    ['a plus sign', '{"t":{"dtype":"F32","shape":[+1],"data_offsets":[0,4]}}'],
    ['a bare decimal point', '{"t":{"dtype":"F32","shape":[1.],"data_offsets":[0,4]}}'],
    ['a lone minus', '{"t":{"dtype":"F32","shape":[-],"data_offsets":[0,4]}}'],
    ['an empty exponent', '{"t":{"dtype":"F32","shape":[1e],"data_offsets":[0,4]}}'],
    ['a raw newline in a string', '{"t\n":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'],
    ['an unknown escape', '{"t\\x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'],
    // Values the reader skips are checked too (it used to look only for the closing quote of their keys).
    [
      'an unknown escape in a key of an ignored field',
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":{"\\q":1}}}',
    ],
    ['a short unicode escape', '{"t\\u12":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'],
    ['an unterminated string', '{"t'],
    ['a trailing comma', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}'],
    ['a trailing comma in a list', '{"t":{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}}'],
    ['single quotes', "{'t':{}}"],
    ['a bare word', '{"t":{"dtype":F32,"shape":[1],"data_offsets":[0,4]}}'],
    ['text after the object', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x'],
    ['two objects', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}{}'],
    ['a missing colon', '{"t" {"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'],
    ['a comment', '{/* c */"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'],
    ['a NUL byte as padding', '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}\u0000'],
  ];
  it.each(invalidCases)('rejects %s, as JSON.parse does', (_, header) => {
    expect(() => JSON.parse(header)).toThrow();
    expectError(() => readSafetensorsHeader(file(header, [0, 0, 0, 0])), 'INVALID_HEADER', /not valid JSON/);
  });
});

describe('property-based: the header fuzz target, in bounded time', () => {
  // Each property runs a fixed number of cases on headers of at most a few hundred kilobytes: a few seconds in all.

  /** What readSafetensorsHeader must return for a header text JSON.parse accepts, per the format. */
  function expected(text: string): SafetensorsHeader {
    const parsed = JSON.parse(text) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: number[] }
    >;
    const tensors: SafetensorsHeader['tensors'] = {};
    let metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (key === '__metadata__') metadata = (value ?? {}) as unknown as Record<string, string>;
      else
        Object.defineProperty(tensors, key, {
          value: {
            dtype: value.dtype,
            shape: value.shape,
            dataOffsets: value.data_offsets,
          },
          enumerable: true,
        });
    }
    return { tensors, metadata };
  }

  const names = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.constantFrom('__proto__', 'constructor', 'a.b', ''),
  );
  const validHeader = fc
    .record({
      entries: fc.uniqueArray(
        fc.record({
          key: names,
          dtype: fc.constantFrom('F32', 'I8', 'BOOL'),
          shape: fc.array(fc.nat(3), { maxLength: 3 }),
        }),
        { selector: (e) => e.key, maxLength: 5 },
      ),
      metadata: fc.option(fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }))),
      indent: fc.constantFrom(undefined, 0, 1, '\t', ' \r\n '),
    })
    .map(({ entries, metadata, indent }) => {
      const header: Record<string, unknown> = {};
      if (metadata !== null) header.__metadata__ = metadata;
      let offset = 0;
      for (const { key, dtype, shape } of entries.filter((e) => e.key !== '__metadata__')) {
        const bytes = shape.reduce((a, b) => a * b, 1) * (dtype === 'F32' ? 4 : 1);
        Object.defineProperty(header, key, {
          value: { dtype, shape, data_offsets: [offset, offset + bytes] },
          enumerable: true,
        });
        offset += bytes;
      }
      return { text: JSON.stringify(header, null, indent), dataLength: offset };
    });

  it('reads every valid header as JSON.parse reads it: keys, escapes, whitespace, metadata', () => {
    fc.assert(
      fc.property(validHeader, ({ text, dataLength }) => {
        expect(readSafetensorsHeader(file(text, new Uint8Array(dataLength)))).toEqual(expected(text));
      }),
      { numRuns: 500 },
    );
  });

  it('never accepts what JSON.parse rejects, and agrees with it on what both accept', () => {
    const significant = [
      '{',
      '}',
      '[',
      ']',
      '"',
      '\\',
      ':',
      ',',
      ' ',
      '0',
      '-',
      '.',
      'e',
      'n',
      '\u0001',
      '\u00e9',
    ];
    fc.assert(
      fc.property(
        validHeader,
        fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(...significant)), {
          minLength: 1,
          maxLength: 3,
        }),
        ({ text, dataLength }, edits) => {
          let edited = text;
          for (const [at, kind, char] of edits) {
            const i = at % (edited.length + 1);
            // insert, replace or delete one character
            edited = edited.slice(0, i) + (kind === 2 ? '' : char) + edited.slice(kind === 0 ? i : i + 1);
          }
          // What the file holds: an edit that split a surrogate pair becomes U+FFFD in UTF-8.
          const mutated = new TextDecoder().decode(new TextEncoder().encode(edited));
          let parsed = true;
          try {
            JSON.parse(mutated);
          } catch {
            parsed = false;
          }
          let result: SafetensorsHeader | undefined;
          try {
            result = readSafetensorsHeader(file(mutated, new Uint8Array(dataLength)));
          } catch (error) {
            if (!(error instanceof SafetensorsError)) throw error;
          }
          if (!parsed) expect(result).toBeUndefined();
          if (result) expect(result).toEqual(expected(mutated));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects hostile shapes anywhere in a header with a SafetensorsError that says why', () => {
    // Deep nesting, long lists and wide objects, put where a probe would: metadata, an entry, a field, the top.
    const hostile = fc.oneof(
      fc.integer({ min: 3, max: 5000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      fc.integer({ min: 3, max: 5000 }).map((n) => `${'{"a":'.repeat(n)}0${'}'.repeat(n)}`),
      fc.integer({ min: 65, max: 50_000 }).map((n) => `[${'0,'.repeat(n - 1)}0]`),
    );
    const place = fc.constantFrom(
      (v: string) => `{"__metadata__":{"a":${v}}}`,
      (v: string) => `{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${v}}}`,
      (v: string) => `{"t":${v}}`,
      (v: string) => `{"t":{"dtype":"F32","shape":${v},"data_offsets":[0,4]}}`,
    );
    fc.assert(
      fc.property(hostile, place, (value, put) => {
        const error = catchError(() => readSafetensorsHeader(file(put(value), [0, 0, 0, 0])));
        // A shape too long is the entry's fault (INVALID_ENTRY, naming it); the rest are the header's.
        expect(error.code).toBe(error.key === undefined ? 'INVALID_HEADER' : 'INVALID_ENTRY');
        expect(error.message).toMatch(
          /nests deeper than the format's 3 levels|more than 64 (items|dimensions)/,
        );
      }),
      { numRuns: 300 },
    );
  });
});
