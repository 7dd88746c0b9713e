import type { Provider } from './providers.js';

/**
 * What provider keys look like (spec/security.md, "Key formats", from the public gitleaks rules), shared by
 * the format checks, placeholder detection and scrubbing.
 */

/** Real keys are 39 to about 170 characters; anything past this is a paste gone wrong, not a key. */
export const MAX_KEY_LENGTH = 512;

/** Where a person creates each kind of key (the URLs of the key guide). */
export const CONSOLE_URLS: Readonly<Record<Provider, string>> = {
  anthropic: 'https://console.anthropic.com/settings/keys',
  openai: 'https://platform.openai.com/api-keys',
  google: 'https://aistudio.google.com/app/apikey',
};

/** The provider's name with its article, for "looks like an OpenAI key, not an Anthropic key". */
export const WITH_ARTICLE: Readonly<Record<Provider, string>> = {
  anthropic: 'an Anthropic',
  openai: 'an OpenAI',
  google: 'a Google',
};

/**
 * Each provider's inference-key format: prefix and character set strict, length a lenient range around the
 * real one, because formats change (spec/security.md, "Key formats", from the gitleaks rules). Anthropic keys are
 * 108 characters today, OpenAI's 51 (legacy) to about 170 (project and service-account keys), Google's 39.
 */
export const REAL_FORMATS: Readonly<Record<Provider, RegExp>> = {
  anthropic: /^sk-ant-api\d\d-[A-Za-z0-9_-]{80,200}$/,
  // `sk-ant-` and `sk-admin-` would otherwise pass as OpenAI keys: they are Anthropic keys and OpenAI admin keys.
  openai: /^sk-(?!ant-|admin-)(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,300}$/,
  google: /^AIza[0-9A-Za-z_-]{30,60}$/,
};

/** Real tokens that are not inference keys; they count as "real looking" for the placeholder guard. */
export const NON_INFERENCE_FORMATS: readonly RegExp[] = [
  /^sk-ant-(?:admin|oat|ort)\d\d-[A-Za-z0-9_-]{80,200}$/,
  /^sk-admin-[A-Za-z0-9_-]{20,300}$/,
];

/** Admin and OAuth tokens, refused where an inference API key belongs, with the reason shown to the person. */
export const NON_INFERENCE_TOKENS: ReadonlyArray<{ provider: Provider; prefix: RegExp; what: string }> = [
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
export const EXPECTED_PREFIX: Readonly<Record<Provider, RegExp>> = {
  anthropic: /^sk-ant-api\d\d-/,
  openai: /^sk-/,
  google: /^AIza/,
};

export const EXPECTED_SHAPE: Readonly<Record<Provider, string>> = {
  anthropic: "Anthropic API keys start with sk-ant-api03- followed by letters, digits, '-' and '_', 108 characters in all.",
  openai:
    "OpenAI API keys start with sk-proj-, sk-svcacct- or sk- followed by letters, digits, '-' and '_', " +
    'usually 51 to 170 characters in all.',
  google: "Google AI Studio API keys start with AIza followed by letters, digits, '-' and '_', 39 characters in all.",
};

/** Trims surrounding ASCII whitespace (space, tab, CR, LF), once. */
export function trimAsciiWhitespace(text: string): string {
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

/** True when `key` is in any provider's real format, inference key or not. */
export function matchesRealFormat(key: string): boolean {
  return Object.values(REAL_FORMATS).some((format) => format.test(key)) || NON_INFERENCE_FORMATS.some((format) => format.test(key));
}

/** What no key holds: the text between two keys' characters. */
const NOT_KEY_CHARACTERS = /[^A-Za-z0-9_-]+/;

/** The shortest real key: Google's (AIza and 35 more). The formats above allow shorter ones, in case formats change. */
const SHORTEST_REAL_KEY = 39;

/**
 * Whether a whole key in its provider's own format, and as long as a real key, is among the text's words, split
 * wherever a key cannot go on: a key copied with what surrounded it (`Bearer sk-…`, `api_key=AIza…`, a line break) is
 * a key all the same. Stricter than the scrubbing patterns, which also find text that merely starts like a key
 * (`sk-team@example.com`); and than the formats alone, whose OpenAI one (sk- and 20 more) takes words a person
 * chooses (`sk-marketing-department@example.com`).
 */
export function holdsWholeKey(text: string): boolean {
  // Every request's user id comes here: most are shorter than any key, and need no split.
  if (text.length < SHORTEST_REAL_KEY) return false;
  return text.split(NOT_KEY_CHARACTERS).some((word) => word.length >= SHORTEST_REAL_KEY && matchesRealFormat(word));
}
