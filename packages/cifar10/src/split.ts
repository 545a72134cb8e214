import * as tf from '@tensorflow/tfjs-core';
import { IMAGE_BYTES } from './format.ts';
import { BatchPool, workerHost } from './pool.ts';
import { prepareBatch } from './prepare.ts';
import { permutation, Rng } from './random.ts';
import type { Normalize, Transform, TransformSpec } from './transforms.ts';
import { requirePositiveInteger } from './validate.ts';

/** Runs `fn` as a new task after pending I/O: Node's setImmediate, a zero timeout in browsers. */
const nextTask: (fn: () => void) => void = globalThis.setImmediate ?? ((fn) => setTimeout(fn, 0));

/** The first `n` images, or the first `perClass` images of every class (in file order). */
export type Subset = number | { perClass: number };

/** Options of {@link CifarSplit.batches}. */
export interface BatchOptions {
  /** Images per batch. */
  batchSize: number;
  /** Visit the images in a seeded random order (default false: file order). */
  shuffle?: boolean;
  /** Seed of the shuffle and of random transforms (default 0). */
  seed?: number;
  /**
   * Epoch number, mixed into the seed (default 0): pass the epoch to get a new, still reproducible order and
   * augmentation each epoch.
   */
  epoch?: number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** uint8 HWC stages applied in order to each batch, e.g. `[randomCrop(32, 4), horizontalFlip(), resize(96)]`. */
  transform?: readonly Transform[];
  /** `(x / 255 − mean) / std` after the transforms (default mean 0, std 1: just `/255`). */
  normalize?: Normalize;
  /**
   * Worker threads that prepare the batches (resize, augmentation, normalisation), leaving the main thread free to
   * feed the backend: a count, `0` for none (batches are then prepared on the main thread, between your awaits),
   * or `'auto'` (the default): one fewer than the logical cores (at least 1, at most the epoch's batches) where the
   * platform has workers (Node's entry: `worker_threads`; browsers: Web Workers) and every transform is a built-in
   * one, else none. A transform of your own runs on the main thread (with a count, it is an error). The batches
   * are the same bytes whatever this is. The workers start with the loop and stop when it ends (also on `break`).
   */
  workers?: number | 'auto';
  /**
   * Batches prepared ahead of the one you are using (default 2 per worker, or 1 on the main thread; 0 prepares
   * each batch on request). This bounds the memory: each is `batchSize × height × width × 3` floats until handed
   * out (7 MB at 64 × 96 × 96). They are typed arrays until handed out, and become tensors only then.
   */
  prefetch?: number;
}

/**
 * One batch: `x` float32 NHWC `[n, height, width, 3]`, `y` int32 labels `[n]` (for one-hot:
 * `tf.oneHot(y, classNames.length)`), and the image indices within the split.
 *
 * Ownership passes to you with each batch: dispose `x` and `y` when done with them (`tf.dispose([x, y])`), as
 * `@skipnet/trainer`'s `trainCh6` does with every batch it takes. The iterator keeps no reference to a batch it has
 * handed out, and a batch prepared ahead but never handed out (after a `break`) is not a tensor yet, so it leaks
 * nothing.
 */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  indices: Uint32Array;
}

interface PreparedBatch {
  x: Float32Array;
  shape: [number, number, number, number];
  y: Int32Array;
  indices: Uint32Array;
}

/**
 * A split (train or test) in memory: uint8 HWC images (3,072 bytes each, 150 MB for CIFAR-10's 50,000) and their
 * labels. Transformed float batches are made on the fly and never stored.
 */
export class CifarSplit {
  /** `'cifar10'`, or `'synthetic'` for the built-in synthetic set (never CIFAR-10). */
  readonly dataset: string;
  readonly name: 'train' | 'test';
  readonly classNames: readonly string[];
  readonly labels: Uint8Array;
  /** All images, HWC uint8, image i at `[i * 3072, (i + 1) * 3072)`. */
  readonly images: Uint8Array;

  constructor(init: {
    dataset: string;
    name: 'train' | 'test';
    classNames: readonly string[];
    images: Uint8Array;
    labels: Uint8Array;
  }) {
    if (init.images.length !== init.labels.length * IMAGE_BYTES) {
      throw new Error(
        `CifarSplit: ${init.images.length} image bytes for ${init.labels.length} labels, expected ${init.labels.length * IMAGE_BYTES}`,
      );
    }
    this.dataset = init.dataset;
    this.name = init.name;
    this.classNames = init.classNames;
    this.images = init.images;
    this.labels = init.labels;
  }

  get length(): number {
    return this.labels.length;
  }

  /** Image i as a fresh 32×32×3 HWC uint8 array. */
  image(i: number): Uint8Array {
    this.checkIndex(i);
    return this.images.slice(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES);
  }

  /** The first `n` images, or the first `perClass` of each class, as a new split (copied: small). */
  subset(spec: Subset): CifarSplit {
    const picked: number[] = [];
    if (typeof spec === 'number') {
      if (!Number.isInteger(spec) || spec < 0) throw new Error(`subset: expected a count ≥ 0, got ${spec}`);
      for (let i = 0; i < Math.min(spec, this.length); i++) picked.push(i);
    } else {
      const { perClass } = spec;
      if (!Number.isInteger(perClass) || perClass < 0) {
        throw new Error(`subset: expected perClass ≥ 0, got ${perClass}`);
      }
      const seen = new Array<number>(this.classNames.length).fill(0);
      for (let i = 0; i < this.length; i++) {
        const c = this.labels[i]!;
        if (seen[c]! < perClass) {
          seen[c]!++;
          picked.push(i);
        }
      }
    }
    const images = new Uint8Array(picked.length * IMAGE_BYTES);
    const labels = new Uint8Array(picked.length);
    picked.forEach((src, dst) => {
      images.set(this.images.subarray(src * IMAGE_BYTES, (src + 1) * IMAGE_BYTES), dst * IMAGE_BYTES);
      labels[dst] = this.labels[src]!;
    });
    return new CifarSplit({
      dataset: this.dataset,
      name: this.name,
      classNames: this.classNames,
      images,
      labels,
    });
  }

  /** Number of batches `batches(options)` yields. */
  batchCount(options: Pick<BatchOptions, 'batchSize' | 'dropLast'>): number {
    const { batchSize, dropLast = false } = options;
    return dropLast ? Math.floor(this.length / batchSize) : Math.ceil(this.length / batchSize);
  }

  /**
   * One epoch of `{ x, y }` batches, each yours to dispose (see {@link Batch}). The same options (seed, epoch) give
   * the same batches, whatever `prefetch` is.
   */
  async *batches(options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
    const { batchSize, shuffle = false, seed = 0, epoch = 0, transform = [], normalize } = options;
    requirePositiveInteger('batches', 'batchSize', batchSize);
    const count = this.batchCount(options);
    const workers = resolveWorkers(options.workers ?? 'auto', transform, count);
    const prefetch = options.prefetch ?? (workers > 0 ? 2 * workers : 1);
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new Error(`batches: prefetch must be an integer ≥ 0, got ${prefetch}`);
    }
    const order = shuffle ? permutation(this.length, new Rng(seed, epoch, 0x5eed)) : null;
    const pool = workers > 0 ? new BatchPool(workers, workerHost()!) : null;
    /** Batch b's raw images, labels and indices: a copy of 3,072 bytes per image, the main thread's only work. */
    const gather = (b: number) => {
      const start = b * batchSize;
      const n = Math.min(batchSize, this.length - start);
      const indices = new Uint32Array(n);
      const raw = pool ? pool.inputArray(n * IMAGE_BYTES) : new Uint8Array(n * IMAGE_BYTES);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const src = order ? order[start + i]! : start + i;
        indices[i] = src;
        y[i] = this.labels[src]!;
        raw.set(this.images.subarray(src * IMAGE_BYTES, (src + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
      }
      return { n, indices, raw, y };
    };
    const specs = transform.map((t) => t.spec as TransformSpec);
    const later = (b: number): Promise<PreparedBatch> => {
      const { n, indices, raw, y } = gather(b);
      const p = pool
        ? pool
            .run({ id: b, raw, count: n, transforms: specs, normalize, seed, epoch })
            .then((r): PreparedBatch => ({ x: r.x, shape: [n, r.height, r.width, 3], y, indices }))
        : // On the main thread, as a task of its own, so it overlaps whatever the caller awaits.
          new Promise<PreparedBatch>((res, rej) =>
            nextTask(() => {
              try {
                const out = prepareBatch(raw, n, transform, normalize, seed, epoch, b);
                res({ x: out.data, shape: [n, out.height, out.width, 3], y, indices });
              } catch (e) {
                rej(e);
              }
            }),
          );
      // A batch abandoned by an early `break` must not surface as an unhandled rejection.
      p.catch(() => {});
      return p;
    };
    const pending: Promise<PreparedBatch>[] = [];
    let scheduled = 0;
    let backend = '';
    let copies = false;
    try {
      for (let b = 0; b < count; b++) {
        while (scheduled < count && scheduled <= b + prefetch) pending.push(later(scheduled++));
        const ready = await pending.shift()!;
        const x = tf.tensor4d(ready.x, ready.shape, 'float32');
        if (pool) {
          if (tf.getBackend() !== backend) {
            backend = tf.getBackend();
            copies = backendCopiesInput();
          }
          // The backend holds its own copy, so the workers can write a later batch into this one's array.
          if (copies) pool.recycle(ready.x);
        }
        yield { x, y: tf.tensor1d(ready.y, 'int32'), indices: ready.indices };
      }
    } finally {
      pool?.close();
    }
  }

  private checkIndex(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`${this.dataset} ${this.name}: image index ${i} is outside 0..${this.length - 1}`);
    }
  }
}

/**
 * Whether the active backend copies a typed array into its own memory when it makes a tensor of it (wasm does),
 * rather than keeping the array (cpu keeps it for the tensor's life and hands it out from `dataSync()`; webgpu
 * until its first upload): only then may the array be reused at once.
 */
function backendCopiesInput(): boolean {
  const probe = new Float32Array([1]);
  const t = tf.tensor1d(probe);
  probe[0] = 2;
  const copied = t.dataSync()[0] === 1;
  t.dispose();
  return copied;
}

/** The number of workers `batches()` uses: `workers` resolved against the platform and the transforms. */
function resolveWorkers(workers: number | 'auto', transforms: readonly Transform[], batches: number): number {
  const own = transforms.find((t) => t.spec === undefined);
  const host = workerHost();
  if (workers === 'auto') {
    if (!host || own || batches === 0) return 0;
    return Math.min(Math.max(1, host.concurrency - 1), batches);
  }
  if (!Number.isInteger(workers) || workers < 0) {
    throw new Error(`batches: workers must be an integer ≥ 0 or 'auto', got ${workers}`);
  }
  if (workers === 0) return 0;
  if (own) {
    throw new Error(
      `batches: the transform '${own.name}' is your own, so it cannot run in a worker; pass workers: 0 or 'auto' ` +
        '(which then prepares batches on the main thread)',
    );
  }
  if (!host) {
    throw new Error(
      'batches: this platform has no worker threads for the batch pool (in Node, import @skipnet/cifar10 through ' +
        "its Node entry, the default there); pass workers: 0 or 'auto'",
    );
  }
  return Math.min(workers, Math.max(1, batches));
}
