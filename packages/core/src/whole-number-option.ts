/**
 * A whole-number option of the host's, checked at start-up. A typo then fails with the option's name, rather
 * than quietly changing what byokit does: NaN (an unset environment variable read as a number) would make a
 * cached key never expire, a retry loop never end, a timeout never fire.
 *
 * @throws TypeError when `value` is not a whole number from `min` to `max`.
 */
export function wholeNumberOption(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} up` : `from ${min} to ${max}`;
    throw new TypeError(`${name} must be a whole number ${range}, got ${String(value)}`);
  }
  return value;
}
