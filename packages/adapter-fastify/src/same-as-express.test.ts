import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '@byokit/core/testing';
import { newByokit, startExpress, startFastify } from './test-hosts.js';

// A handful of representative requests sent to one byokit mounted by both adapters: the answers must be the
// same, byte for byte. (The full cross-adapter suite is core's adapter conformance suite.)
const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
/** The headers the contract speaks of; the rest (date, connection, content-length…) are each server's own. */
const CONTRACT_HEADERS = [
  'content-type',
  'cache-control',
  'x-content-type-options',
  'x-request-id',
  'x-byok-key-source',
  'retry-after',
  'allow',
];

const alice = { authorization: 'Bearer alice', 'x-request-id': 'same-request' };
const json = { ...alice, 'content-type': 'application/json' };
const openaiKey = fakeProviderKey('openai');
const anthropicKey = fakeProviderKey('anthropic');

const cases: Array<[name: string, status: number, method: string, path: string, headers: Record<string, string>, body?: string]> = [
  ['no principal → 401', 401, 'GET', '/v2/users/me/api-key-status', { 'x-request-id': 'same-request' }],
  ['a key set', 200, 'PATCH', '/v2/users/me/api-key', json, JSON.stringify({ openai_api_key: openaiKey })],
  ['the key status', 200, 'GET', '/v2/users/me/api-key-status', alice],
  ['the models the key opens (no trailing slash)', 200, 'GET', '/v2/llm-models?is_active=true', alice],
  [
    'a chat with the user key',
    200,
    'POST',
    '/v2/llm/chat/completions',
    json,
    JSON.stringify({ model_id: GUIDE_MODEL_ID, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] }),
  ],
  ['an unknown field → 422', 422, 'PATCH', '/v2/users/me/api-key', json, '{"user_id": "bob", "openai_api_key": null}'],
  ['a body over the limit → 413', 413, 'PATCH', '/v2/users/me/api-key', json, JSON.stringify({ openai_api_key: 'x'.repeat(50_000) })],
  ['text/plain → 415', 415, 'PATCH', '/v2/users/me/api-key', { ...alice, 'content-type': 'text/plain' }, '{}'],
  ['no Content-Type → 415', 415, 'PATCH', '/v2/users/me/api-key', alice, '{}'],
  ['a malformed Content-Type → 415', 415, 'PATCH', '/v2/users/me/api-key', { ...alice, 'content-type': 'text/plain;;;' }, '{}'],
  [
    'a malformed Content-Type, no principal → 401 first',
    401,
    'PATCH',
    '/v2/users/me/api-key',
    { 'content-type': 'garbage', 'x-request-id': 'same-request' },
    '{}',
  ],
  ['malformed JSON → 400', 400, 'PATCH', '/v2/users/me/api-key', json, '{"openai_api_key": '],
  ['an empty body → 400', 400, 'PATCH', '/v2/users/me/api-key', json, ''],
  ['a method the path lacks → 405 with Allow', 405, 'PUT', '/v2/users/me/api-key-status', alice],
  ['an admin route as a user → 403', 403, 'GET', '/v2/admin/api-key-status', alice],
  ['a path parameter that is not a UUID → 422', 422, 'GET', '/v2/llm-models/not-a-uuid', alice],
  ['an insane x-request-id is replaced', 200, 'GET', '/v2/users/me/budget', { ...alice, 'x-request-id': 'has spaces' }],
];

describe('Fastify plugin answers as the Express adapter does', () => {
  it.each(cases)('%s', async (_name, status, method, path, headers, body) => {
    // A fixed clock and the same byokit behind both: timestamps and state are the same for both requests.
    const { byokit } = await newByokit({ now: () => new Date('2026-11-25T10:00:00Z') });
    const [express, fastify] = [await startExpress(byokit), await startFastify(byokit)];
    const send = async (base: string) => {
      if (path.endsWith('/chat/completions')) {
        await fetch(`${base}/v2/users/me/api-key`, {
          method: 'PATCH',
          headers: json,
          body: JSON.stringify({ anthropic_api_key: anthropicKey }),
        });
      }
      const response = await fetch(`${base}${path}`, { method, headers, body });
      const text = await response.text();
      return {
        status: response.status,
        headers: CONTRACT_HEADERS.map((name) => [name, response.headers.get(name)]),
        // Ids and times a provider answer carries are new on every call; everything else must match.
        body: text.replace(/chatcmpl-[\w-]+/g, 'chatcmpl-…').replace(/"created":\d+/g, '"created":…'),
        requestIdEchoed: response.headers.get('x-request-id') === 'same-request',
      };
    };
    const fromExpress = await send(express.base);
    const fromFastify = await send(fastify.base);
    expect([fromExpress.status, fromFastify.status]).toEqual([status, status]);
    if (headers['x-request-id'] === 'has spaces') {
      // A fresh id each time: compare everything but the id.
      const mask = (answer: typeof fromExpress) =>
        JSON.stringify(answer).replaceAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '…');
      expect(mask(fromFastify)).toBe(mask(fromExpress));
      return;
    }
    expect(fromFastify).toEqual(fromExpress);
  });
});
