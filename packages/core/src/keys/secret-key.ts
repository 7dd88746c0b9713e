import type { Provider } from './providers.js';

/** Below this length, even four characters are too large a share of the key to show. */
const MIN_LENGTH_FOR_HINT = 12;

/**
 * The only part of a key byokit ever shows: U+2026 (…) then the last four characters, or just `…` for a key
 * shorter than 12 characters (spec/security.md, "Responses carry only a hint (last four characters)").
 * The last characters, not the first: every key of a provider starts alike (LiteLLM#5433).
 */
export function keyHint(key: string): string {
  return key.length < MIN_LENGTH_FOR_HINT ? '…' : `…${key.slice(-4)}`;
}

/**
 * A provider key in memory. The value sits in a private field and leaves only through {@link SecretKey.reveal},
 * so every accidental path prints the redacted form instead: `String(key)`, template strings, `JSON.stringify`,
 * `util.inspect` and `console.log` give `[SecretKey anthropic …Xy9Q]`; `Object.keys`, spreading and
 * `structuredClone` see only the own fields `provider` and `hint` (private fields are not properties, and
 * `structuredClone` copies a class instance as a plain object of its own enumerable properties, so the clone
 * is `{ provider, hint }` with no way back to the value).
 *
 * The constructor does not validate: use `parseProviderKey` for anything a person submitted.
 */
export class SecretKey {
  readonly #value: string;
  /** Whose key this is. */
  readonly provider: Provider;
  /** `…` and the last four characters; safe to return to clients and to log. */
  readonly hint: string;

  /** Wraps an already-checked key (from `parseProviderKey`, storage or configuration). */
  constructor(provider: Provider, value: string) {
    this.#value = value;
    this.provider = provider;
    this.hint = keyHint(value);
    // Frozen so that nobody can swap `provider` and have a key sent to the wrong provider.
    Object.freeze(this);
  }

  /** The key itself. Call it only where the key goes into a provider request header. */
  reveal(): string {
    return this.#value;
  }

  /** The redacted form, e.g. `[SecretKey anthropic …Xy9Q]`. */
  toString(): string {
    return `[SecretKey ${this.provider} ${this.hint}]`;
  }

  /** The redacted form, so that `JSON.stringify` of any object holding a key stays safe. */
  toJSON(): string {
    return this.toString();
  }

  /** The redacted form for Node's `util.inspect` and `console.log` (a registered symbol: no Node import needed). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
