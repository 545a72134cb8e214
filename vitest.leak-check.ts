import { afterEach, beforeEach, expect } from 'vitest';

/** The part of tfjs-core the check reads (structural: this file sits outside every package). */
interface TensorCounter {
  memory(): { numTensors: number };
}

/**
 * Fails every test of the calling file that leaves tfjs tensors behind: the count after each test must equal
 * the count before it. Call it at the top level of a test file, with that file's tfjs-core.
 */
export function failOnLeakedTensors(tf: TensorCounter): void {
  let before = 0;
  beforeEach(() => {
    before = tf.memory().numTensors;
  });
  afterEach(() => {
    expect(tf.memory().numTensors, 'tensors leaked by the test').toBe(before);
  });
}
