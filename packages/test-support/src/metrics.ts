// The two error measures skipnet's tests hold results to. They answer different questions, so they have
// different names: one is the fixtures' per-tensor measure, the other bounds the worst element.

function checkLengths(measure: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  if (actual.length !== expected.length) {
    throw new Error(`${measure}: ${actual.length} values against ${expected.length} expected`);
  }
}

/**
 * ‖actual − expected‖₂ / ‖expected‖₂, summed in float64; ‖actual − expected‖₂ when `expected` is all zeros.
 * The measure of shared/fixtures/README.md: the error of a whole tensor against its size, so a few elements that
 * cancel to nearly 0 do not dominate.
 */
export function relativeL2Error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  checkLengths('relativeL2Error', actual, expected);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

/**
 * max |actual − expected| / max |expected|; max |actual − expected| when `expected` is all zeros. The worst
 * element's error against the largest value: stricter than {@link relativeL2Error} where one element is wrong.
 */
export function relativeMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  checkLengths('relativeMaxError', actual, expected);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
