import * as tf from '@tensorflow/tfjs-core';

/** ‖a − b‖ / ‖b‖, the project's tolerance measure. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += ((a[i] as number) - (b[i] as number)) ** 2;
    norm += (b[i] as number) ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

export function randomValues(length: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([length], -1, 1, 'float32', seed).dataSync() as Float32Array);
}

/**
 * Runs `compute` on cpu (the reference) and then on wasm, and returns both results as arrays;
 * also checks the wasm run leaves no tensor behind.
 */
export async function onCpuAndWasm<T>(compute: () => T): Promise<{ cpu: T; wasm: T; leaked: number }> {
  await tf.setBackend('cpu');
  const cpu = compute();
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const wasm = compute();
  return { cpu, wasm, leaked: tf.memory().numTensors - before };
}
