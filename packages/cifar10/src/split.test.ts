import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, IMAGE_BYTES } from './format.ts';
import { type Batch, type BatchOptions, CifarSplit } from './split.ts';
import { randomImages } from './test-utils.ts';
import { horizontalFlip, randomCrop, resize, seedTransform } from './transforms.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const { images, labels } = randomImages(50, 7);
const split = new CifarSplit({
  dataset: 'cifar10',
  name: 'train',
  classNames: CIFAR10_CLASSES,
  images,
  labels,
});

async function collect(options: BatchOptions) {
  const out: { x: Float32Array; shape: number[]; y: Int32Array; indices: Uint32Array }[] = [];
  for await (const b of split.batches(options)) {
    out.push({
      x: b.x.dataSync() as Float32Array,
      shape: b.x.shape,
      y: b.y.dataSync() as Int32Array,
      indices: b.indices,
    });
    tf.dispose([b.x, b.y]);
  }
  return out;
}

// Byte comparison: toEqual on long typed arrays is slow.
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('CifarSplit.batches', () => {
  it('yields float32 NHWC x and int32 y in file order, /255 by default', async () => {
    const batches = await collect({ batchSize: 16 });
    expect(batches.map((b) => b.shape[0])).toEqual([16, 16, 16, 2]);
    expect(batches[0]!.shape).toEqual([16, 32, 32, 3]);
    const first = batches[0]!;
    expect([...first.indices]).toEqual([...Array(16).keys()]);
    expect([...first.y]).toEqual([...labels.subarray(0, 16)]);
    expect(first.x[IMAGE_BYTES + 5]).toBeCloseTo(images[IMAGE_BYTES + 5]! / 255, 7);
    for await (const b of split.batches({ batchSize: 4 })) {
      expect(b.x.dtype).toBe('float32');
      expect(b.y.dtype).toBe('int32');
      tf.dispose([b.x, b.y]);
      break;
    }
  });

  it('drops the short last batch when asked', async () => {
    expect((await collect({ batchSize: 16, dropLast: true })).length).toBe(3);
    expect(split.batchCount({ batchSize: 16, dropLast: true })).toBe(3);
    expect(split.batchCount({ batchSize: 16 })).toBe(4);
  });

  it('shuffles reproducibly: same seed and epoch, same order; another epoch, another order', async () => {
    const order = async (seed: number, epoch: number) =>
      (await collect({ batchSize: 8, shuffle: true, seed, epoch })).flatMap((b) => [...b.indices]);
    const a = await order(3, 0);
    expect(await order(3, 0)).toEqual(a);
    expect(await order(3, 1)).not.toEqual(a);
    expect(await order(4, 0)).not.toEqual(a);
    expect(a).not.toEqual([...Array(50).keys()]);
    expect([...a].sort((p, q) => p - q)).toEqual([...Array(50).keys()]);
  });

  it('gives the same batches whatever the prefetch depth, augmentation included', async () => {
    const options = {
      batchSize: 8,
      shuffle: true,
      seed: 11,
      transform: [randomCrop(32, 4), horizontalFlip(), resize(40)],
      normalize: { mean: 0.5, std: 0.5 },
    };
    const a = await collect({ ...options, prefetch: 0 });
    const b = await collect({ ...options, prefetch: 3 });
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) {
      expect(b[i]!.shape).toEqual([i < 6 ? 8 : 2, 40, 40, 3]);
      expect(sameBytes(b[i]!.x, a[i]!.x)).toBe(true);
      expect(b[i]!.y).toEqual(a[i]!.y);
    }
  });

  it('hands each batch over: it stays valid until the caller disposes it, and nothing else is left', async () => {
    const before = tf.memory().numTensors;
    const kept: Batch[] = [];
    for await (const b of split.batches({ batchSize: 8, ...seedTransform(), prefetch: 2 })) {
      kept.push(b);
      expect(tf.memory().numTensors).toBe(before + 2 * kept.length);
    }
    expect(kept.length).toBe(7);
    // The iterator disposed none of them: the first batch is still readable after the loop.
    expect(kept[0]!.x.isDisposed).toBe(false);
    expect(kept[0]!.x.shape).toEqual([8, 96, 96, 3]);
    for (const b of kept) tf.dispose([b.x, b.y]);
    expect(tf.memory().numTensors).toBe(before);
    // A break leaves the prefetched batches as plain arrays: only the batch taken is a tensor.
    for await (const b of split.batches({ batchSize: 8, prefetch: 3 })) {
      tf.dispose([b.x, b.y]);
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('makes subsets: the first N, or N per class', () => {
    const first = split.subset(5);
    expect(first.length).toBe(5);
    expect(first.image(4)).toEqual(split.image(4));
    const per = split.subset({ perClass: 2 });
    const counts = new Map<number, number>();
    for (const l of per.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    for (const c of counts.values()) expect(c).toBeLessThanOrEqual(2);
    expect(per.length).toBe(Math.min(2, 5) * new Set(labels).size);
    expect(() => split.image(50)).toThrow(/outside 0\.\.49/);
  });
});
