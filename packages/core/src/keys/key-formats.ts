import { ByokitError } from '../errors.js';
import { PROVIDER_LABELS } from './providers.js';
import type { Provider } from './providers.js';
import { SecretKey } from './secret-key.js';

export { keyHint } from './secret-key.js';

/**
 * Checks on a key a person submits, before it is stored (spec/security.md: "Key formats", "Bad input gets a
 * clear error", "Hostile inputs"). Every message says what is wrong and how to fix it, and never contains the
 * submitted value or any part of it: it may name a kind of character, a position and a length, nothing more.
 */

/** Real keys are 39 to about 170 characters; anything past this is a paste gone wrong, not a key. */
const MAX_KEY_LENGTH = 512;

/** Where a person creates each kind of key (the URLs of the key guide). */
const CONSOLE_URLS: Readonly<Record<Provider, string>> = {
  anthropic: 'https://console.anthropic.com/settings/keys',
  openai: 'https://platform.openai.com/api-keys',
  google: 'https://aistudio.google.com/app/apikey',
};

/** The provider's name with its article, for "looks like an OpenAI key, not an Anthropic key". */
const WITH_ARTICLE: Readonly<Record<Provider, string>> = {
  anthropic: 'an Anthropic',
  openai: 'an OpenAI',
  google: 'a Google',
};

/**
 * Each provider's inference-key format: prefix and character set strict, length a lenient range around the
 * real one, because formats change (spec/security.md, "Key formats", from the gitleaks rules). Anthropic keys are
 * 108 characters today, OpenAI's 51 (legacy) to about 170 (project and service-account keys), Google's 39.
 */
const REAL_FORMATS: Readonly<Record<Provider, RegExp>> = {
  anthropic: /^sk-ant-api\d\d-[A-Za-z0-9_-]{80,200}$/,
  // `sk-ant-` and `sk-admin-` would otherwise pass as OpenAI keys: they are Anthropic keys and OpenAI admin keys.
  openai: /^sk-(?!ant-|admin-)(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,300}$/,
  google: /^AIza[0-9A-Za-z_-]{30,60}$/,
};

/** Real tokens that are not inference keys; they count as "real looking" for the placeholder guard. */
const NON_INFERENCE_FORMATS: readonly RegExp[] = [
  /^sk-ant-(?:admin|oat|ort)\d\d-[A-Za-z0-9_-]{80,200}$/,
  /^sk-admin-[A-Za-z0-9_-]{20,300}$/,
];

/** Admin and OAuth tokens, refused where an inference API key belongs, with the reason shown to the person. */
const NON_INFERENCE_TOKENS: ReadonlyArray<{ provider: Provider; prefix: RegExp; what: string }> = [
  {
    provider: 'anthropic',
    prefix: /^sk-ant-admin\d*-/,
    what: 'an Anthropic Admin API key, which manages an organization and cannot call models',
  },
  {
    provider: 'anthropic',
    prefix: /^sk-ant-o[ar]t\d*-/,
    what: 'an Anthropic OAuth token (from signing in with a Claude account), not an API key',
  },
  {
    provider: 'openai',
    prefix: /^sk-admin-/,
    what: 'an OpenAI Admin key, which manages an organization and cannot call models',
  },
];

/** The prefix that starts every key of a provider, and its description for format errors. */
const EXPECTED_PREFIX: Readonly<Record<Provider, RegExp>> = {
  anthropic: /^sk-ant-api\d\d-/,
  openai: /^sk-/,
  google: /^AIza/,
};

const EXPECTED_SHAPE: Readonly<Record<Provider, string>> = {
  anthropic: "Anthropic API keys start with sk-ant-api03- followed by letters, digits, '-' and '_', 108 characters in all.",
  openai:
    "OpenAI API keys start with sk-proj-, sk-svcacct- or sk- followed by letters, digits, '-' and '_', " +
    'usually 51 to 170 characters in all.',
  google: "Google AI Studio API keys start with AIza followed by letters, digits, '-' and '_', 39 characters in all.",
};

// ---------------------------------------------------------------------------------------------------------------
// Placeholders

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

function trimAsciiWhitespace(text: string): string {
  // A loop, not /\s+$/: a regex anchored at the end backtracks quadratically over long inner runs of spaces.
  let start = 0;
  let end = text.length;
  while (start < end && isAsciiWhitespace(text.charCodeAt(start))) start++;
  while (end > start && isAsciiWhitespace(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isAsciiWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

function matchesRealFormat(key: string): boolean {
  return Object.values(REAL_FORMATS).some((format) => format.test(key)) || NON_INFERENCE_FORMATS.some((format) => format.test(key));
}

function isPlaceholderTrimmed(key: string): boolean {
  if (key === '') return false;
  if (MASK_MARKS.test(key)) return true;
  const body = key.replace(KNOWN_PREFIX, '');
  const remainder = body.replace(FILLER, '').replace(/[-_.\s]/g, '');
  if (matchesRealFormat(key)) {
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

// ---------------------------------------------------------------------------------------------------------------
// Characters

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
function findForbiddenCharacter(key: string): { kind: string; position: number } | undefined {
  for (let index = 0; index < key.length; index++) {
    const kind = characterKind(key, index);
    if (kind !== undefined) return { kind, position: index + 1 };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Formats

/** Which provider a key's prefix belongs to, as loosely as a person would read it. */
function providerOfPrefix(key: string): Provider | undefined {
  if (key.startsWith('sk-ant-')) return 'anthropic';
  if (key.startsWith('sk-')) return 'openai';
  if (key.startsWith('AIza')) return 'google';
  return undefined;
}

/** What is wrong with a key that has only ASCII printable characters but does not match its format. */
function describeFormatProblem(provider: Provider, key: string): string {
  const badIndex = key.search(/[^A-Za-z0-9_-]/);
  if (badIndex >= 0) {
    const code = key.charCodeAt(badIndex);
    if (code === 0x22 || code === 0x27 || code === 0x60) {
      return `has a quote mark at character ${badIndex + 1}; paste the key without quotes`;
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(key)) {
      return 'looks like a whole NAME=value line from a configuration file; paste only the value after the =';
    }
    return `has a punctuation mark at character ${badIndex + 1}, and keys hold only letters, digits, '-' and '_'`;
  }
  if (!EXPECTED_PREFIX[provider].test(key)) return 'does not start the way these keys do';
  return `is ${key.length} characters long, outside the range real keys have`;
}

function refuse(provider: Provider, message: string, code: 'invalid_key_format' | 'placeholder_key' = 'invalid_key_format'): ByokitError {
  return new ByokitError(code, message, { provider });
}

function describeType(input: unknown): string {
  if (input === null || input === undefined) return String(input);
  if (Array.isArray(input)) return 'an array';
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}

/**
 * Checks a key a person submitted for `provider` and wraps it in a {@link SecretKey}. Surrounding ASCII
 * whitespace (space, tab, CR, LF) is trimmed once; everything else must already be right. Checks run in this
 * order, so the first problem found is the one reported: not a string, empty, longer than 512 characters,
 * placeholder (`placeholder_key`), a space, control or non-ASCII character inside, another provider's key,
 * an admin or OAuth token, and finally the provider's own format.
 *
 * @throws {ByokitError} `invalid_key_format` or `placeholder_key`, with `details.provider`. The message never
 *   contains the input or any part of it.
 */
export function parseProviderKey(provider: Provider, input: unknown): SecretKey {
  const label = PROVIDER_LABELS[provider];
  const whereToGetOne = `Copy your ${label} API key from ${CONSOLE_URLS[provider]}.`;

  if (typeof input !== 'string') {
    throw refuse(provider, `The ${label} API key must be a string; got ${describeType(input)}.`);
  }
  const key = trimAsciiWhitespace(input);
  if (key === '') {
    throw refuse(provider, `The ${label} API key is empty. ${whereToGetOne}`);
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw refuse(
      provider,
      `The ${label} API key is ${key.length} characters long; keys are at most ${MAX_KEY_LENGTH}. ` +
        `Check that you pasted only the key. ${whereToGetOne}`,
    );
  }
  if (isPlaceholderTrimmed(key)) {
    // Worded without the sample words themselves, so that the message shares no text with what was sent.
    throw refuse(
      provider,
      `The ${label} API key is a stand-in, not a real key: it looks like sample text or the masked hint of a ` +
        `saved key. ${whereToGetOne}`,
      'placeholder_key',
    );
  }
  const forbidden = findForbiddenCharacter(key);
  if (forbidden !== undefined) {
    throw refuse(
      provider,
      `The ${label} API key contains ${forbidden.kind} at character ${forbidden.position}. Keys hold only ASCII ` +
        `letters, digits, '-' and '_'; copying through a document or chat can add such characters. ${whereToGetOne}`,
    );
  }
  const looksLike = providerOfPrefix(key);
  if (looksLike !== undefined && looksLike !== provider) {
    throw refuse(
      provider,
      `This looks like ${WITH_ARTICLE[looksLike]} key, not ${WITH_ARTICLE[provider]} key. Save it as your ` +
        `${PROVIDER_LABELS[looksLike]} key instead, or paste your ${label} key here.`,
    );
  }
  const token = NON_INFERENCE_TOKENS.find((candidate) => candidate.provider === provider && candidate.prefix.test(key));
  if (token !== undefined) {
    throw refuse(
      provider,
      `This is ${token.what}. An inference API key is needed here: create one at ${CONSOLE_URLS[provider]}.`,
    );
  }
  if (!REAL_FORMATS[provider].test(key)) {
    throw refuse(
      provider,
      `This is not a valid ${label} API key: it ${describeFormatProblem(provider, key)}. ` +
        `${EXPECTED_SHAPE[provider]} ${whereToGetOne}`,
    );
  }
  return new SecretKey(provider, key);
}

// ---------------------------------------------------------------------------------------------------------------
// Scrubbing

const REDACTED = '[redacted]';

/**
 * What looks like a key in free text, in the order applied. Masked echoes go first so that a partly masked
 * key is removed whole rather than leaving its masked tail. The lookbehinds keep words such as `task-list`
 * intact and let each run of key characters be scanned from its start only (linear time on hostile text).
 */
const KEY_PATTERNS: readonly RegExp[] = [
  // A provider's masked echo of a key, e.g. "Incorrect API key provided: sk-proj-****abcd".
  /(?<![A-Za-z0-9_-])(?:sk-|AIza)[A-Za-z0-9_-]*(?:[*•…]|\.{2,})(?:[A-Za-z0-9_*•…-]|\.{2,})*/g,
  /(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{8,}/g,
  /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/g,
  /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{16,}/g,
];

/** Credentials after a label: `Bearer x`, `x-api-key: x`, `"api_key": "x"`, `?key=x`. The label is kept. */
const LABELLED_PATTERNS: readonly RegExp[] = [
  /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /((?:x-goog-api-key|x-api-key|api[_-]?key|[?&]key)["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi,
];

/** base64("OpenAI"): inside every OpenAI key (gitleaks); built at run time so no source line looks like a key. */
const OPENAI_MARKER = btoa('OpenAI');

function isKeyCharacter(code: number): boolean {
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
