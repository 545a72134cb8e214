import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { workerSource } from '../scripts/build-worker.mjs';
import { BATCH_WORKER_SOURCE } from './batch-worker.generated.ts';
import { CIFAR10_CLASSES } from './format.ts';
import { nodeWorkerHost } from './pool.node.ts';
import { BatchPool, liveWorkers, setWorkerHost } from './pool.ts';
import { type BatchOptions, CifarSplit } from './split.ts';
import { randomImages, runInChildProcess } from './test-utils.ts';
import { horizontalFlip, randomCrop, resize, seedTransform, type Transform } from './transforms.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  setWorkerHost(nodeWorkerHost); // what importing the Node entry does
});

const { images, labels } = randomImages(70, 5);
const split = new CifarSplit({
  dataset: 'cifar10',
  name: 'train',
  classNames: CIFAR10_CLASSES,
  images,
  labels,
});

async function collect(options: BatchOptions, during?: () => void) {
  const out: { x: Buffer; shape: number[]; y: number[]; indices: number[] }[] = [];
  for await (const b of split.batches(options)) {
    during?.();
    out.push({
      x: Buffer.from((b.x.dataSync() as Float32Array).buffer),
      shape: b.x.shape,
      y: [...b.y.dataSync()],
      indices: [...b.indices],
    });
    tf.dispose([b.x, b.y]);
  }
  return out;
}

describe('the batch worker pool', () => {
  const pipelines: [string, Partial<BatchOptions>][] = [
    ['the seed transform', { ...seedTransform() }],
    [
      'crop, flip and resize, shuffled, per-channel statistics',
      {
        shuffle: true,
        seed: 7,
        epoch: 3,
        transform: [randomCrop(32, 4), horizontalFlip(), resize(40, 36)],
        normalize: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
      },
    ],
    ['no transform, the last batch short', { shuffle: true, seed: 2 }],
  ];
  for (const [what, pipeline] of pipelines) {
    it(`gives the main thread's bytes, in order: ${what}`, async () => {
      const options = { batchSize: 16, ...pipeline };
      const main = await collect({ ...options, workers: 0 });
      expect(main.length).toBe(5);
      for (const workers of [1, 3]) {
        for (const prefetch of [0, 4]) {
          const pooled = await collect({ ...options, workers, prefetch });
          expect(pooled.map((b) => b.shape)).toEqual(main.map((b) => b.shape));
          expect(pooled.map((b) => b.indices)).toEqual(main.map((b) => b.indices));
          expect(pooled.map((b) => b.y)).toEqual(main.map((b) => b.y));
          expect(pooled.every((b, i) => b.x.equals(main[i]!.x))).toBe(true);
        }
      }
    });
  }

  // The cpu backend keeps the array it is given (and dataSync() hands it out), so the pool must never reuse it;
  // a backend that copies it (the cpu backend made to copy; wasm) lets the workers write later batches into it.
  // Either way the bytes are the main thread's.
  it("reuses a batch's float array only on a backend that copies it, with the same bytes", async () => {
    tf.registerBackend('cpu-copying', () => {
      const backend = new MathBackendCPU();
      const write = backend.write.bind(backend);
      backend.write = (values, shape, dtype) =>
        write(ArrayBuffer.isView(values) ? (values.slice() as typeof values) : values, shape, dtype);
      return backend;
    });
    const recycle = vi.spyOn(BatchPool.prototype, 'recycle');
    try {
      // More batches than are prepared ahead, so later batches are written into reused arrays.
      const options = { batchSize: 8, prefetch: 1, shuffle: true, seed: 3, ...seedTransform() };
      const main = await collect({ ...options, workers: 0 });
      const onCpu = await collect({ ...options, workers: 2 });
      expect(onCpu.every((b, i) => b.x.equals(main[i]!.x))).toBe(true);
      expect(recycle).not.toHaveBeenCalled();
      await tf.setBackend('cpu-copying');
      const onCopying = await collect({ ...options, workers: 2 });
      expect(recycle).toHaveBeenCalledTimes(main.length);
      expect(onCopying.map((b) => b.indices)).toEqual(main.map((b) => b.indices));
      expect(onCopying.every((b, i) => b.x.equals(main[i]!.x))).toBe(true);
      // The probe finds that tfjs-backend-wasm copies.
      await tf.setBackend('wasm');
      const onWasm = await collect({ ...options, workers: 2 });
      expect(recycle).toHaveBeenCalledTimes(2 * main.length);
      expect(onWasm.every((b, i) => b.x.equals(main[i]!.x))).toBe(true);
    } finally {
      recycle.mockRestore();
      await tf.setBackend('cpu');
      tf.removeBackend('cpu-copying');
    }
  });

  it("runs in workers by default ('auto'), and on the main thread for a transform of your own", async () => {
    let seen = 0;
    await collect({ batchSize: 16, ...seedTransform() }, () => {
      seen = Math.max(seen, liveWorkers());
    });
    expect(seen).toBeGreaterThan(0);
    expect(liveWorkers()).toBe(0);
    const own: Transform = { name: 'invert', apply: (b) => ({ ...b, data: b.data.map((v) => 255 - v) }) };
    await collect({ batchSize: 16, transform: [own] }, () => {
      seen = liveWorkers();
      expect(seen).toBe(0);
    });
    await expect(collect({ batchSize: 16, transform: [own], workers: 2 })).rejects.toThrow(
      /the transform 'invert' is your own, so it cannot run in a worker; pass workers: 0/,
    );
  });

  it('stops its workers and leaks no tensor on break, and reports a worker error as the main thread would', async () => {
    const before = tf.memory().numTensors;
    for await (const b of split.batches({ batchSize: 8, workers: 2, ...seedTransform() })) {
      tf.dispose([b.x, b.y]);
      break;
    }
    expect(liveWorkers()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const tooBig = { batchSize: 8, transform: [randomCrop(40)] };
    const onMain = await collect({ ...tooBig, workers: 0 }).catch((e: Error) => e.message);
    expect(onMain).toMatch(/a 40×40 window does not fit in 32×32 images/);
    await expect(collect({ ...tooBig, workers: 2 })).rejects.toThrow(onMain as string);
    expect(liveWorkers()).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  // A worker that kept the child alive would make runInChildProcess never resolve, so the test fails on its timeout
  // (no timed assertion: how long the child takes depends on the machine's load).
  it('lets the process end when a loop is abandoned without closing its iterator', async () => {
    const result = await runInChildProcess(`
      const { loadSynthetic, seedTransform } = await import(${JSON.stringify(new URL('./index.node.ts', import.meta.url).href)});
      await import('@tensorflow/tfjs-backend-cpu');
      const data = await loadSynthetic({ trainSize: 256, testSize: 10 });
      const batches = data.train.batches({ batchSize: 32, workers: 2, ...seedTransform() });
      const first = await batches.next();
      process.stdout.write(JSON.stringify({ shape: first.value.x.shape }));
      // No return(), no break: the iterator and its workers are simply dropped.
    `);
    expect(result.error).toBeUndefined();
    expect(result.shape).toEqual([32, 96, 96, 3]);
  });

  it('runs the worker bundled from the current sources (run `pnpm run build:worker` in packages/cifar10 if not)', async () => {
    expect(BATCH_WORKER_SOURCE === (await workerSource())).toBe(true);
  });
});
