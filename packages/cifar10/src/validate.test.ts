import { describe, expect, it } from 'vitest';
import { loadSynthetic } from './synthetic.ts';
import { randomCrop, resize } from './transforms.ts';

describe('sizes that must be positive integers', () => {
  it('are refused with the function, the option and the value', async () => {
    expect(() => resize(0)).toThrow('resize: height must be a positive integer, got 0');
    expect(() => resize(96, 2.5)).toThrow('resize: width must be a positive integer, got 2.5');
    expect(() => randomCrop(-1)).toThrow('randomCrop: size must be a positive integer, got -1');
    await expect(loadSynthetic({ trainSize: 0 })).rejects.toThrow(
      'synthetic: trainSize must be a positive integer, got 0',
    );
    const data = await loadSynthetic({ trainSize: 4, testSize: 2 });
    await expect(data.train.batches({ batchSize: Number.NaN }).next()).rejects.toThrow(
      'batches: batchSize must be a positive integer, got NaN',
    );
  });
});
