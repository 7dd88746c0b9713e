import { randomBytes } from '@noble/ciphers/utils.js';
import { ByokitError } from '../errors.js';
import { encodeBase64Url, parseBase64Url } from './base64url.js';

/**
 * Master keys (spec/security.md, "Encryption at rest"): several keys, each with an id, the first one primary
 * for encryption; decryption picks the key by the id written in the envelope, never by trying each key (as
 * Google Tink's key-id prefix does). A retired id is refused, like Vault transit's `min_decryption_version`.
 * Every check fails closed at start-up with a message that says what to fix, and no message, `toString`,
 * `toJSON` or `util.inspect` ever carries key bytes.
 */

/** A master key and its id, as used inside the crypto module. Not exported from the package. */
export interface MasterKey {
  readonly id: string;
  readonly bytes: Uint8Array;
}

/** Options shared by {@link Keyring.from} and {@link parseKeyring}. */
export interface KeyringOptions {
  /**
   * Ids whose envelopes must no longer be opened (rotation finished). They may name keys no longer held, so
   * that leftover envelopes get the clearer "retired" error; the primary cannot be retired.
   */
  retired?: string[] | undefined;
}

/** Master key ids: short, printable, safe to log and to store in an indexed column. */
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** 256-bit keys, as XChaCha20-Poly1305 takes (draft-irtf-cfrg-xchacha-03 §2). */
const MASTER_KEY_LENGTH = 32;
const DEFAULT_VARIABLE = 'BYOKIT_KEYRING';

/**
 * The master keys byokit seals and opens provider keys with. Build one with {@link Keyring.from},
 * {@link parseKeyring} or {@link keyringFromEnv}; every constructor validates and fails closed.
 */
export class Keyring {
  /** The id of the key every new envelope is sealed with (the first key given). */
  readonly primaryId: string;
  readonly #keys: ReadonlyMap<string, Uint8Array>;
  readonly #retired: ReadonlySet<string>;

  private constructor(keys: ReadonlyMap<string, Uint8Array>, primaryId: string, retired: ReadonlySet<string>) {
    this.#keys = keys;
    this.primaryId = primaryId;
    this.#retired = retired;
  }

  /**
   * Validates master keys and builds a keyring; the first key is the primary.
   *
   * @param keys - Each key's id (matching `/^[A-Za-z0-9_.-]{1,64}$/`) and its 32 random bytes.
   * @param options - `retired`: ids refused for decryption.
   * @throws {@link ByokitError} `keyring_invalid` saying what to fix: empty keyring, bad or duplicate id,
   *   a key that is not exactly 32 bytes, or a low-entropy key (all bytes equal, fewer than 16 distinct
   *   byte values, all printable ASCII or well-formed UTF-8 text without control characters, i.e. a password or
   *   text rather than random bytes, or bytes counting by a fixed step, as the test vectors' 00 01 02 … 1f).
   */
  static from(keys: Array<{ id: string; key: Uint8Array }>, options: KeyringOptions = {}): Keyring {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw keyringError(`the keyring is empty: add at least one master key. ${generateHint('k1')}`);
    }
    const map = new Map<string, Uint8Array>();
    keys.forEach(({ id, key }, index) => {
      const idProblem = keyIdProblem(id);
      if (idProblem !== undefined) throw keyringError(`master key #${index + 1}: ${idProblem}`);
      if (map.has(id)) throw keyringError(`master key id '${id}' appears twice: give each key its own id`);
      if (!(key instanceof Uint8Array)) throw keyringError(`master key '${id}' must be a Uint8Array of 32 bytes`);
      const problem = keyBytesProblem(key);
      if (problem !== undefined) throw keyringError(`master key '${id}' ${problem}. ${generateHint(id)}`);
      // A private copy: the caller may wipe or reuse its array.
      map.set(id, new Uint8Array(key));
    });
    const primaryId = keys[0]!.id;
    return new Keyring(map, primaryId, retiredSet(options.retired ?? [], primaryId));
  }

  /** Ids of all keys held, primary first. */
  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  /** Ids refused for decryption. */
  get retiredIds(): string[] {
    return [...this.#retired];
  }

  /**
   * True if an envelope sealed under `id` can be opened: the key is held and not retired. Use it at start-up
   * to refuse to run when the database holds a key id this keyring cannot open.
   */
  has(id: string): boolean {
    return this.#keys.has(id) && !this.#retired.has(id);
  }

  /**
   * The key bytes for `id` (a copy), for opening an envelope.
   *
   * @throws {@link ByokitError} `key_decrypt_failed` for an unknown or retired id.
   * @internal
   */
  keyFor(id: string): Uint8Array {
    if (this.#retired.has(id)) {
      throw new ByokitError(
        'key_decrypt_failed',
        `master key id '${id}' is retired: re-encrypt its rows under the primary key, or remove it from the retired list`,
      );
    }
    const key = this.#keys.get(id);
    if (key === undefined) {
      throw new ByokitError('key_decrypt_failed', `unknown master key id '${id}': add it to ${DEFAULT_VARIABLE}`);
    }
    return new Uint8Array(key);
  }

  /**
   * The primary key (a copy of its bytes), for sealing.
   *
   * @internal
   */
  primaryKey(): MasterKey {
    return { id: this.primaryId, bytes: this.keyFor(this.primaryId) };
  }

  /** Ids only; never key bytes. */
  toJSON(): { primaryId: string; ids: string[]; retiredIds: string[] } {
    return { primaryId: this.primaryId, ids: this.ids, retiredIds: this.retiredIds };
  }

  /** Ids only; never key bytes. */
  toString(): string {
    const retired = this.#retired.size > 0 ? `, retired: ${this.retiredIds.join(', ')}` : '';
    return `Keyring(primary: ${this.primaryId}, ids: ${this.ids.join(', ')}${retired})`;
  }

  /** What `util.inspect` and `console.log` print: ids only. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** An entry that starts or ends with a quote mark. */
const QUOTED = /^["'`]|["'`]$/;

/**
 * The longest id a refusal of its entry's key quotes back (k1, 2026-12, prod-2026-12-07): a longer one may be a key
 * written first, and its entry is named by its place.
 */
const QUOTED_ID_LENGTH = 16;

/** A master key's 32 bytes in base64url (43 characters), standing alone: never an environment variable's name. */
const STANDALONE_KEY = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/;

/** Whether `text` is a master key as a keyring writes it: 32 bytes in base64url (where an id goes, it is never quoted). */
function isMasterKeyText(text: string): boolean {
  const decoded = parseBase64Url(text);
  return decoded.ok && decoded.bytes.length === MASTER_KEY_LENGTH;
}

/** A master key's 32 bytes written in hex. */
const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * Parses a keyring from text: `id:base64url,id2:base64url`, comma-separated, whitespace around each entry
 * trimmed, first entry primary. Keys are base64url (RFC 4648 §5) of exactly 32 bytes, in its one spelling: no `=`
 * padding, no `+` or `/`, the last character's unused bits zero.
 *
 * @param text - The keyring text, e.g. the value of `BYOKIT_KEYRING`.
 * @param options - `retired`: ids refused for decryption.
 * @throws {@link ByokitError} `keyring_invalid` saying which entry is wrong and how to fix it, never echoing
 *   key material (entries are named by position and id).
 */
export function parseKeyring(text: string, options: KeyringOptions = {}): Keyring {
  if (typeof text !== 'string' || text.trim() === '') {
    throw keyringError(`the keyring is empty: add at least one master key. ${generateHint('k1')}`);
  }
  const entries = text.split(',').map((entry) => entry.trim());
  const keys = entries.map((entry, index) => {
    const where = `keyring entry #${index + 1}`;
    if (entry === '') throw keyringError(`${where} is empty: remove the stray comma`);
    // `docker run --env-file` keeps a value's quotes: read as part of the id and the key, they were refused as
    // "the key id must be … (got 3 characters)" for `k1`, which named nothing to remove.
    if (QUOTED.test(entry)) throw keyringError(`${where} is in quotes: remove them, they are not part of the keyring`);
    // A file written a key a line: "whitespace …; remove it" would join two keys in one.
    if (/[\r\n]/.test(entry)) {
      throw keyringError(
        `${where} runs over a line break: write the keyring on one line, its entries separated by commas (id:base64url,id2:base64url)`,
      );
    }
    const colon = entry.indexOf(':');
    if (colon < 0) throw keyringError(`${where} has no ':': write each entry as id:base64url`);
    const id = entry.slice(0, colon);
    const encoded = entry.slice(colon + 1);
    const idProblem = keyIdProblem(id);
    if (idProblem !== undefined) throw keyringError(`${where}: ${idProblem}`);
    // A key written first (`<key>:k1`) makes a valid id of the key: never quote it back. In hex too, unless a key
    // follows (then the 64 hex digits are an id, a fingerprint perhaps).
    const decoded = parseBase64Url(encoded);
    const keyFollows = decoded.ok && decoded.bytes.length === MASTER_KEY_LENGTH;
    if (isMasterKeyText(id) || (HEX_KEY.test(id) && !keyFollows)) {
      throw keyringError(`${where} has a master key before the ':': write it as id:base64url, the id first`);
    }
    // A longer id may be a key all the same (cut short, or not 32 bytes): the refusal of its key names the entry.
    const quoted = id.length <= QUOTED_ID_LENGTH;
    const named = quoted ? `master key '${id}'` : `${where}'s master key`;
    const hint = generateHint(quoted ? id : 'k1');
    if (!decoded.ok) throw keyringError(`${named} is not valid base64url: ${decoded.problem}. ${hint}`);
    if (decoded.bytes.length !== MASTER_KEY_LENGTH && HEX_KEY.test(encoded)) {
      throw keyringError(`${named} looks like hex: encode the 32 bytes as base64url instead. ${hint}`);
    }
    // Keyring.from's refusal, named as above.
    const problem = keyBytesProblem(decoded.bytes);
    if (problem !== undefined) throw keyringError(`${named} ${problem}. ${hint}`);
    return { id, key: decoded.bytes };
  });
  return Keyring.from(keys, options);
}

/**
 * Reads the keyring from the environment: `BYOKIT_KEYRING` (see {@link parseKeyring}) and the optional
 * `BYOKIT_KEYRING_RETIRED`, comma-separated retired ids. With another `variable`, the retired list is read
 * from `${variable}_RETIRED`.
 *
 * @param env - The environment; `process.env` by default (on hosts that have one).
 * @param variable - The variable holding the keyring.
 * @throws {@link ByokitError} `keyring_invalid` when the variable is missing or empty (with the command that
 *   generates a key) or invalid.
 */
export function keyringFromEnv(
  env: Readonly<Record<string, string | undefined>> = defaultEnv(),
  variable: string = DEFAULT_VARIABLE,
): Keyring {
  // The keyring where its variable's name goes (process.env.MY_KEYRING for 'MY_KEYRING'): "… is not set" named it.
  if (typeof variable === 'string' && (variable.includes(':') || STANDALONE_KEY.test(variable))) {
    throw keyringError(
      `the variable keyringFromEnv reads must be the name of an environment variable (${DEFAULT_VARIABLE}), not its value`,
    );
  }
  const text = env[variable];
  if (text === undefined || text.trim() === '') {
    throw keyringError(`${variable} is not set. ${generateHint('k1')} and set ${variable} to it`);
  }
  const retiredText = env[`${variable}_RETIRED`];
  const retired = retiredText === undefined || retiredText.trim() === '' ? [] : retiredText.split(',').map((id) => id.trim());
  return parseKeyring(text, { retired });
}

/**
 * Generates a keyring entry `id:<base64url of 32 random bytes>`, ready to put in `BYOKIT_KEYRING`.
 *
 * @param id - The key id; `k1` by default.
 * @throws {@link ByokitError} `keyring_invalid` for an id not matching `/^[A-Za-z0-9_.-]{1,64}$/`.
 */
export function generateKeyringEntry(id = 'k1'): string {
  const problem = keyIdProblem(id);
  if (problem !== undefined) throw keyringError(problem);
  // Random bytes fail the low-entropy checks with probability about 1e-14; draw again rather than ever
  // hand out a key that Keyring.from would refuse.
  let key = randomBytes(MASTER_KEY_LENGTH);
  while (keyBytesProblem(key) !== undefined) key = randomBytes(MASTER_KEY_LENGTH);
  return `${id}:${encodeBase64Url(key)}`;
}

/**
 * Where the keyring comes from. Implement it to unwrap the keyring from a KMS or Vault at start-up;
 * {@link envKeyProvider} reads it from the environment.
 */
export interface KeyProvider {
  /** Loads and validates the keyring; rejects with `keyring_invalid` rather than returning a partial one. */
  loadKeyring(): Promise<Keyring>;
}

/**
 * A {@link KeyProvider} reading `BYOKIT_KEYRING` and `BYOKIT_KEYRING_RETIRED` when `loadKeyring` is called.
 *
 * @param env - The environment; `process.env` by default.
 */
export function envKeyProvider(env?: Readonly<Record<string, string | undefined>>): KeyProvider {
  return {
    loadKeyring: async () => keyringFromEnv(env ?? defaultEnv()),
  };
}

/**
 * A refusal of the keyring, as a sentence (a capital first, a period last), as byokit's other start-up refusals of a
 * keyring are: an operator reads them together, and the example host adds its own sentences after one.
 */
function keyringError(message: string): ByokitError {
  const sentence = `${message.charAt(0).toUpperCase()}${message.slice(1)}`;
  return new ByokitError('keyring_invalid', sentence.endsWith('.') ? sentence : `${sentence}.`);
}

/** The command, apart from the words around it: copied with the period after it, it was a SyntaxError. */
function generateHint(id: string): string {
  return `Generate a key with node -e "console.log('${id}:'+require('crypto').randomBytes(32).toString('base64url'))" (it prints the whole entry, id and key)`;
}

/** Why `id` is not a valid key id, without echoing it (it may be a key pasted in the wrong place). */
function keyIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'the key id must be a string';
  if (!KEY_ID_PATTERN.test(id)) {
    return `the key id must be 1 to 64 characters of A-Z a-z 0-9 _ . - (got ${id.length} characters)`;
  }
  return undefined;
}

/** Why `bytes` cannot be a master key, or undefined. Never includes the bytes. */
function keyBytesProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length !== MASTER_KEY_LENGTH) {
    return `is ${bytes.length} bytes: a master key must be exactly ${MASTER_KEY_LENGTH} random bytes`;
  }
  const distinct = new Set(bytes).size;
  if (distinct === 1) return 'has all bytes equal (e.g. all zero): it is a placeholder, not a random key';
  // A key made of printable ASCII is a password or a phrase typed as the key: refuse it rather than run on a
  // guessable key (LibreChat ships a well-known default CREDS_KEY).
  if (bytes.every((byte) => byte >= 0x20 && byte <= 0x7e)) {
    return 'is all printable ASCII: it looks like a password or text, not 32 random bytes';
  }
  // Not all ASCII, yet text all the same: a passphrase with accented letters (random bytes are valid UTF-8 without
  // control characters with a chance of about 1e-11).
  if (isText(bytes)) return 'decodes as UTF-8 text: it looks like a password or text, not 32 random bytes';
  if (distinct < 16) return `has only ${distinct} distinct byte values: it is not random`;
  // 00 01 02 … 1f and 80 81 … 9f are the keys of RFC 8439's and the XChaCha20 draft's test vectors: 32 distinct
  // values, and known to everyone (random bytes count by one step with a chance of 256^-30).
  const step = (bytes[1]! - bytes[0]!) & 0xff;
  if (bytes.every((byte, index) => index === 0 || ((byte - bytes[index - 1]!) & 0xff) === step)) {
    return 'counts by a fixed step (as 00 01 02 … does, the key of published test vectors): it is not random';
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True for bytes that are well-formed UTF-8 text without control characters. */
function isText(bytes: Uint8Array): boolean {
  try {
    return !/\p{Cc}/u.test(strictUtf8.decode(bytes));
  } catch {
    return false;
  }
}

function retiredSet(retired: string[], primaryId: string): ReadonlySet<string> {
  const set = new Set<string>();
  for (const [index, id] of retired.entries()) {
    const problem = keyIdProblem(id);
    if (problem !== undefined) throw keyringError(`retired id #${index + 1}: ${problem}`);
    // The old key where its id goes: taken as an id, it was printed wherever the keyring's ids are (toString, toJSON).
    if (isMasterKeyText(id)) {
      throw keyringError(`retired id #${index + 1} is a master key, not its id: list the ids of the retired keys (k1), never the keys`);
    }
    if (id === primaryId) {
      throw keyringError(`the primary key '${id}' cannot be retired: put another key first in the keyring`);
    }
    set.add(id);
  }
  return set;
}

function defaultEnv(): Readonly<Record<string, string | undefined>> {
  // Read lazily and defensively: the core also runs on hosts without `process`.
  return globalThis.process?.env ?? {};
}
