import { describe, expect, it } from 'vitest';
import { relativeL2Error, relativeMaxError } from './metrics.ts';

describe('the two error measures', () => {
  it('relativeL2Error is ‖a − b‖ / ‖b‖ (‖a − b‖ against zeros)', () => {
    expect(relativeL2Error([3, 4.5], [3, 4])).toBeCloseTo(0.1, 15); // 0.5 / 5
    expect(relativeL2Error([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(relativeL2Error([3, 4], [0, 0])).toBe(5);
  });

  it('relativeMaxError is max |a − b| / max |b| (max |a − b| against zeros)', () => {
    expect(relativeMaxError([1.5, -10], [1, -10])).toBeCloseTo(0.05, 15); // 0.5 / 10
    expect(relativeMaxError([3, 4], [0, 0])).toBe(4);
  });

  it('differ where one small element is wrong: the reason they have two names', () => {
    const expected = [100, 1];
    const actual = [100, 2];
    expect(relativeL2Error(actual, expected)).toBeCloseTo(1 / Math.sqrt(10001), 12);
    expect(relativeMaxError(actual, expected)).toBeCloseTo(0.01, 12);
  });

  it('refuse arrays of different lengths, naming the measure', () => {
    expect(() => relativeL2Error([1], [1, 2])).toThrow('relativeL2Error: 1 values against 2 expected');
    expect(() => relativeMaxError([1, 2], [1])).toThrow('relativeMaxError: 2 values against 1 expected');
  });
});
