/**
 * Where to cut `text` at or before `end` (a UTF-16 index) without splitting a character: `end`, or one less when
 * `end` falls between the two halves of a surrogate pair (an emoji, most CJK extensions). Text cut inside a pair
 * keeps half of it, a lone surrogate: written into a JSON answer as `\ud83d`, which strict parsers (Rust's
 * serde_json, Swift's JSONDecoder) refuse and the rest show as U+FFFD.
 */
export function wholeCharacterEnd(text: string, end: number): number {
  if (end <= 0 || end >= text.length) return Math.max(0, Math.min(end, text.length));
  const before = text.charCodeAt(end - 1);
  const after = text.charCodeAt(end);
  const splitsPair = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
  return splitsPair ? end - 1 : end;
}

/**
 * How many characters (code points) `text` has, as zod's `max()`, JSON Schema's `maxLength` and PostgreSQL's
 * `length()` count them: an emoji is one, though two UTF-16 units (`text.length`). A lone surrogate counts as one.
 */
export function characterCount(text: string): number {
  let pairs = 0;
  for (let index = 1; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0xdc00 || code > 0xdfff) continue;
    const before = text.charCodeAt(index - 1);
    if (before >= 0xd800 && before <= 0xdbff) pairs++;
  }
  return text.length - pairs;
}

/** True when `text` has at most `limit` characters ({@link characterCount}), counting only when it must. */
export function hasAtMostCharacters(text: string, limit: number): boolean {
  if (text.length <= limit) return true;
  // A character is at most two units: past that, it cannot fit.
  return text.length <= 2 * limit && characterCount(text) <= limit;
}

/**
 * Compares two strings in code-point order, as PostgreSQL's `COLLATE "C"` orders UTF-8 text. JS's `<` compares
 * UTF-16 units instead, in which a character past U+FFFF (a surrogate pair, U+D800–U+DFFF) sorts before
 * U+E000–U+FFFF (full-width forms, private use): shifting those two ranges past each other gives code-point order.
 */
export function compareCodePoints(a: string, b: string): number {
  const shared = Math.min(a.length, b.length);
  for (let index = 0; index < shared; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left !== right) return codePointRank(left) - codePointRank(right);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
