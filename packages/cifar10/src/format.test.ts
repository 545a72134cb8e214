import { describe, expect, it } from 'vitest';
import { countRecords, decodeRecords, encodeRecords, IMAGE_BYTES, RECORD_BYTES } from './format.ts';
import { randomImages } from './test-utils.ts';

describe('CIFAR binary records', () => {
  it('puts the label first, then the R, G, B planes row-major', () => {
    const { images, labels } = randomImages(2, 3);
    const bytes = encodeRecords(images, labels);
    expect(bytes.length).toBe(2 * RECORD_BYTES);
    expect(bytes[RECORD_BYTES]).toBe(labels[1]);
    // Pixel (row 1, column 2) of image 1: HWC offset (1*32+2)*3, plane offset 1*32+2.
    const p = 1 * 32 + 2;
    expect(bytes[RECORD_BYTES + 1 + p]).toBe(images[IMAGE_BYTES + p * 3]);
    expect(bytes[RECORD_BYTES + 1 + 1024 + p]).toBe(images[IMAGE_BYTES + p * 3 + 1]);
    expect(bytes[RECORD_BYTES + 1 + 2048 + p]).toBe(images[IMAGE_BYTES + p * 3 + 2]);
    const back = new Uint8Array(2 * IMAGE_BYTES);
    const backLabels = new Uint8Array(2);
    expect(decodeRecords(bytes, 'x', 10, back, backLabels, 0)).toBe(2);
    expect(back).toEqual(images);
    expect(backLabels).toEqual(labels);
  });

  it('accepts any whole number of records and rejects the rest', () => {
    expect(countRecords(3 * RECORD_BYTES, 'f')).toBe(3);
    expect(() => countRecords(0, 'empty.bin')).toThrow(/empty\.bin: 0 bytes/);
    expect(() => countRecords(2 * RECORD_BYTES + 1, 'big.bin')).toThrow(
      /big\.bin.*2 records and 1 stray bytes/,
    );
  });

  it('ends the error with the remedy given, and with what is wrong when there is none', () => {
    expect(() => countRecords(5, 'a.bin')).toThrow(/not in the CIFAR binary format\.$/);
    expect(() => countRecords(5, 'a.bin', 'Pick it again.')).toThrow(
      /not in the CIFAR binary format\. Pick it again\.$/,
    );
  });
});
