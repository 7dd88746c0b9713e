import { encodeBase64Url } from '../crypto/base64url.js';

const REDACTED = '[redacted]';
const utf8 = new TextEncoder();

// Where a key starts: not inside a word, so that `task-list` stays, but also right after a percent-escape such
// as `%3D` or `%20`, whose last character is a letter or digit (`?x-api-key%3Dsk-…` in an echoed URL).
const KEY_START = String.raw`(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))`;

/**
 * What looks like a key in free text, in the order applied. Masked echoes go first so that a partly masked
 * key is removed whole rather than leaving its masked tail. The lookbehinds let each run of key characters be
 * scanned from its start only, and the patterns without one start with a literal prefix, so that every pattern
 * runs in linear time on hostile text.
 */
const KEY_PATTERNS: readonly RegExp[] = [
  // A provider's masked echo of a key, e.g. "Incorrect API key provided: sk-proj-****abcd".
  new RegExp(
    String.raw`(?:(?<![A-Za-z0-9_-])|(?<=%[0-9A-Fa-f]{2}))(?:sk-|AIza)[A-Za-z0-9_-]*(?:[*•…]|\.{2,})(?:[A-Za-z0-9_*•…-]|\.{2,})*`,
    'g',
  ),
  // Anthropic's and Google's formats are distinctive enough to be found glued to other text (`key1sk-ant-api03-…`).
  /sk-ant-[a-z]{3,5}\d\d-[A-Za-z0-9_-]{8,}/g,
  /AIza[0-9A-Za-z_-]{30,}/g,
  new RegExp(String.raw`${KEY_START}sk-ant-[A-Za-z0-9_-]{8,}`, 'g'),
  new RegExp(String.raw`${KEY_START}sk-[A-Za-z0-9_-]{16,}`, 'g'),
  new RegExp(String.raw`${KEY_START}AIza[0-9A-Za-z_-]{16,}`, 'g'),
];

// A label's separator, plain or percent-encoded: `: `, `=`, `%3A%20`, `%3D`.
const SEPARATOR = String.raw`(?:\s|%20)*(?:[:=]|%3[AaDd])(?:\s|%20)*`;

/** Credentials after a label: `Bearer x`, `x-api-key: x`, `"api_key": "x"`, `?key=x`, percent-encoded too. The label is kept. */
const LABELLED_PATTERNS: readonly RegExp[] = [
  /(?<![A-Za-z])(Bearer(?:\s|%20|\+)+)[A-Za-z0-9._~+/=-]+/gi,
  new RegExp(String.raw`((?:x-goog-api-key|x-api-key|api[_-]?key|(?:[?&]|%3[Ff]|%26)key)["']?${SEPARATOR}["']?)[^\s"'&,;]+`, 'gi'),
];

/** base64("OpenAI"): inside every OpenAI key (gitleaks); built at run time so no source line looks like a key. */
const OPENAI_MARKER = btoa('OpenAI');

/** A letter, digit, `-` or `_`: what every provider's key is made of. */
export function isKeyCharacter(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x2d || code === 0x5f
  );
}

/** Removes any run of key characters around the OpenAI marker, even when the `sk-` prefix was cut off. */
function scrubOpenAiMarker(text: string): string {
  let result = '';
  let from = 0;
  for (let at = text.indexOf(OPENAI_MARKER); at >= 0; at = text.indexOf(OPENAI_MARKER, from)) {
    let start = at;
    while (start > from && isKeyCharacter(text.charCodeAt(start - 1))) start--;
    let end = at + OPENAI_MARKER.length;
    while (end < text.length && isKeyCharacter(text.charCodeAt(end))) end++;
    result += text.slice(from, start) + REDACTED;
    from = end;
  }
  return result + text.slice(from);
}

/**
 * Replaces anything in `text` that looks like a provider key with `[redacted]`: the provider formats, the loose
 * prefixes `sk-ant-`, `sk-` and `AIza` followed by key characters, masked echoes such as `sk-proj-****abcd`,
 * and the value of `Bearer`, `x-api-key`, `x-goog-api-key`, `api_key` and `?key=` (label kept). For upstream
 * error text and log lines, since providers echo partial keys in 401 messages (spec/security.md, "Secrets
 * never leave"). Runs in linear time, so it is safe on large hostile text.
 */
export function scrubSecrets(text: string): string {
  let result = scrubOpenAiMarker(text);
  for (const pattern of KEY_PATTERNS) result = result.replace(pattern, REDACTED);
  for (const pattern of LABELLED_PATTERNS) result = result.replace(pattern, `$1${REDACTED}`);
  return result;
}

/** True when `text` holds something {@link scrubSecrets} would redact: a key, or a piece of one, in the wrong place. */
export function holdsSecret(text: string): boolean {
  return scrubSecrets(text) !== text;
}

/** The shortest piece of a key that counts as the key (spec/security.md's canary rule: any 8 characters of it). */
const KEY_PIECE = 8;

/**
 * Replaces every run of `text` made of pieces of `secret` (8 characters or more, overlapping) with
 * `[redacted]`: the one key a call was made with, wherever and however cut an upstream echoed it, which the
 * shapes {@link scrubSecrets} knows may miss (its prefix cut off, glued to other text, split by a space), and
 * in base64 or base64url (a gateway quoting the credential it was sent encoded, which no pattern knows).
 * Linear in the text's length.
 */
export function scrubKnownSecret(text: string, secret: string): string {
  return text.length < KEY_PIECE ? text : knownSecretScrubber(secret)(text);
}

/**
 * {@link scrubKnownSecret} for one secret and many texts (an error's message, stack and fields): the secret's pieces
 * are found once.
 */
export function knownSecretScrubber(secret: string): (text: string) => string {
  if (secret.length < KEY_PIECE) return (text) => text;
  const pieces = new Set<string>();
  const addPieces = (of: string) => {
    for (let at = 0; at + KEY_PIECE <= of.length; at++) pieces.add(of.slice(at, at + KEY_PIECE));
  };
  addPieces(secret);
  // base64 aligns on 3-byte groups, so the key's encoding inside a longer text is that of the key from one of its first
  // three characters on, but for the group it ends in (mixed with what follows it): each of the three, without it.
  for (let shift = 0; shift < 3; shift++) {
    const bytes = utf8.encode(secret.slice(shift));
    const encoded = encodeBase64Url(bytes.subarray(0, bytes.length - (bytes.length % 3)));
    addPieces(encoded);
    addPieces(encoded.replaceAll('-', '+').replaceAll('_', '/'));
  }
  return (text) => withoutPieces(text, pieces);
}

/** `text` with every run made of `pieces` (overlapping) replaced by `[redacted]`. */
function withoutPieces(text: string, pieces: ReadonlySet<string>): string {
  if (text.length < KEY_PIECE) return text;
  let result = '';
  let from = 0;
  let at = 0;
  while (at + KEY_PIECE <= text.length) {
    if (!pieces.has(text.slice(at, at + KEY_PIECE))) {
      at++;
      continue;
    }
    let end = at + KEY_PIECE;
    while (end < text.length && pieces.has(text.slice(end + 1 - KEY_PIECE, end + 1))) end++;
    result += text.slice(from, at) + REDACTED;
    from = end;
    at = end;
  }
  return result + text.slice(from);
}
