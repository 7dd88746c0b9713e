/**
 * A small, strict base64url codec (RFC 4648 §5) over `Uint8Array`, so that the core needs no `Buffer` and
 * runs on any host with a fetch-style runtime.
 *
 * Decisions, made once so that every byte string has exactly one accepted spelling (a master key must not be
 * accepted in two forms, LibreChat#14699):
 * - no `=` padding, on output or input: Node's `toString('base64url')` prints none, and accepting it too
 *   would give one key two spellings;
 * - only `A-Z a-z 0-9 - _`; standard base64 (`+`, `/`) and whitespace are refused, not mapped;
 * - the unused low bits of the last character must be zero (RFC 4648 §3.5), so re-encoding the result gives
 *   back the input exactly.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Character code → 6-bit value, or -1 for a character outside the alphabet. */
const DECODE_TABLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let value = 0; value < ALPHABET.length; value++) table[ALPHABET.charCodeAt(value)] = value;
  return table;
})();

/** The outcome of {@link parseBase64Url}: the bytes, or a sentence saying what is wrong (never echoing input). */
export type Base64UrlParse = { ok: true; bytes: Uint8Array } | { ok: false; problem: string };

/**
 * Encodes bytes as unpadded base64url (RFC 4648 §5).
 *
 * @param bytes - Any bytes.
 * @returns The base64url text, without `=` padding.
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  let text = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text += ALPHABET.charAt((buffer >> bits) & 63);
    }
    buffer &= (1 << bits) - 1;
  }
  // The last 2 or 4 bits are padded with zero bits on the right (RFC 4648 §3.5).
  if (bits > 0) text += ALPHABET.charAt((buffer << (6 - bits)) & 63);
  return text;
}

/**
 * Decodes strict base64url without throwing, for callers that wrap the problem in their own error.
 * The problem text gives positions, never characters of the input, since the input may be a secret.
 *
 * @internal
 */
export function parseBase64Url(text: string): Base64UrlParse {
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let written = 0;
  let buffer = 0;
  let bits = 0;
  for (let position = 0; position < text.length; position++) {
    const code = text.charCodeAt(position);
    const value = code < 128 ? (DECODE_TABLE[code] ?? -1) : -1;
    if (value < 0) return { ok: false, problem: illegalCharacterProblem(code, position) };
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[written++] = (buffer >> bits) & 0xff;
      buffer &= (1 << bits) - 1;
    }
  }
  // Checked after the characters, whose problem is the more useful to report. 4n+1 characters carry 6 bits
  // too many for whole bytes and too few for one more.
  if (text.length % 4 === 1) {
    return { ok: false, problem: `its length (${text.length} characters) cannot be base64url: it may have been cut short` };
  }
  if (buffer !== 0) {
    return {
      ok: false,
      problem: 'its last character has non-zero unused bits, so it is not the canonical encoding of any bytes',
    };
  }
  return { ok: true, bytes };
}

function illegalCharacterProblem(code: number, position: number): string {
  // Name the character class (not the character) for the mistakes people actually make.
  if (code === 0x3d) return `it has '=' padding at position ${position}; remove the trailing '=' (use unpadded base64url)`;
  if (code === 0x2b || code === 0x2f) {
    return `it has a standard base64 character ('+' or '/') at position ${position}; use base64url ('-' and '_')`;
  }
  if (code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d) {
    return `it has whitespace at position ${position}; remove it`;
  }
  return `it has a character outside A-Z a-z 0-9 - _ at position ${position}`;
}
