// In its own file (its own process): tfjs-backend-cpu prints its banner once per process, on the cpu backend's
// first tensor, and another test file may have made that tensor already.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it, vi } from 'vitest';
import { selectBackend } from './index.node.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

it("cpu in Node: tfjs-backend-cpu's banner is held back, other warnings are not", async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  const choice = await selectBackend('cpu');
  expect(choice.tfjsBackend).toBe('cpu');
  tf.tidy(() => tf.add(tf.scalar(1), tf.ones([2, 2])).dataSync());
  const said = warn.mock.calls.map((args) => args.map(String).join(' '));
  expect(said.filter((line) => line.includes('looks like you are running TensorFlow.js'))).toEqual([]);
  // console.warn is console.warn again: a warning after the choice still reaches it.
  console.warn('a warning of the caller');
  expect(said.length + 1).toBe(warn.mock.calls.length);
  expect(warn.mock.calls.at(-1)).toEqual(['a warning of the caller']);
});
