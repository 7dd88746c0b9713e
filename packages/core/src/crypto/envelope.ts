import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { ByokitError } from '../errors.js';
import type { Keyring } from './keyring.js';

/**
 * Envelope encryption of a provider key (spec/security.md, "Encryption at rest").
 *
 * Binary format, version 1; versioned and self-describing so that rotation and future algorithms need no
 * guessing (lengths in bytes):
 *
 * | offset | size   | field                                                                       |
 * | ------ | ------ | --------------------------------------------------------------------------- |
 * | 0      | 4      | magic `BYOK` (0x42 0x59 0x4f 0x4b)                                          |
 * | 4      | 1      | format version, u8 = 1                                                      |
 * | 5      | 1      | algorithm id, u8 = 1: XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03)       |
 * | 6      | 1      | key-id length n, u8, 1..64                                                  |
 * | 7      | n      | master key id, ASCII `[A-Za-z0-9_.-]`                                       |
 * | 7+n    | 24     | nonce: fresh random bytes for every seal                                    |
 * | 31+n   | c + 16 | ciphertext ‖ Poly1305 tag (RFC 8439 §2.8), c ≥ 1                            |
 *
 * The header is bytes 0 to 7+n. The associated data binds the ciphertext to its place, so a ciphertext copied
 * into another owner's row, the system row or under another provider fails to open:
 *
 *   AAD = header ‖ lp("byokit/provider-key/v1") ‖ lp(ownerType) ‖ lp(ownerId) ‖ lp(provider)
 *
 * where lp(x) = 4-byte big-endian length of UTF-8(x) ‖ UTF-8(x): a canonical, fixed-order encoding like the
 * AWS Encryption SDK's encryption context, never `JSON.stringify`.
 */

/** Where a sealed provider key belongs; bound into the associated data. None of it is secret. */
export interface EnvelopeContext {
  /** Whose key: a user's (`user`) or the system key (`system`), as `KeyOwner.type`. */
  ownerType: 'user' | 'system';
  /** The user's id, or `system` for the system key, as `KeyOwner.id`. */
  ownerId: string;
  /** The provider the key is for, e.g. `anthropic`. */
  provider: string;
}

const MAGIC = Uint8Array.of(0x42, 0x59, 0x4f, 0x4b); // "BYOK"
const FORMAT_VERSION = 1;
const ALGORITHM_XCHACHA20_POLY1305 = 1;
const FIXED_HEADER_LENGTH = MAGIC.length + 3; // magic, version, algorithm, key-id length
const NONCE_LENGTH = 24; // draft-irtf-cfrg-xchacha-03 §2
const TAG_LENGTH = 16; // RFC 8439 §2.8
const MAX_KEY_ID_LENGTH = 64;
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const PURPOSE = 'byokit/provider-key/v1';
/** The smallest well-formed envelope: a 1-character key id and 1 byte of ciphertext. */
const MIN_ENVELOPE_LENGTH = FIXED_HEADER_LENGTH + 1 + NONCE_LENGTH + TAG_LENGTH + 1;

interface ParsedEnvelope {
  header: Uint8Array;
  keyId: string;
  nonce: Uint8Array;
  sealed: Uint8Array;
}

const encoder = new TextEncoder();
// fatal: a stored key that is not valid UTF-8 is an error, not U+FFFD; ignoreBOM: keep a leading BOM as is.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Seals a provider key under the keyring's primary master key with a fresh random 24-byte nonce.
 *
 * @param keyring - The master keys; the primary one seals.
 * @param plaintext - The provider key; non-empty, well-formed UTF-16 (no lone surrogates).
 * @param context - The owner and provider the key belongs to; it must be given again to open it.
 * @returns The envelope bytes, and the id of the master key that sealed it (to mirror in an indexed column).
 * @throws {@link ByokitError} `validation_failed` for an empty or malformed plaintext, `internal_error` for a
 *   malformed context.
 */
export function sealProviderKey(keyring: Keyring, plaintext: string, context: EnvelopeContext): { envelope: Uint8Array; keyId: string } {
  return sealWithNonce(keyring, plaintext, context, randomBytes(NONCE_LENGTH));
}

/**
 * {@link sealProviderKey} with a given nonce, for known-answer tests only: a repeated nonce under one key
 * breaks XChaCha20-Poly1305's confidentiality and integrity.
 *
 * @internal
 */
export function sealWithNonce(
  keyring: Keyring,
  plaintext: string,
  context: EnvelopeContext,
  nonce: Uint8Array,
): { envelope: Uint8Array; keyId: string } {
  if (typeof plaintext !== 'string' || plaintext.length === 0) {
    throw new ByokitError('validation_failed', 'cannot seal an empty provider key');
  }
  if (hasLoneSurrogate(plaintext)) {
    // TextEncoder would silently replace it with U+FFFD, storing a different key than the one given.
    throw new ByokitError('validation_failed', 'cannot seal a provider key with a lone UTF-16 surrogate');
  }
  const contextProblem = describeContextProblem(context);
  if (contextProblem !== undefined) throw new ByokitError('internal_error', `cannot seal: ${contextProblem}`);
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_LENGTH) {
    throw new ByokitError('internal_error', `cannot seal: the nonce must be ${NONCE_LENGTH} bytes`);
  }
  const { id, bytes } = keyring.primaryKey();
  const header = encodeHeader(id);
  const plaintextBytes = encoder.encode(plaintext);
  let sealed: Uint8Array;
  try {
    // A new cipher instance per seal: noble refuses a second encrypt on one instance. No output buffer is
    // passed (noble-ciphers#47, alignment).
    sealed = xchacha20poly1305(bytes, nonce, aadFor(header, context)).encrypt(plaintextBytes);
  } finally {
    // Byte copies of secrets are wiped once used, so none waits on the heap for the collector (a string cannot be).
    bytes.fill(0);
    plaintextBytes.fill(0);
  }
  const envelope = new Uint8Array(header.length + NONCE_LENGTH + sealed.length);
  envelope.set(header, 0);
  envelope.set(nonce, header.length);
  envelope.set(sealed, header.length + NONCE_LENGTH);
  return { envelope, keyId: id };
}

/**
 * Opens an envelope sealed by {@link sealProviderKey}. The envelope is parsed strictly before any decryption,
 * and the master key is chosen by the id in its header (never by trying each key).
 *
 * @param keyring - The master keys; must hold the envelope's key id, not retired.
 * @param envelope - The envelope bytes.
 * @param context - The same owner and provider given when sealing.
 * @returns The provider key.
 * @throws {@link ByokitError} `key_decrypt_failed` naming the key id and the owner and provider, for a
 *   malformed envelope, an unknown or retired key id, or a failed authentication (altered bytes, another
 *   owner's or provider's ciphertext, or a different key under the same id). Never returns a partial result.
 */
export function openProviderKey(keyring: Keyring, envelope: Uint8Array, context: EnvelopeContext): string {
  const where = describeRow(context);
  const contextProblem = describeContextProblem(context);
  if (contextProblem !== undefined) throw new ByokitError('key_decrypt_failed', `${where}: ${contextProblem}`);
  const parsed = parseEnvelope(envelope);
  if (typeof parsed === 'string') throw new ByokitError('key_decrypt_failed', `${where}: ${parsed}`);
  const { header, keyId, nonce, sealed } = parsed;
  let key: Uint8Array;
  try {
    key = keyring.keyFor(keyId);
  } catch (error) {
    const reason = error instanceof Error ? error.message : `master key id '${keyId}' is unavailable`;
    throw new ByokitError('key_decrypt_failed', `${where}: ${reason}`, {}, { cause: error });
  }
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(key, nonce, aadFor(header, context)).decrypt(sealed);
  } catch (error) {
    throw new ByokitError(
      'key_decrypt_failed',
      `${where}: authentication failed under master key id '${keyId}': the envelope was altered, belongs to ` +
        'another owner or provider, or was sealed by a different key under the same id',
      {},
      { cause: error },
    );
  } finally {
    key.fill(0); // byokit's copy of the master key (see sealWithNonce)
  }
  try {
    return decoder.decode(plaintext);
  } catch (error) {
    throw new ByokitError(
      'key_decrypt_failed',
      `${where}: the key opened under master key id '${keyId}' is not valid UTF-8`,
      {},
      { cause: error },
    );
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Whether the keyring's key for an envelope's id authenticates it: the start-up check that a master key's bytes
 * are the ones that sealed the stored keys (the id alone cannot tell). Nothing is returned of the key.
 *
 * @returns `true` when it opens; `false` when authentication fails (another key under the same id, or an altered or
 *   moved envelope); `undefined` when it cannot tell: the envelope is malformed, or its id is unknown or retired.
 * @internal
 */
export function envelopeAuthenticates(keyring: Keyring, envelope: Uint8Array, context: EnvelopeContext): boolean | undefined {
  if (describeContextProblem(context) !== undefined) return undefined;
  const parsed = parseEnvelope(envelope);
  if (typeof parsed === 'string' || !keyring.has(parsed.keyId)) return undefined;
  const key = keyring.keyFor(parsed.keyId);
  try {
    xchacha20poly1305(key, parsed.nonce, aadFor(parsed.header, context)).decrypt(parsed.sealed).fill(0);
    return true;
  } catch {
    return false;
  } finally {
    key.fill(0);
  }
}

/**
 * Reads the id of the master key that sealed an envelope, from its header only (no decryption), e.g. to find
 * rows still on an old key during rotation.
 *
 * @throws {@link ByokitError} `key_decrypt_failed` for a malformed envelope.
 */
export function readEnvelopeKeyId(envelope: Uint8Array): string {
  const parsed = parseEnvelope(envelope);
  if (typeof parsed === 'string') throw new ByokitError('key_decrypt_failed', `cannot read the envelope: ${parsed}`);
  return parsed.keyId;
}

function encodeHeader(keyId: string): Uint8Array {
  const id = encoder.encode(keyId); // ASCII: Keyring ids match KEY_ID_PATTERN.
  const header = new Uint8Array(FIXED_HEADER_LENGTH + id.length);
  header.set(MAGIC, 0);
  header[4] = FORMAT_VERSION;
  header[5] = ALGORITHM_XCHACHA20_POLY1305;
  header[6] = id.length;
  header.set(id, FIXED_HEADER_LENGTH);
  return header;
}

/**
 * Parses strictly, before any decryption: every length is checked, so noble never sees a short input.
 * Returns the parts (copied, so noble gets fresh aligned arrays) or a sentence saying what is wrong.
 */
function parseEnvelope(envelope: Uint8Array): ParsedEnvelope | string {
  if (!(envelope instanceof Uint8Array)) return 'the envelope is not a Uint8Array';
  if (envelope.length < MIN_ENVELOPE_LENGTH) {
    return `the envelope is ${envelope.length} bytes, shorter than the minimum of ${MIN_ENVELOPE_LENGTH}`;
  }
  if (!MAGIC.every((byte, index) => envelope[index] === byte)) return 'the envelope does not start with "BYOK"';
  const version = envelope[4];
  if (version !== FORMAT_VERSION) return `unsupported envelope format version ${version}`;
  const algorithm = envelope[5];
  if (algorithm !== ALGORITHM_XCHACHA20_POLY1305) return `unsupported envelope algorithm id ${algorithm}`;
  const keyIdLength = envelope[6] ?? 0;
  if (keyIdLength < 1 || keyIdLength > MAX_KEY_ID_LENGTH) {
    return `the envelope's key-id length ${keyIdLength} is outside 1..${MAX_KEY_ID_LENGTH}`;
  }
  const headerLength = FIXED_HEADER_LENGTH + keyIdLength;
  if (envelope.length < headerLength + NONCE_LENGTH + TAG_LENGTH + 1) {
    return `the envelope is ${envelope.length} bytes, too short for its header, nonce, ciphertext and tag`;
  }
  const keyIdBytes = envelope.subarray(FIXED_HEADER_LENGTH, headerLength);
  // Checked byte by byte before decoding, so a non-ASCII byte cannot be mapped to a look-alike id.
  if (!keyIdBytes.every((byte) => byte < 0x80)) return "the envelope's key id is not ASCII";
  const keyId = String.fromCharCode(...keyIdBytes);
  if (!KEY_ID_PATTERN.test(keyId)) return "the envelope's key id has characters outside A-Z a-z 0-9 _ . -";
  return {
    header: envelope.slice(0, headerLength),
    keyId,
    nonce: envelope.slice(headerLength, headerLength + NONCE_LENGTH),
    sealed: envelope.slice(headerLength + NONCE_LENGTH),
  };
}

/** The associated data: header ‖ lp(purpose) ‖ lp(ownerType) ‖ lp(ownerId) ‖ lp(provider). */
function aadFor(header: Uint8Array, context: EnvelopeContext): Uint8Array {
  const fields = [PURPOSE, context.ownerType, context.ownerId, context.provider].map((field) => encoder.encode(field));
  const length = header.length + fields.reduce((sum, field) => sum + 4 + field.length, 0);
  const aad = new Uint8Array(length);
  const view = new DataView(aad.buffer);
  aad.set(header, 0);
  let offset = header.length;
  for (const field of fields) {
    view.setUint32(offset, field.length, false); // big-endian
    aad.set(field, offset + 4);
    offset += 4 + field.length;
  }
  return aad;
}

function describeContextProblem(context: EnvelopeContext): string | undefined {
  if (typeof context !== 'object' || context === null) return 'the envelope context is missing';
  const { ownerType, ownerId, provider } = context;
  if (ownerType !== 'user' && ownerType !== 'system') return "the context's ownerType must be 'user' or 'system'";
  if (typeof ownerId !== 'string' || typeof provider !== 'string') {
    return "the context's ownerId and provider must be strings";
  }
  // Lone surrogates all encode to U+FFFD, so two different ids would share one associated data.
  if (hasLoneSurrogate(ownerId) || hasLoneSurrogate(provider)) {
    return "the context's ownerId or provider has a lone UTF-16 surrogate";
  }
  return undefined;
}

/** Names the row in error messages; owner and provider are not secret. */
function describeRow(context: EnvelopeContext): string {
  if (typeof context !== 'object' || context === null) return 'cannot open the provider key';
  return (
    `cannot open the ${JSON.stringify(String(context.provider))} key of ` +
    `${String(context.ownerType)} ${JSON.stringify(String(context.ownerId))}`
  );
}

function hasLoneSurrogate(text: string): boolean {
  // With the u flag a valid surrogate pair is one code point, so \p{Cs} matches only unpaired halves.
  return /\p{Cs}/u.test(text);
}
