// Repeatable runs (issue 16): every source of randomness in this package — the shuffle, the augmentation and the
// synthetic set — follows the seed, so the same seed gives the same bytes, and another seed other bytes.
import '@tensorflow/tfjs-backend-cpu';
import { readdirSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BatchOptions } from './split.ts';
import { loadSynthetic } from './synthetic.ts';
import { horizontalFlip, randomCrop, resize } from './transforms.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function epochBytes(seed: number, options: Partial<BatchOptions> = {}) {
  const data = await loadSynthetic({ trainSize: 40, testSize: 10, seed });
  const parts: Buffer[] = [Buffer.from(data.train.images), Buffer.from(data.train.labels)];
  for (const epoch of [0, 1]) {
    for await (const b of data.train.batches({
      batchSize: 16,
      shuffle: true,
      seed,
      epoch,
      transform: [randomCrop(32, 4), horizontalFlip(), resize(48)],
      normalize: { mean: 0.5, std: 0.5 },
      workers: 0,
      ...options,
    })) {
      parts.push(Buffer.from((b.x.dataSync() as Float32Array).buffer), Buffer.from(b.indices.buffer));
      tf.dispose([b.x, b.y]);
    }
  }
  return Buffer.concat(parts);
}

describe('the seed', () => {
  it('fixes the synthetic set, the order and the augmentation: same seed, same bytes', async () => {
    const a = await epochBytes(11);
    expect((await epochBytes(11)).equals(a)).toBe(true);
    expect((await epochBytes(12)).equals(a)).toBe(false);
  });

  it('changes the augmentation on its own, with the data and order fixed', async () => {
    const data = await loadSynthetic({ trainSize: 16, testSize: 4, seed: 1 });
    const augmented = async (seed: number) => {
      const it = data.train.batches({
        batchSize: 16,
        seed,
        transform: [randomCrop(32, 4), horizontalFlip()],
      });
      const { value } = await it.next();
      await it.return();
      const bytes = Buffer.from((value!.x.dataSync() as Float32Array).buffer);
      tf.dispose([value!.x, value!.y]);
      return bytes;
    };
    expect((await augmented(3)).equals(await augmented(3))).toBe(true);
    expect((await augmented(3)).equals(await augmented(4))).toBe(false);
  });

  it('is the only source: no Math.random in the package', () => {
    const dir = new URL('.', import.meta.url);
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(10);
    const users = sources.filter((f) =>
      readFileSync(new URL(f, dir), 'utf8')
        .split('\n')
        .some((line) => !/^\s*(\/\/|\*)/.test(line) && line.includes('Math.random')),
    );
    expect(users).toEqual([]);
  });
});
