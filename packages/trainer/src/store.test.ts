import 'fake-indexeddb/auto';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointWeights, latestCheckpoint } from './checkpoint.ts';
import { TrainingAbortedError } from './errors.ts';
import { FolderStore } from './folder-store.ts';
import { IndexedDBStore } from './indexeddb-store.ts';
import { SGD } from './optim.ts';
import type { RunStore } from './store.ts';
import { tinyModel, toyData } from './test-helpers.ts';
import { type TrainOptions, trainCh6 } from './train.ts';

let root: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'skipnet-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let runs = 0;
const stores: Record<string, () => RunStore> = {
  FolderStore: () => new FolderStore(join(root, `run-${runs++}`)),
  // fake-indexeddb: the IndexedDB API in memory, as the browser has it (tested in Chromium by the browser example)
  IndexedDBStore: () => new IndexedDBStore({ run: `run-${runs++}` }),
};
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe.each(Object.entries(stores))('%s', (_, make) => {
  it('reads what it wrote, null where nothing is, and replaces a file whole', async () => {
    const store = make();
    expect(await store.read('history.json')).toBeNull();
    await store.write('history.json', '{"a":1}');
    await store.write('history.json', '{"a":2}');
    await store.write('plot.png', new Uint8Array([1, 2, 3]));
    expect(text(await store.read('history.json'))).toBe('{"a":2}');
    expect(Array.from((await store.read('plot.png'))!)).toEqual([1, 2, 3]);
    expect((await store.list('')).sort()).toEqual(['history.json', 'plot.png']);
  });

  it('writes a folder whole, replaces an older one of the same name, lists and removes it', async () => {
    const store = make();
    expect(await store.list('checkpoints')).toEqual([]);
    await store.writeFolder('checkpoints/epoch-0001', { 'a.bin': new Uint8Array([1]), 'old.json': '{}' });
    await store.writeFolder('checkpoints/epoch-0001', { 'a.bin': new Uint8Array([2]) });
    await store.writeFolder('checkpoints/epoch-0002', { 'a.bin': new Uint8Array([3]) });
    expect((await store.list('checkpoints')).sort()).toEqual(['epoch-0001', 'epoch-0002']);
    expect(await store.list('checkpoints/epoch-0001')).toEqual(['a.bin']);
    expect(Array.from((await store.read('checkpoints/epoch-0001/a.bin'))!)).toEqual([2]);
    await store.remove('checkpoints/epoch-0001');
    await store.remove('checkpoints/epoch-0009');
    expect(await store.list('checkpoints')).toEqual(['epoch-0002']);
    expect(await store.clean()).toEqual([]);
  });

  it('carries a run through abort and resume: the same curves and weights as one uninterrupted run', async () => {
    const opts = (store: RunStore): TrainOptions => ({
      epochs: 2,
      seed: 3,
      store,
      optimizer: (p) => new SGD(p, { lr: 0.05, momentum: 0.9 }),
      progress: 'none',
      log: () => {},
    });
    const whole = tinyModel();
    const full = await trainCh6(whole, toyData(32, 8), toyData(8, 8), opts(make()));
    const store = make();
    const stop = new AbortController();
    const first = tinyModel();
    const error = await trainCh6(first, toyData(32, 8), toyData(8, 8), {
      ...opts(store),
      signal: stop.signal,
      callbacks: { onBatchEnd: (b) => void (b.epoch === 1 && b.batch === 1 && stop.abort()) },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingAbortedError);
    expect((error as TrainingAbortedError).checkpoint).toBe(
      store.locate('checkpoints/epoch-0001-examples-000000008'),
    );
    first.dispose();
    const second = tinyModel();
    const resumed = await trainCh6(second, toyData(32, 8), toyData(8, 8), { ...opts(store), resume: true });
    expect(resumed.history.points).toEqual(full.history.points);
    expect(resumed.history.epochs.map((e) => e.loss)).toEqual(full.history.epochs.map((e) => e.loss));
    expect(await latestCheckpoint(store)).toBe('epoch-0002');
    // the download: weights.safetensors with PyTorch's names, as the seed's code loads them
    const weights = readSafetensors(await checkpointWeights(store));
    const a = second.stateDict();
    expect(Object.keys(weights)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) expect(await weights[k]!.data(), k).toEqual(await a[k]!.data());
    const b = whole.stateDict();
    for (const k of Object.keys(a)) expect(await b[k]!.data(), k).toEqual(await a[k]!.data());
    expect(text(await store.read('history.json'))).toContain('"epochs"');
    expect(text(await store.read('plot.svg'))).toMatch(/^<svg/);
    tf.dispose([...Object.values(weights), ...Object.values(a), ...Object.values(b)]);
    whole.dispose();
    second.dispose();
  });
});

describe('IndexedDBStore', () => {
  it('keeps runs apart and names them indexeddb://<database>/<run>', async () => {
    const a = new IndexedDBStore({ run: 'a', database: 'apart' });
    const b = new IndexedDBStore({ run: 'ab', database: 'apart' });
    await a.write('x/y', 'a');
    await b.write('x/y', 'b');
    expect(text(await a.read('x/y'))).toBe('a');
    expect(await a.list('')).toEqual(['x']);
    await a.remove('');
    expect(text(await b.read('x/y'))).toBe('b');
    expect(a.locate('checkpoints/epoch-0001')).toBe('indexeddb://apart/a/checkpoints/epoch-0001');
    await a.close();
    await b.close();
  });
});
