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
 * Every name in one of the host's settings objects is one byokit reads: another (a typo, or a setting of another
 * mount) was ignored without a word. A name that differs only in case is pointed to.
 *
 * @throws TypeError naming the first name byokit does not read, and the names it does.
 */
export function assertSettingNames(
  option: string,
  settings: object | undefined,
  names: readonly string[],
  { advice = '', noun = 'setting' }: { advice?: string; noun?: string } = {},
): void {
  const unknown = unknownSetting(settings, names);
  if (unknown !== undefined) throw new TypeError(`${option} has no ${noun} ${unknown}: it takes ${names.join(', ')}${advice}`);
}

/** The shape of settings that are all optional, for a refusal's message: `{ batchSize?, signal?, onProgress? }`. */
export function optionalSettingsShape(names: readonly string[]): string {
  return `{ ${names.map((name) => `${name}?`).join(', ')} }`;
}

/** The first name in `settings` that is not one of `names`, with the one meant when they differ only in case. */
export function unknownSetting(settings: object | undefined, names: readonly string[]): string | undefined {
  const unknown = settings && Object.keys(settings).find((name) => !names.includes(name));
  if (unknown === undefined) return undefined;
  const meant = names.find((name) => name.toLowerCase() === unknown.toLowerCase());
  return meant === undefined ? unknown : `${unknown} (did you mean ${meant}?)`;
}

/**
 * What a host passed, in a few words, for an option's error message: never the value itself, which may hold a
 * secret (a gateway's token in a provider's `headers`). An object of another kind by that kind (`a Map`, `a URL`).
 */
export function kindOfOption(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return isSettingsObject(value) ? 'an object' : withArticle(kindOf(value));
  return withArticle(typeof value);
}

/** `a Map`, `an AbortController`, `an object of another kind`; `a URL`, `a Uint8Array` (said "you"). */
const withArticle = (noun: string) => `${/^[aeio]/i.test(noun) ? 'an' : 'a'} ${noun}`;

/**
 * An object whose own properties are the settings, as byokit reads them: an object literal, one made with
 * `Object.create(null)`, or an instance of a host's own configuration class (NestJS's class-transformer makes
 * those). Not an array, whose items would read as settings named 0, 1, 2…, nor an object of another kind (a Map,
 * Headers, a URL), whose contents reading its own properties would lose without a word.
 */
export function isSettingsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && kindOf(value) === 'Object';
}

/** An object's kind as `Object.prototype.toString` names it: `Object` for a literal or a class instance, `Map`, `URL`… */
function kindOf(value: object): string {
  const kind = Object.prototype.toString.call(value).slice(8, -1);
  return /^[A-Za-z]\w*$/.test(kind) ? kind : 'object of another kind';
}

/** An AbortSignal, known by its shape: a host's may come from another realm or a polyfill (abort-controller). */
export function isAbortSignal(value: unknown): value is AbortSignal {
  const candidate = value as Partial<AbortSignal> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.aborted === 'boolean' &&
    typeof candidate.addEventListener === 'function' &&
    typeof candidate.removeEventListener === 'function'
  );
}

/** What a host passed for a signal, for its error message: an AbortController (the usual slip) told to pass its signal. */
export function kindOfSignal(value: unknown): string {
  const controller = typeof value === 'object' && value !== null && isAbortSignal((value as { signal?: unknown }).signal);
  return controller ? 'an AbortController: pass its signal' : kindOfOption(value);
}
