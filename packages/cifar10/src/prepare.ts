/**
 * Preparing one batch from its raw images: the same function on the main thread and in the worker pool, so both
 * give the same bytes for the same seed, epoch and batch.
 */
import { IMAGE_SIZE } from './format.ts';
import { Rng } from './random.ts';
import { type Normalize, type Transform, type TransformSpec, transformToFloat } from './transforms.ts';

/**
 * Transforms and normalises a batch's raw uint8 HWC images, augmentation drawn from `(seed, epoch, batch)`; the
 * floats go into `into` when it is large enough.
 */
export function prepareBatch(
  raw: Uint8Array,
  count: number,
  transforms: readonly Transform[],
  normalize: Normalize | undefined,
  seed: number,
  epoch: number,
  batch: number,
  into?: ArrayBuffer,
): { data: Float32Array; height: number; width: number } {
  const rng = new Rng(seed, epoch, batch, 0xa06);
  return transformToFloat(
    { data: raw, count, height: IMAGE_SIZE, width: IMAGE_SIZE },
    transforms,
    normalize,
    () => rng.next(),
    into,
  );
}

/** What the main thread sends a worker: one batch's raw images and how to prepare them. */
export interface BatchJob {
  /** The batch's index within the epoch (also its random stream). */
  id: number;
  raw: Uint8Array;
  count: number;
  transforms: TransformSpec[];
  normalize: Normalize | undefined;
  seed: number;
  epoch: number;
  /** A buffer of an earlier batch to write the floats into (transferred; the backend has copied its data), or null. */
  into: ArrayBuffer | null;
}

/**
 * What a worker sends back: the prepared floats and the job's `raw` (transferred back, for the next batch's raw
 * images), or the error that preparing them threw.
 */
export type BatchReply =
  | { id: number; x: Float32Array; height: number; width: number; raw: Uint8Array }
  | { id: number; error: string };
