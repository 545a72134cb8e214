/** Height and width of a CIFAR image. */
export const IMAGE_SIZE = 32;
/** Bytes of one image: 32 × 32 × 3. */
export const IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * 3;
/** Bytes of one record in the binary files: one label byte, then the red, green and blue planes. */
export const RECORD_BYTES = 1 + IMAGE_BYTES;

/** CIFAR-10's class names, label i is `CIFAR10_CLASSES[i]` (as in `batches.meta.txt`). */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

/**
 * Throws unless `byteLength` holds a whole, non-zero number of records; returns that number. The error names
 * `source` and what is wrong; `remedy`, when given, says what to do about it where the file came from (a cache
 * folder to re-extract, files to pick again).
 */
export function countRecords(byteLength: number, source: string, remedy?: string): number {
  if (byteLength === 0 || byteLength % RECORD_BYTES !== 0) {
    const whole = Math.floor(byteLength / RECORD_BYTES);
    throw new Error(
      `${source}: ${byteLength.toLocaleString('en-US')} bytes is not a whole number of ${RECORD_BYTES.toLocaleString('en-US')}-byte ` +
        `CIFAR records (${whole} records and ${byteLength - whole * RECORD_BYTES} stray bytes): the file is truncated, ` +
        `oversized or not in the CIFAR binary format.${remedy ? ` ${remedy}` : ''}`,
    );
  }
  return byteLength / RECORD_BYTES;
}

/**
 * Decodes CIFAR binary records (label, then R, G, B planes of 32×32 row-major) into HWC images at record
 * `offset` of `images`/`labels`, checking every label against `numClasses`.
 */
export function decodeRecords(
  bytes: Uint8Array,
  source: string,
  numClasses: number,
  images: Uint8Array,
  labels: Uint8Array,
  offset: number,
): number {
  const n = countRecords(bytes.byteLength, source);
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  for (let r = 0; r < n; r++) {
    const rec = r * RECORD_BYTES;
    const label = bytes[rec]!;
    if (label >= numClasses) {
      throw new Error(
        `${source}: record ${r} (byte offset ${rec}) has label ${label}, but there are only ${numClasses} classes ` +
          `(labels 0–${numClasses - 1}): the file is corrupt or belongs to another data set (CIFAR-100 uses another layout).`,
      );
    }
    labels[offset + r] = label;
    const out = (offset + r) * IMAGE_BYTES;
    const red = rec + 1;
    for (let p = 0; p < plane; p++) {
      const o = out + p * 3;
      images[o] = bytes[red + p]!;
      images[o + 1] = bytes[red + plane + p]!;
      images[o + 2] = bytes[red + 2 * plane + p]!;
    }
  }
  return n;
}

/** Encodes HWC images and labels as CIFAR binary records: the inverse of {@link decodeRecords}. */
export function encodeRecords(images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const n = labels.length;
  if (images.length !== n * IMAGE_BYTES) {
    throw new Error(
      `encodeRecords: ${images.length} image bytes for ${n} labels, expected ${n * IMAGE_BYTES}`,
    );
  }
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const out = new Uint8Array(n * RECORD_BYTES);
  for (let r = 0; r < n; r++) {
    const rec = r * RECORD_BYTES;
    const label = labels[r]!;
    if (!Number.isInteger(label) || label < 0 || label > 255) {
      throw new Error(`encodeRecords: label ${label} of record ${r} does not fit in a byte`);
    }
    out[rec] = label;
    const src = r * IMAGE_BYTES;
    for (let p = 0; p < plane; p++) {
      out[rec + 1 + p] = images[src + p * 3]!;
      out[rec + 1 + plane + p] = images[src + p * 3 + 1]!;
      out[rec + 1 + 2 * plane + p] = images[src + p * 3 + 2]!;
    }
  }
  return out;
}
