import * as tf from '@tensorflow/tfjs-core';

/** The slice of tfjs-backend-webgpu's backend that records one compute dispatch (structural, no import). */
interface Recorder {
  recordAndSubmit(...args: unknown[]): unknown;
}

/**
 * Runs `f` on the active 'webgpu' backend and counts the compute passes it dispatches to the GPU. `tf.profile`
 * counts kernel calls instead, which differ: Reshape and Identity dispatch nothing, and a composite kernel (ours
 * build the filter gradient from several) dispatches more than once. For benchmarks and tests, one call at a time.
 */
export async function countDispatches<T>(
  f: () => T | Promise<T>,
): Promise<{ result: T; dispatches: number }> {
  if (tf.getBackend() !== 'webgpu') {
    throw new Error(
      `countDispatches counts on the 'webgpu' backend; the active one is '${tf.getBackend()}'.`,
    );
  }
  const backend = tf.backend() as unknown as Recorder;
  const record = backend.recordAndSubmit;
  const own = Object.hasOwn(backend, 'recordAndSubmit');
  let dispatches = 0;
  backend.recordAndSubmit = function (this: Recorder, ...args: unknown[]) {
    dispatches++;
    return record.apply(this, args);
  };
  try {
    return { result: await f(), dispatches };
  } finally {
    if (own) backend.recordAndSubmit = record;
    else delete (backend as Partial<Recorder>).recordAndSubmit;
  }
}
