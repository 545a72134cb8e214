import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_BYTES, RECORD_BYTES } from './format.ts';
import { loadCifar10 } from './load.ts';
import { loadSynthetic, writeSyntheticCifar } from './synthetic.node.ts';
import { SYNTHETIC_CLASSES, syntheticRecords } from './synthetic.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skipnet-synthetic-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the synthetic set', () => {
  it('is deterministic in its seed and balanced over 10 classes', () => {
    const a = syntheticRecords(200, 5, 'train');
    expect(Buffer.from(syntheticRecords(200, 5, 'train')).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(syntheticRecords(200, 6, 'train')).equals(Buffer.from(a))).toBe(false);
    expect(Buffer.from(syntheticRecords(200, 5, 'test')).equals(Buffer.from(a))).toBe(false);
    const counts = new Array(10).fill(0);
    for (let r = 0; r < 200; r++) counts[a[r * RECORD_BYTES]!]++;
    expect(counts).toEqual(new Array(10).fill(20));
  });

  it('is labelled synthetic everywhere', async () => {
    const data = await loadSynthetic({ trainSize: 30, testSize: 10, seed: 1 });
    expect(data.name).toBe('synthetic');
    expect(data.train.dataset).toBe('synthetic');
    expect(data.classNames).toEqual(SYNTHETIC_CLASSES);
    expect(SYNTHETIC_CLASSES.every((c) => c.startsWith('synthetic-'))).toBe(true);
    expect(() => data.test.image(10)).toThrow(/^synthetic test/);
  });

  it('is written in the CIFAR binary layout that loadCifar10 reads back, still named synthetic', async () => {
    const folder = await writeSyntheticCifar(dir, { trainSize: 23, testSize: 7, seed: 2 });
    const names = (await readdir(folder)).sort();
    expect(names).toEqual([
      'README.txt',
      'batches.meta.txt',
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'synthetic.json',
      'test_batch.bin',
    ]);
    expect(await readFile(join(folder, 'README.txt'), 'utf8')).toMatch(/SYNTHETIC DATA, NOT CIFAR-10/);
    const fromDisk = await loadCifar10({ dataDir: folder, download: false });
    const inMemory = await loadSynthetic({ trainSize: 23, testSize: 7, seed: 2 });
    expect(fromDisk.name).toBe('synthetic');
    expect(fromDisk.train.labels).toEqual(inMemory.train.labels);
    expect(Buffer.from(fromDisk.train.images).equals(Buffer.from(inMemory.train.images))).toBe(true);
    expect(fromDisk.test.labels).toEqual(inMemory.test.labels);
    // The same options reuse the folder; other options refuse to overwrite it.
    expect(await writeSyntheticCifar(dir, { trainSize: 23, testSize: 7, seed: 2 })).toBe(folder);
    await expect(writeSyntheticCifar(dir, { trainSize: 24, testSize: 7, seed: 2 })).rejects.toThrow(/exists/);
    const viaDataDir = await loadSynthetic({ trainSize: 23, testSize: 7, seed: 2, dataDir: dir });
    expect(viaDataDir.dir).toMatch(/synthetic-v2-seed2-train23-test7/);
  });

  it("carries a quick cue: each class's colours, so a short run visibly learns (the CLI's offline default)", async () => {
    // The mean colour of the brightest-saturated pixels, nearest class mean: a readout a network learns from its
    // global pooling within a few dozen SGD steps (with v1's uninformative colours this was at chance).
    const data = await loadSynthetic({ trainSize: 1000, testSize: 300, seed: 4 });
    const colour = (img: Uint8Array) => {
      let [r, g, b, n] = [0, 0, 0, 0];
      for (let p = 0; p < img.length; p += 3) {
        const [pr, pg, pb] = [img[p]!, img[p + 1]!, img[p + 2]!];
        if (Math.max(pr, pg, pb) - Math.min(pr, pg, pb) < 90) continue; // greyish: the background
        r += pr;
        g += pg;
        b += pb;
        n++;
      }
      return [r, g, b].map((v) => v / Math.max(1, n * 255));
    };
    const means = Array.from({ length: 10 }, () => ({ f: [0, 0, 0], n: 0 }));
    for (let i = 0; i < data.train.length; i++) {
      const m = means[data.train.labels[i]!]!;
      colour(data.train.image(i)).forEach((v, k) => {
        m.f[k]! += v;
      });
      m.n++;
    }
    let right = 0;
    for (let i = 0; i < data.test.length; i++) {
      const f = colour(data.test.image(i));
      const dist = means.map((m) => m.f.reduce((s, v, k) => s + (v / m.n - f[k]!) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === data.test.labels[i]) right++;
    }
    const accuracy = right / data.test.length;
    console.log(`synthetic nearest-mean accuracy on colour alone: ${accuracy.toFixed(3)} (chance 0.1)`);
    expect(accuracy).toBeGreaterThan(0.5);
  });

  it('separates the classes: a nearest-class-mean classifier on simple features beats chance by far', async () => {
    // A quick learnability floor (the trainer's tests train a ResNet on it): orientation energy and
    // centre/edge contrast per image, nearest class mean, measured on the held-out test split.
    const data = await loadSynthetic({ trainSize: 1000, testSize: 300, seed: 3 });
    const features = (img: Uint8Array) => {
      const g = (y: number, x: number) => {
        const o = (y * 32 + x) * 3;
        return (img[o]! + img[o + 1]! + img[o + 2]!) / 3;
      };
      let dx = 0;
      let dy = 0;
      let dd = 0;
      let da = 0;
      let centre = 0;
      let edge = 0;
      for (let y = 1; y < 31; y++) {
        for (let x = 1; x < 31; x++) {
          const v = g(y, x);
          dx += Math.abs(v - g(y, x + 1));
          dy += Math.abs(v - g(y + 1, x));
          dd += Math.abs(v - g(y + 1, x + 1));
          da += Math.abs(v - g(y + 1, x - 1));
          if (Math.abs(x - 16) < 6 && Math.abs(y - 16) < 6) centre += v;
          else edge += v;
        }
      }
      const sum = dx + dy + dd + da + 1e-9;
      return [dx / sum, dy / sum, dd / sum, da / sum, Math.abs(centre / 121 - edge / 779) / 255, sum / 1e5];
    };
    const means = Array.from({ length: 10 }, () => ({ f: new Array(6).fill(0), n: 0 }));
    for (let i = 0; i < data.train.length; i++) {
      const m = means[data.train.labels[i]!]!;
      features(data.train.image(i)).forEach((v, k) => {
        m.f[k] += v;
      });
      m.n++;
    }
    for (const m of means) m.f = m.f.map((v) => v / m.n);
    let right = 0;
    for (let i = 0; i < data.test.length; i++) {
      const f = features(data.test.image(i));
      let best = 0;
      let bestDist = Number.POSITIVE_INFINITY;
      means.forEach((m, c) => {
        const d = m.f.reduce((s, v, k) => s + (v - f[k]!) ** 2, 0);
        if (d < bestDist) {
          bestDist = d;
          best = c;
        }
      });
      if (best === data.test.labels[i]) right++;
    }
    const accuracy = right / data.test.length;
    console.log(`synthetic nearest-mean accuracy on hand features: ${accuracy.toFixed(3)} (chance 0.1)`);
    expect(accuracy).toBeGreaterThan(0.3);
    expect(data.train.images.length).toBe(1000 * IMAGE_BYTES);
  });
});
