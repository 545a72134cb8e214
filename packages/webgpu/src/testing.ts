import { setupWebGPU } from './setup.node.ts';
import type { WebGPUInfo } from './setup.ts';

/**
 * For test files: the WebGPU adapter of this machine, or why there is none. CI installs Mesa's software driver
 * and sets CI=true, and then a missing adapter is an error rather than a skip.
 */
export async function webgpuForTests(): Promise<{ info?: WebGPUInfo; skipReason?: string }> {
  try {
    return { info: await setupWebGPU({ allowSoftware: true }) };
  } catch (error) {
    if (process.env['CI'] === 'true') throw error;
    return { skipReason: `no WebGPU adapter here (${(error as Error).message.split('\n')[0]})` };
  }
}

/** max |a − b| / max |b|: one number to hold against a tolerance. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / (scale || 1);
}
