/** Characters that cannot be in a key, named so that a person can find them in what they pasted. */

const ZERO_WIDTH = new Set([0x00ad, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064]);
const BIDI_CONTROLS = { from: 0x202a, to: 0x202e, isolatesFrom: 0x2066, isolatesTo: 0x2069 };
const NON_ASCII_SPACES = new Set([0x00a0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

const UNPAIRED_SURROGATE = 'a broken character (an unpaired UTF-16 surrogate)';

/** The kind of a character that cannot be in a key, or undefined for an ASCII printable one. */
function characterKind(key: string, index: number): string | undefined {
  const code = key.charCodeAt(index);
  if (code >= 0x21 && code <= 0x7e) return undefined;
  if (code === 0x0d || code === 0x0a) return 'a line break (CR or LF)';
  if (code === 0x20 || code === 0x09) return 'a space or tab';
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code <= 0x9f)) return 'a control character';
  if (code === 0xfeff) return 'a byte-order mark (an invisible character)';
  if (
    ZERO_WIDTH.has(code) ||
    (code >= BIDI_CONTROLS.from && code <= BIDI_CONTROLS.to) ||
    (code >= BIDI_CONTROLS.isolatesFrom && code <= BIDI_CONTROLS.isolatesTo)
  ) {
    return 'an invisible zero-width or text-direction character';
  }
  if (NON_ASCII_SPACES.has(code) || (code >= 0x2000 && code <= 0x200a)) {
    return 'a non-ASCII space (such as a non-breaking space)';
  }
  if (code >= 0xff01 && code <= 0xff5e) return 'a full-width character that looks like an ASCII one';
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = key.charCodeAt(index + 1);
    return next >= 0xdc00 && next <= 0xdfff ? 'a non-ASCII character' : UNPAIRED_SURROGATE;
  }
  if (code >= 0xdc00 && code <= 0xdfff) return UNPAIRED_SURROGATE;
  return 'a non-ASCII character';
}

/**
 * The first character no key can hold, with its 1-based position. Every character before it is ASCII, so the
 * position counts characters as a person would, even though the string is indexed in UTF-16 units.
 */
export function findForbiddenCharacter(key: string): { kind: string; position: number } | undefined {
  for (let index = 0; index < key.length; index++) {
    const kind = characterKind(key, index);
    if (kind !== undefined) return { kind, position: index + 1 };
  }
  return undefined;
}
