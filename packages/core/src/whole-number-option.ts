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
    // A number is shown as it is (NaN, -1, 1.5); anything else by its kind: a string '1000' shown as 1000 read as in range.
    throw new TypeError(`${name} must be a whole number ${range}, got ${typeof value === 'number' ? String(value) : kindOfOption(value)}`);
  }
  return value;
}

/**
 * What a host passed, in a few words, for an option's error message: never the value itself, which may hold a
 * secret (a gateway's token in a provider's `headers`).
 */
export function kindOfOption(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return isPlainObject(value) ? 'an object' : 'an object that is not a plain one';
  return `a ${typeof value}`;
}

/** An object literal (or one made with `Object.create(null)`), as opposed to a class instance, an array or a Map. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
