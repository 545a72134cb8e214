// Test support for the safetensors tests: files built by hand from the spec, and error expectations.
import { expect } from 'vitest';
import { SafetensorsError, type SafetensorsErrorCode } from '../index.ts';

/** A file per the spec: u64 LE header length, the header padded with spaces to 8 bytes, then the data. */
export function file(header: string | object, data: ArrayLike<number> = []): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text + ' '.repeat((8 - (text.length % 8)) % 8));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

export function catchError(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError, but nothing was thrown');
}

export function expectError(
  fn: () => unknown,
  code: SafetensorsErrorCode,
  message: RegExp,
  key?: string,
): void {
  const error = catchError(fn);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  if (key !== undefined) expect(error.key).toBe(key);
}
