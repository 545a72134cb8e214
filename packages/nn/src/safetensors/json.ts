import { describe, SafetensorsError, shorten } from './format.ts';

/**
 * The header's JSON, read from its bytes in one pass under the format's shape. `JSON.parse` builds the whole tree
 * before any check can run: a 100 MB header of `{"a":{"a":…` sixteen million levels deep, or of millions of junk
 * keys, cost it tens of seconds and gigabytes. This reader goes through the bytes once and decodes only the strings
 * and numbers the caller asks for; it never nests deeper than the format does (the header object, a tensor's
 * entry, its shape: three levels), and a value the caller skips may hold at most {@link MAX_SKIPPED} items, since
 * the format has no such values. So a header costs a linear pass over its bytes plus what it describes, and a
 * hostile one fails at its first fault.
 */
export const MAX_NESTING = 3;
/** The most items (list elements, object members) of a value that is not part of the format, which is skipped. */
export const MAX_SKIPPED = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= NINE;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON strings may not hold these raw; this finds them.
const CONTROL = /[\u0000-\u001f]/;

/** The kind of value that starts at a byte, as far as the callers branch on it. */
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'other';

export class HeaderJson {
  /** The next byte to read. */
  pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Skips whitespace and says what the next value is (an unknown byte is 'other', failing when read). */
  peek(): JsonKind {
    this.skipWhitespace();
    const c = this.bytes[this.pos];
    if (c === OPEN_BRACE) return 'object';
    if (c === OPEN_BRACKET) return 'array';
    if (c === QUOTE) return 'string';
    if (c === MINUS || isDigit(c)) return 'number';
    return 'other';
  }

  /** Skips whitespace and returns where the next value starts. */
  valueStart(): number {
    this.skipWhitespace();
    return this.pos;
  }

  // Objects and arrays are read by pulling (`if (json.openObject(d)) do { json.key(); …value… } while
  // (json.nextMember())`) rather than through a callback per member: a header of a million entries would
  // otherwise make a million closures, and this loop is most of the time a valid header takes.

  /**
   * Enters an object at nesting level `depth` (the header is 1); false when it is empty, which is then read.
   * Otherwise read each member with {@link key}, then its value, then {@link nextMember}.
   */
  openObject(depth: number): boolean {
    this.enter(depth, OPEN_BRACE);
    return !this.consume(CLOSE_BRACE);
  }

  /** Reads a member's key and the ':' after it; `known` as in {@link string}. */
  key(known?: readonly string[]): string {
    this.skipWhitespace();
    if (this.bytes[this.pos] !== QUOTE) this.fail('a string key');
    const key = this.string(known);
    if (!this.consume(COLON)) this.fail("':'");
    return key;
  }

  /** After a member's value: true when another member follows, false when the object has ended. */
  nextMember(): boolean {
    if (this.consume(COMMA)) return true;
    if (!this.consume(CLOSE_BRACE)) this.fail("',' or '}'");
    return false;
  }

  /** Enters an array at nesting level `depth`; false when it is empty. Otherwise read each element, then {@link nextElement}. */
  openArray(depth: number): boolean {
    this.enter(depth, OPEN_BRACKET);
    return !this.consume(CLOSE_BRACKET);
  }

  /** After an element: true when another follows, false when the array has ended. */
  nextElement(): boolean {
    if (this.consume(COMMA)) return true;
    if (!this.consume(CLOSE_BRACKET)) this.fail("',' or ']'");
    return false;
  }

  /**
   * Reads a string token. When it is one of `known` written plainly (field names, dtypes), returns that string
   * without making a new one: a header of a million entries would otherwise make four million short strings.
   */
  string(known?: readonly string[]): string {
    this.skipWhitespace();
    const b = this.bytes;
    const start = this.pos;
    if (b[start] !== QUOTE) this.fail('a string');
    if (known) {
      const word = this.match(known);
      if (word !== undefined) return word;
    }
    // Names and dtypes are printable ASCII without escapes: find the end and build the string in one loop.
    let end = start + 1;
    let c = b[end];
    while (c !== undefined && c >= 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH) c = b[++end];
    if (c === QUOTE) {
      this.pos = end + 1;
      const token = b.subarray(start + 1, end);
      // apply takes the typed array as it is (a spread would iterate it); long strings go to the decoder.
      return token.length <= 64
        ? String.fromCharCode.apply(null, token as unknown as number[])
        : lenient.decode(token);
    }
    this.pos = start;
    end = this.stringEnd();
    // The token with its quotes, so that JSON.parse can unescape it without a copy of a long string.
    let quoted: string;
    try {
      quoted = utf8.decode(b.subarray(start, end + 1));
    } catch {
      throw new SafetensorsError('INVALID_HEADER', 'safetensors: the header is not valid UTF-8');
    }
    if (CONTROL.test(quoted)) this.fail('no raw control character in the string', start);
    if (!quoted.includes('\\')) return quoted.slice(1, -1);
    try {
      return JSON.parse(quoted) as string;
    } catch {
      return this.fail('a valid escape in the string', start);
    }
  }

  /** Reads a number token (JSON's grammar: no leading zeros, no '+', no bare '.'). */
  number(): number {
    this.skipWhitespace();
    const start = this.pos;
    const b = this.bytes;
    let i = start;
    if (b[i] === MINUS) i++;
    if (b[i] === ZERO) i++;
    else if (isDigit(b[i])) i = this.digits(i);
    else this.fail('a digit', i);
    let integer = true;
    if (b[i] === DOT) {
      if (!isDigit(b[i + 1])) this.fail('a digit after the decimal point', i + 1);
      i = this.digits(i + 1);
      integer = false;
    }
    if (b[i] === LOWER_E || b[i] === UPPER_E) {
      i++;
      if (b[i] === PLUS || b[i] === MINUS) i++;
      if (!isDigit(b[i])) this.fail('a digit in the exponent', i);
      i = this.digits(i);
      integer = false;
    }
    this.pos = i;
    // Shapes and offsets are small integers: sum the digits (exact below 2^53); anything else as JavaScript reads it.
    if (integer && i - start <= 15) {
      let value = 0;
      for (let j = b[start] === MINUS ? start + 1 : start; j < i; j++)
        value = value * 10 + ((b[j] as number) - ZERO);
      return b[start] === MINUS ? -value : value;
    }
    return Number(lenient.decode(b.subarray(start, i)));
  }

  /**
   * Reads any value at nesting level `depth` without keeping it; returns where it started, for {@link quote}.
   * Such a value is no part of the format: it may nest no deeper than the format does and hold at most
   * {@link MAX_SKIPPED} items.
   */
  skip(depth: number): number {
    const kind = this.peek();
    const start = this.pos;
    let count = 0;
    if (kind === 'object') {
      if (this.openObject(depth)) {
        do {
          if (++count > MAX_SKIPPED) this.tooMany(start);
          this.key();
          this.skip(depth + 1);
        } while (this.nextMember());
      }
    } else if (kind === 'array') {
      if (this.openArray(depth)) {
        do {
          if (++count > MAX_SKIPPED) this.tooMany(start);
          this.skip(depth + 1);
        } while (this.nextElement());
      }
    } else if (kind === 'string') {
      this.string();
    } else if (kind === 'number') {
      this.number();
    } else if (!this.literal()) {
      this.fail('a value');
    }
    return start;
  }

  /** Consumes `null` if it is the next value. */
  null(): boolean {
    this.skipWhitespace();
    if (!this.startsWith('null')) return false;
    this.pos += 4;
    return true;
  }

  /** Fails unless only whitespace is left. */
  end(): void {
    this.skipWhitespace();
    if (this.pos < this.bytes.length) this.fail('the end of the header after the top-level object');
  }

  /** The value read from `start` to the current position, quoted short for a message. */
  quote(start: number): string {
    // Short values as JSON.stringify writes them (no whitespace); long ones (or parts) as they stand, cut.
    if (this.pos - start <= 200) {
      try {
        return describe(JSON.parse(utf8.decode(this.bytes.subarray(start, this.pos))));
      } catch {
        // A value read only partway, or not UTF-8: quote the bytes.
      }
    }
    return shorten(lenient.decode(this.bytes.subarray(start, Math.min(this.pos, start + 61))));
  }

  /** Fails with a message about the current position (or `at`), saying what was expected there. */
  fail(expected: string, at = this.pos): never {
    const byte = this.bytes[at];
    const found =
      byte === undefined
        ? 'the header ends'
        : byte < 0x80
          ? `found ${describe(String.fromCharCode(byte))}`
          : `found byte 0x${byte.toString(16)}`;
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: the header is not valid JSON (expected ${expected} at byte ${at}, ${found})`,
    );
  }

  /** The word of `known` that the string token at the current position holds, which is then read. */
  private match(known: readonly string[]): string | undefined {
    const b = this.bytes;
    const from = this.pos + 1;
    next: for (const word of known) {
      if (b[from + word.length] !== QUOTE) continue;
      for (let i = 0; i < word.length; i++) if (b[from + i] !== word.charCodeAt(i)) continue next;
      this.pos = from + word.length + 1;
      return word;
    }
    return undefined;
  }

  /** Moves past a string token and returns the index of its closing quote. */
  private stringEnd(): number {
    this.skipWhitespace();
    const b = this.bytes;
    if (b[this.pos] !== QUOTE) this.fail('a string');
    let end = this.pos;
    for (;;) {
      end = b.indexOf(QUOTE, end + 1);
      if (end < 0) this.fail('the end of a string', b.length);
      // A quote after an odd number of backslashes is escaped.
      let backslashes = 0;
      while (b[end - 1 - backslashes] === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    this.pos = end + 1;
    return end;
  }

  /** Fails for a value at `start` with more items than {@link MAX_SKIPPED}. */
  tooMany(start: number): never {
    throw new SafetensorsError(
      'INVALID_HEADER',
      `safetensors: the header holds a value with more than ${MAX_SKIPPED} items at byte ${start}, where the ` +
        'format has none; this is not a safetensors header',
    );
  }

  private literal(): boolean {
    for (const word of ['true', 'false', 'null']) {
      if (this.startsWith(word)) {
        this.pos += word.length;
        return true;
      }
    }
    return false;
  }

  private startsWith(word: string): boolean {
    for (let i = 0; i < word.length; i++) {
      if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return false;
    }
    return true;
  }

  private enter(depth: number, open: number): void {
    if (depth > MAX_NESTING) {
      throw new SafetensorsError(
        'INVALID_HEADER',
        `safetensors: the header nests deeper than the format's ${MAX_NESTING} levels (the header, a tensor's ` +
          `entry, its shape) at byte ${this.pos}; this is not a safetensors header`,
      );
    }
    this.skipWhitespace();
    if (this.bytes[this.pos] !== open) this.fail(`'${String.fromCharCode(open)}'`);
    this.pos++;
  }

  private consume(c: number): boolean {
    this.skipWhitespace();
    if (this.bytes[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private digits(from: number): number {
    let i = from;
    while (isDigit(this.bytes[i])) i++;
    return i;
  }

  private skipWhitespace(): void {
    const b = this.bytes;
    for (;;) {
      const c = b[this.pos];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }
}
