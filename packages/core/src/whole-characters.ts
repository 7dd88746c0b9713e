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
