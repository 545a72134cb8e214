import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { type KernelBuild, kernelBuild, setKernelBuild } from './wasm-module.ts';

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

/** A convolution's padding as tfjs takes it. */
export type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

/** Every form of padding: 'same', 'valid', one number, and explicit, unequal per side. */
export const pads: fc.Arbitrary<Pad> = fc.oneof(
  fc.constant<Pad>('same'),
  fc.constant<Pad>('valid'),
  fc.integer({ min: 0, max: 3 }),
  fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)).map(
    ([t, b, l, r]): Pad => [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ],
  ),
);

/** The builds of our kernels with SIMD that this runtime validates (relaxed SIMD from V8 12, Node 22+). */
export function availableKernelBuilds(): KernelBuild[] {
  return (['relaxed-simd', 'simd'] as const).filter((build) => {
    const previous = kernelBuild();
    try {
      setKernelBuild(build);
      return true;
    } catch {
      return false;
    } finally {
      setKernelBuild(previous);
    }
  });
}
