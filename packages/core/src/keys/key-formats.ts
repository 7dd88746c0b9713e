import { ByokitError } from '../errors.js';
import { findForbiddenCharacter } from './characters.js';
import {
  CONSOLE_URLS,
  EXPECTED_PREFIX,
  EXPECTED_SHAPE,
  MAX_KEY_LENGTH,
  NON_INFERENCE_TOKENS,
  REAL_FORMATS,
  WITH_ARTICLE,
  trimAsciiWhitespace,
} from './key-patterns.js';
import { isPlaceholderTrimmed } from './placeholders.js';
import { PROVIDER_LABELS } from './providers.js';
import type { Provider } from './providers.js';
import { SecretKey } from './secret-key.js';

/**
 * Checks on a key a person submits, before it is stored (spec/security.md: "Key formats", "Bad input gets a
 * clear error", "Hostile inputs"). Every message says what is wrong and how to fix it, and never contains the
 * submitted value or any part of it: it may name a kind of character, a position and a length, nothing more.
 */

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
    throw refuse(provider, `This is ${token.what}. An inference API key is needed here: create one at ${CONSOLE_URLS[provider]}.`);
  }
  if (!REAL_FORMATS[provider].test(key)) {
    throw refuse(
      provider,
      `This is not a valid ${label} API key: it ${describeFormatProblem(provider, key)}. ` + `${EXPECTED_SHAPE[provider]} ${whereToGetOne}`,
    );
  }
  return new SecretKey(provider, key);
}
