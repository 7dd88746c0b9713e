import type { Provider } from './providers.js';

/**
 * The 64 characters of provider key bodies (`[A-Za-z0-9_-]`). Exactly 64, so a random byte masked to six bits
 * picks each with equal chance.
 */
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * base64("OpenAI"), which every real OpenAI key carries in its middle (gitleaks' rule keys on it). Built at run
 * time, like every fake key here, so that no line of source looks like a key to secret scanners.
 */
const OPENAI_MARKER = btoa('OpenAI');

function randomKeyCharacters(count: number, random?: () => number): string {
  let result = '';
  if (random !== undefined) {
    for (let index = 0; index < count; index++) {
      result += KEY_ALPHABET.charAt(Math.floor(random() * KEY_ALPHABET.length) % KEY_ALPHABET.length);
    }
    return result;
  }
  // A web global, not node:crypto: the core also runs on fetch-only hosts.
  for (const byte of crypto.getRandomValues(new Uint8Array(count))) result += KEY_ALPHABET.charAt(byte & 63);
  return result;
}

/**
 * A fake key in `provider`'s real format, for tests and canary harnesses (spec/security.md, "Secrets never
 * leave"): Anthropic `sk-ant-api03-` + 93 characters + `AA` (108 in all); OpenAI `sk-proj-` + 156 characters
 * with `T3BlbkFJ` in the middle (164 in all); Google `AIza` + 35 characters (39 in all). Each passes
 * `parseProviderKey` and is never taken for a placeholder.
 *
 * @param random - a source of numbers in [0, 1) like `Math.random`, for repeatable keys; by default each call
 *   draws from `crypto.getRandomValues`, so every key is different.
 */
export function fakeProviderKey(provider: Provider, random?: () => number): string {
  switch (provider) {
    case 'anthropic':
      return `sk-ant-api03-${randomKeyCharacters(93, random)}AA`;
    case 'openai':
      return `sk-proj-${randomKeyCharacters(74, random)}${OPENAI_MARKER}${randomKeyCharacters(74, random)}`;
    case 'google':
      return `AIza${randomKeyCharacters(35, random)}`;
    default: {
      const exhaustive: never = provider;
      throw new TypeError(`Unknown provider: ${String(exhaustive)}`);
    }
  }
}
