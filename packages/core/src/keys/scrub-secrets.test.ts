import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from './fake-keys.js';
import { scrubKnownSecret, scrubSecrets } from './scrub-secrets.js';
import { PROVIDERS } from './providers.js';
import { findKeyLeaks } from '../testing/leak-check.js';

// Linear takes milliseconds, quadratic hours: the bound tells them apart with room for a loaded machine (every
// package's tests at once on two cores), and is no speed target.
const LINEAR_BOUND_MS = 10_000;

/** True when any 8-character piece of `key` survives in `text` (the spec's canary rule). */
function containsPieceOf(text: string, key: string): boolean {
  for (let index = 0; index + 8 <= key.length; index++) {
    if (text.includes(key.slice(index, index + 8))) return true;
  }
  return false;
}

describe('scrubSecrets', () => {
  it('removes the masked key OpenAI echoes in a 401 message ("Incorrect API key provided: sk-proj-****…abcd")', () => {
    const scrubbed = scrubSecrets(
      'Incorrect API key provided: sk-proj-****…abcd. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
    expect(scrubbed).toBe(
      'Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
  });

  it('removes a partly masked key whole, not leaving its visible start', () => {
    const key = fakeProviderKey('openai');
    const echoed = `${key.slice(0, 24)}${'*'.repeat(40)}${key.slice(-4)}`;
    const scrubbed = scrubSecrets(`Incorrect API key provided: ${echoed}.`);
    expect(scrubbed).toBe('Incorrect API key provided: [redacted].');
  });

  it.each(PROVIDERS)('removes a full fake %s key from an upstream error body', (provider) => {
    const key = fakeProviderKey(provider);
    const body = JSON.stringify({ error: { message: `API key not valid: ${key}`, type: 'invalid_request_error' } });
    const scrubbed = scrubSecrets(body);
    expect(containsPieceOf(scrubbed, key)).toBe(false);
    expect(scrubbed).toContain('[redacted]');
    expect(scrubbed).toContain('invalid_request_error');
  });

  // An upstream (or a proxy the host put before it) echoing the URL or the headers it got, percent-encoded.
  it.each(PROVIDERS)('removes a key (%s) percent-encoded in an echoed URL or header, or glued to other text', (provider) => {
    const key = fakeProviderKey(provider);
    for (const echo of [
      `upstream proxy failed for GET /v1/messages?x-api-key%3D${key}`,
      `GET /v1beta/models?alt=sse%26key%3D${key}`,
      `Authorization%3A%20Bearer%20${key}`,
      `relay%20${key}%20refused`,
      `key1${key}`,
    ]) {
      const scrubbed = scrubSecrets(echo);
      expect(containsPieceOf(scrubbed, key), scrubbed).toBe(false);
    }
  });

  it('removes an OpenAI key whose sk- prefix was cut off, by the marker inside every OpenAI key', () => {
    const key = fakeProviderKey('openai');
    const scrubbed = scrubSecrets(`key fragment ${key.slice(20)} rejected`);
    expect(scrubbed).toBe('key fragment [redacted] rejected');
  });

  it('removes keys behind their labels: Bearer, x-api-key, x-goog-api-key, api_key and ?key=', () => {
    const token = 'test-token-abc.def_123';
    expect(scrubSecrets(`Authorization: Bearer ${token}`)).toBe('Authorization: Bearer [redacted]');
    expect(scrubSecrets(`x-api-key: ${token}`)).toBe('x-api-key: [redacted]');
    expect(scrubSecrets(`x-goog-api-key: ${token}`)).toBe('x-goog-api-key: [redacted]');
    expect(scrubSecrets(`{"api_key": "${token}"}`)).toBe('{"api_key": "[redacted]"}');
    expect(scrubSecrets(`GET /v1beta/models?key=${token}&alt=sse`)).toBe('GET /v1beta/models?key=[redacted]&alt=sse');
  });

  // The fake keys above are caught whatever precedes them (OpenAI's marker, Anthropic's and Google's glued patterns):
  // these are not, so each percent-escape rule of docs/security.md is proven on its own.
  it('removes a token after a percent-encoded Bearer, and an OpenAI-format key without its marker after a percent-escape', () => {
    const token = 'test-token-abc.def_123';
    expect(scrubSecrets(`Authorization%3A%20Bearer%20${token}`)).toBe('Authorization%3A%20Bearer%20[redacted]');
    const key = `sk-${'a1B2c3D4e5'.repeat(4)}`;
    expect(scrubSecrets(`relay%20${key}%20refused`)).toBe('relay%20[redacted]%20refused');
    expect(scrubSecrets(`upstream said%3A${key}`)).toBe('upstream said%3A[redacted]');
  });

  it('removes loose provider prefixes followed by key characters', () => {
    expect(scrubSecrets('got sk-ant-testfake01 here')).toBe('got [redacted] here');
    expect(scrubSecrets('got sk-test-fake-0123456789 here')).toBe('got [redacted] here');
    expect(scrubSecrets('got AIzaTestFake0123456789 here')).toBe('got [redacted] here');
  });

  it('leaves ordinary error text alone', () => {
    const text = 'Overloaded: the task-management-system-v2 queue is full; retry after 30s (see https://docs.anthropic.com/errors).';
    expect(scrubSecrets(text)).toBe(text);
  });

  it('scrubs large hostile text in linear time', { timeout: 30_000 }, () => {
    const hostile = `${'sk-'.repeat(300_000)} ${'sk-a*'.repeat(200_000)} ${'a'.repeat(1_000_000)}`;
    const started = performance.now();
    scrubSecrets(hostile);
    expect(performance.now() - started).toBeLessThan(LINEAR_BOUND_MS);
  });
});

describe('scrubKnownSecret', () => {
  it.each(PROVIDERS)('removes every piece of the %s key a call was made with, however the upstream cut it', (provider) => {
    const key = fakeProviderKey(provider);
    for (const echo of [
      `bad key ${key.slice(13)}`, // its prefix cut off: no shape left to recognise
      `bad key ${key.slice(0, 40)} ${key.slice(40)}`, // split by a space
      `bad key x${key}y and again ${key}`,
      `bad key …${key.slice(20, 28)}…`, // a piece of exactly 8 characters, the canary rule's
    ]) {
      const scrubbed = scrubKnownSecret(echo, key);
      expect(containsPieceOf(scrubbed, key), scrubbed).toBe(false);
      expect(scrubbed).toMatch(/^bad key .*\[redacted\]/);
    }
  });

  it.each(PROVIDERS)(
    'removes the %s key a call was made with in base64 and base64url, wherever it starts in the encoded text',
    (provider) => {
      const key = fakeProviderKey(provider);
      for (const before of ['', 'u', 'us', 'user:']) {
        for (const encoding of ['base64', 'base64url'] as const) {
          const scrubbed = scrubKnownSecret(`bad credential ${Buffer.from(`${before}${key}`).toString(encoding)}`, key);
          expect(findKeyLeaks([key], [[`${encoding} after ${before.length}`, scrubbed]])).toEqual([]);
          expect(scrubbed).toMatch(/^bad credential .*\[redacted\]/);
        }
      }
    },
  );

  it('leaves text alone that holds no 8 characters of the key in a row, its last four included', () => {
    const key = fakeProviderKey('anthropic');
    const text = `The key ending in ${key.slice(-4)} was refused (${key.slice(10, 17)}).`;
    expect(scrubKnownSecret(text, key)).toBe(text);
  });

  it('scrubs large hostile text in linear time', { timeout: 30_000 }, () => {
    const key = fakeProviderKey('openai');
    const hostile = `${key.slice(0, 7)} `.repeat(200_000) + key.repeat(5_000);
    const started = performance.now();
    expect(scrubKnownSecret(hostile, key).endsWith('[redacted]')).toBe(true);
    expect(performance.now() - started).toBeLessThan(LINEAR_BOUND_MS);
  });
});
