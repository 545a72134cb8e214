import * as tf from '@tensorflow/tfjs-core';

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
