import { matchesRealFormat, trimAsciiWhitespace } from './key-patterns.js';

/**
 * Marks no real key can contain (none is in any provider's character set), so they are a placeholder even when
 * the rest looks real: ellipses and bullet or asterisk masks (our own hint, a provider's masked echo), `<…>`
 * templates, unexpanded `${VAR}`, `{{VAR}}`, `$VAR` and `%VAR%`.
 */
const MASK_MARKS = /[…•<>]|\.{2,}|\*{2,}|\$\{|\{\{|^\$[A-Za-z_]|^%[A-Za-z_]+%$/;

/**
 * Words of sample text. Real keys are random and can hold any of these by chance, so they count only for a
 * value that is not in a real format (see {@link isPlaceholderKey}).
 */
const MARKER_WORDS = /your|here|placeholder|example|replace|insert|changeme|dummy|sample|paste|redacted|x{4,}/i;

/**
 * Filler of sample text, each word before its own prefixes; what is left once it is removed shows whether a
 * value is made of it.
 */
const FILLER =
  /placeholder|changeme|undefined|anthropic|example|replace|redacted|openai|google|gemini|claude|secret|insert|sample|dummy|token|paste|enter|actual|real|valid|your|here|goes|null|none|true|false|test|fake|demo|todo|fixme|change|project|proj|svcacct|keys|key|api|my|me|the|x{3,}|0123456789|1234567890|123456|1234|abcdef|abcd/gi;

/** Prefixes stripped before measuring what is left of a value: they are the same in every key. */
const KNOWN_PREFIX = /^(?:sk-ant-[a-z]+\d*-|sk-(?:proj|svcacct|admin)-|sk-|AIza)/;

/**
 * A random key body of 20 or more characters keeps far more than this after filler is removed, and shows far
 * more distinct characters (about 17 of 20, 27 of 35, 49 of 95); sample text padded to a real length does not.
 */
const MIN_RANDOM_REMAINDER = 12;
const MIN_DISTINCT_CHARACTERS = 10;

/** {@link isPlaceholderKey} for a value already trimmed. */
export function isPlaceholderTrimmed(key: string): boolean {
  if (key === '') return false;
  if (MASK_MARKS.test(key)) return true;
  // A real key with a stray character picked up in copying (a space, an NBSP, a zero-width one) is judged as the
  // real key it is: its random body holds words such as `here` by chance, and the character's own error
  // (key-formats.ts) says what to fix, where "sample text" would mislead.
  const printable = key.replace(/[^\x21-\x7e]/g, '');
  const realFormat = matchesRealFormat(printable);
  const body = (realFormat ? printable : key).replace(KNOWN_PREFIX, '');
  const remainder = body.replace(FILLER, '').replace(/[-_.\s]/g, '');
  if (realFormat) {
    // Real format: only sample text padded to a real length, e.g. sk-YOUR-OPENAI-API-KEY-HERE or a repeated word.
    return remainder.length < MIN_RANDOM_REMAINDER || new Set(body).size < MIN_DISTINCT_CHARACTERS;
  }
  const madeOfFiller = remainder === '' && body.replace(/[-_.\s]/g, '') !== '';
  return MARKER_WORDS.test(key) || madeOfFiller;
}

/**
 * True when `text` is a stand-in rather than a key: sample text like the guide's `sk-ant-YOUR-KEY-HERE`,
 * `<your key>`, `${OPENAI_API_KEY}`, `changeme`, `null`, or a masked hint sent back (`…Xy9Q`, `sk-proj-****abcd`).
 * Key resolution treats such a value as absent, e.g. a system key in a `.env` file never filled in.
 *
 * Surrounding ASCII whitespace is ignored; an empty value is absent, not a placeholder, so this returns false.
 * Words such as `here` or `xxxx` count only when the value is not in a real provider format, because real keys
 * are random and hold such words by chance; a value in a real format counts only when it is mostly sample text.
 */
export function isPlaceholderKey(text: string): boolean {
  return isPlaceholderTrimmed(trimAsciiWhitespace(text));
}
