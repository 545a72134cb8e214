/** Throws `<where>: <what> must be a positive integer, got <value>` unless `value` is an integer ≥ 1. */
export function requirePositiveInteger(where: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${where}: ${what} must be a positive integer, got ${value}`);
  }
}
