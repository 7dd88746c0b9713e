import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { startMockProviders } from '../testing/mock-providers.js';
import { SYSTEM_OWNER, userOwner, type Storage } from '../storage/storage.js';
import { admin, alice, call, testByokit, watchedBody, type CallOptions } from './test-helpers.js';
import type { ByokitRequest, Principal } from './types.js';

async function snapshot(storage: Storage) {
  const lists = await Promise.all([userOwner(alice.userId), SYSTEM_OWNER].map((owner) => storage.listKeys(owner)));
  return JSON.stringify({
    lists: lists.map((l) => l.map((k) => ({ ...k, envelope: [...k.envelope] }))),
    audit: await storage.listAudit({ limit: 1000 }),
  });
}

const anthropic = () => fakeProviderKey('anthropic');
const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** [what is wrong, request options, expected status, expected code] */
const cases: Array<[string, CallOptions, number, string]> = [
  ['malformed JSON', { rawBody: '{"anthropic_api_key": ' }, 400, 'invalid_json'],
  ['an empty body', { rawBody: '', contentType: 'application/json' }, 400, 'invalid_json'],
  ['JSON nested 4,000 deep, within the size limit', { rawBody: `{"anthropic_api_key": ${deep(4000)}}` }, 400, 'invalid_json'],
  ['JSON nested 100,000 deep', { rawBody: `{"anthropic_api_key": ${deep(100_000)}}` }, 413, 'payload_too_large'],
  ['bytes that are not UTF-8', { rawBody: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }, 400, 'invalid_json'],
  ['Content-Type: text/plain', { rawBody: '{"openai_api_key": null}', contentType: 'text/plain' }, 415, 'unsupported_media_type'],
  [
    'Content-Type: multipart/form-data',
    { rawBody: '--x--', contentType: 'multipart/form-data; boundary=x' },
    415,
    'unsupported_media_type',
  ],
  ['no Content-Type at all', { rawBody: '{}', contentType: '' }, 415, 'unsupported_media_type'],
  [
    'a gzip-compressed body (Content-Encoding: gzip)',
    { rawBody: gzipSync('{"openai_api_key": null}'), headers: { 'content-encoding': 'gzip' } },
    415,
    'unsupported_media_type',
  ],
  [
    'plain JSON sent as Content-Encoding: br',
    { rawBody: '{"openai_api_key": null}', headers: { 'content-encoding': 'br' } },
    415,
    'unsupported_media_type',
  ],
  ["a body over the key routes' limit", { body: { anthropic_api_key: 'a'.repeat(20_000) } }, 413, 'payload_too_large'],
  ['a 1 MB key', { body: { anthropic_api_key: 'sk-ant-api03-' + 'a'.repeat(1024 * 1024) } }, 413, 'payload_too_large'],
  ['an empty object', { body: {} }, 422, 'validation_failed'],
  ['a JSON array', { body: [] }, 422, 'validation_failed'],
  ['unknown field user_id', { body: { user_id: 'user-bob', openai_api_key: null } }, 422, 'validation_failed'],
  ['unknown field is_admin', { body: { is_admin: true, openai_api_key: null } }, 422, 'validation_failed'],
  ['unknown field owner_type', { body: { owner_type: 'system', openai_api_key: null } }, 422, 'validation_failed'],
  ['__proto__ field', { rawBody: '{"__proto__": {"polluted": true}, "openai_api_key": null}' }, 422, 'validation_failed'],
  [
    'constructor field',
    { rawBody: '{"constructor": {"prototype": {"polluted": true}}, "openai_api_key": null}' },
    422,
    'validation_failed',
  ],
  ['base_url field', { body: { base_url: 'http://127.0.0.1:1/', openai_api_key: null } }, 422, 'validation_failed'],
  ['a key that is a number', { body: { anthropic_api_key: 12345 } }, 422, 'validation_failed'],
  ['a key that is an array', { body: { anthropic_api_key: ['sk-ant-api03-x'] } }, 422, 'validation_failed'],
  ['a key that is an object', { body: { anthropic_api_key: { user_id: 'x' } } }, 422, 'validation_failed'],
  ['an empty key', { body: { anthropic_api_key: '' } }, 422, 'invalid_key_format'],
  ['a key of spaces', { body: { anthropic_api_key: '   ' } }, 422, 'invalid_key_format'],
];

/** Keys that are bad in content: each built from a real-format fake key. */
const badKeys: Array<[string, () => Record<string, string>, string]> = [
  ['inner whitespace', () => ({ anthropic_api_key: anthropic().replace(/^(.{30})/, '$1 ') }), 'invalid_key_format'],
  ['CR/LF inside', () => ({ anthropic_api_key: anthropic().replace(/^(.{30})/, '$1\r\n') }), 'invalid_key_format'],
  ['NUL inside', () => ({ anthropic_api_key: anthropic().replace(/^(.{30})/, '$1\u0000') }), 'invalid_key_format'],
  ['a zero-width space', () => ({ anthropic_api_key: anthropic().replace(/^(.{30})/, '$1\u200b') }), 'invalid_key_format'],
  ['a BOM in front', () => ({ anthropic_api_key: '\ufeff' + anthropic() }), 'invalid_key_format'],
  ['an NBSP inside', () => ({ openai_api_key: fakeProviderKey('openai').replace(/^(.{30})/, '$1\u00a0') }), 'invalid_key_format'],
  ['a full-width look-alike', () => ({ google_api_key: fakeProviderKey('google').replace(/^AIza/, 'ＡIza') }), 'invalid_key_format'],
  [
    'a lone surrogate',
    () => ({ google_api_key: fakeProviderKey('google').slice(0, 20) + '\ud800' + fakeProviderKey('google').slice(21) }),
    'invalid_key_format',
  ],
  ['an OpenAI key in the Anthropic field', () => ({ anthropic_api_key: fakeProviderKey('openai') }), 'invalid_key_format'],
  ['a Google key in the OpenAI field', () => ({ openai_api_key: fakeProviderKey('google') }), 'invalid_key_format'],
  ['an Anthropic key in the Google field', () => ({ google_api_key: anthropic() }), 'invalid_key_format'],
  ['an Anthropic admin key', () => ({ anthropic_api_key: anthropic().replace('sk-ant-api03-', 'sk-ant-admin01-') }), 'invalid_key_format'],
  ["the guide's sk-YOUR-KEY-HERE", () => ({ openai_api_key: 'sk-YOUR-KEY-HERE' }), 'placeholder_key'],
];

describe('bad input to the key routes gets a clear error and changes nothing', () => {
  for (const path of ['/users/me/api-key', '/admin/api-key']) {
    const principal = path.startsWith('/admin') ? admin : alice;

    it.each(cases)(`PATCH ${path} with %s`, async (_name, options, status, code) => {
      const { byokit, storage } = await testByokit();
      await call(byokit, 'PATCH', path, { principal, body: { google_api_key: fakeProviderKey('google') } });
      const before = await snapshot(storage);
      const response = await call(byokit, 'PATCH', path, { principal, ...options });
      expect(response!.status).toBe(status);
      expect(response!.json.error.code).toBe(code);
      expect(response!.json.error.request_id).toBe(response!.headers['x-request-id']);
      expect(await snapshot(storage)).toBe(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it.each(badKeys)(`PATCH ${path} with a key with %s`, async (_name, body, code) => {
      const { byokit, storage } = await testByokit();
      const before = await snapshot(storage);
      const sent = body();
      const response = await call(byokit, 'PATCH', path, { principal, body: sent });
      expect(response!.status).toBe(422);
      expect(response!.json.error.code).toBe(code);
      expect(await snapshot(storage)).toBe(before);
      // No piece of the key comes back in the error.
      const key = Object.values(sent)[0]!;
      for (let start = 0; start + 8 <= key.length; start += 4) expect(response!.text).not.toContain(key.slice(start, start + 8));
    });
  }

  it('says to send a compressed body uncompressed, and takes Content-Encoding: identity as none', async () => {
    const { byokit } = await testByokit();
    const compressed = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      rawBody: gzipSync('{"openai_api_key": null}'),
      headers: { 'content-encoding': 'gzip' },
    });
    expect(compressed!.json.error.message).toBe('Send the body uncompressed: this API takes no Content-Encoding.');
    const identity = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: { openai_api_key: null },
      headers: { 'content-encoding': 'Identity' },
    });
    expect(identity!.status).toBe(200);
  });

  it('accepts surrounding whitespace and trims it once', async () => {
    const { byokit } = await testByokit();
    const key = anthropic();
    const response = await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: `  ${key}\n` } });
    expect(response!.status).toBe(200);
    expect((await byokit.resolveKey(alice, 'anthropic')).key.reveal()).toBe(key);
  });

  it('answers 413 from Content-Length alone, before reading the body', async () => {
    const { byokit } = await testByokit();
    const { body, wasRead } = watchedBody();
    const response = await byokit.handle({
      method: 'PATCH',
      url: '/users/me/api-key',
      headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) },
      body,
      authenticate: () => alice,
    });
    expect(response!.status).toBe(413);
    expect(wasRead()).toBe(false);
  });

  // An in-process request (handle(), the fetch handler) carries whatever Content-Length its caller wrote; Number()
  // read `0x18` as 24, `2.4e1` as 24 and `` as 0 ("The request body is empty"). RFC 9110 §8.6: 1*DIGIT, and a list
  // of one value repeated may be read as that value (RFC 9112 §6.3).
  it.each(['0x18', '2.4e1', '+24', '24.0', '-24', '', '0x0', '24, 25', 'Infinity'])(
    'refuses a Content-Length of "%s" with 400 invalid_json, saving nothing',
    async (length) => {
      const { byokit, storage } = await testByokit();
      const body = JSON.stringify({ openai_api_key: null }).padEnd(24);
      const response = await byokit.handle({
        method: 'PATCH',
        url: '/users/me/api-key',
        headers: { 'content-type': 'application/json', 'content-length': length },
        body: { kind: 'stream', stream: [new TextEncoder().encode(body)] },
        authenticate: () => alice,
      });
      expect([response!.status, JSON.parse(response!.body as string).error.code]).toEqual([400, 'invalid_json']);
      expect(await storage.listAudit()).toEqual([]);
    },
  );

  // A number is what a host in plain JavaScript may hand over (`'content-length': body.length`): its length, not a 500.
  it.each([' 24 ', '24, 24', '024', 24 as unknown as string])('reads a Content-Length of "%s" as 24', async (length) => {
    const { byokit } = await testByokit();
    const response = await byokit.handle({
      method: 'PATCH',
      url: '/users/me/api-key',
      headers: { 'content-type': 'application/json', 'content-length': length },
      body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify({ openai_api_key: null }).padEnd(24))] },
      authenticate: () => alice,
    });
    expect(response!.status).toBe(200);
  });

  it('does not take a Content-Length of "0x0" for no body on a route that takes none: the body is refused, no key removed', async () => {
    const { byokit, storage } = await testByokit();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    const response = await byokit.handle({
      method: 'DELETE',
      url: '/users/me/api-key',
      headers: { 'content-type': 'application/json', 'content-length': '0x0' },
      body: { kind: 'stream', stream: [new TextEncoder().encode('{"provider":"google"}')] },
      authenticate: () => alice,
    });
    expect(response!.status).toBeGreaterThanOrEqual(400);
    expect(await storage.listKeys(userOwner(alice.userId))).toHaveLength(1);
  });

  it('holds a body the host framework already parsed to the same rules', async () => {
    const { byokit } = await testByokit();
    const request = (value: unknown, headers: Record<string, string> = {}) =>
      byokit.handle({
        method: 'PATCH',
        url: '/users/me/api-key',
        headers: { 'content-type': 'application/json', ...headers },
        body: { kind: 'parsed', value },
        authenticate: () => alice,
      });
    expect((await request({ user_id: 'x' }))!.status).toBe(422);
    expect((await request({ anthropic_api_key: 'x'.repeat(20_000) }))!.status).toBe(413);
    expect((await request({ openai_api_key: fakeProviderKey('openai') }))!.status).toBe(200);
    // What the client sent, not what the parser made of it: an empty body (express.json() makes it {}), and a
    // body padded past the limit with whitespace the parse dropped.
    const empty = await request({}, { 'content-length': '0' });
    expect([empty!.status, JSON.parse(empty!.body as string).error.code]).toEqual([400, 'invalid_json']);
    const padded = await request({ openai_api_key: null }, { 'content-length': '20000' });
    expect([padded!.status, JSON.parse(padded!.body as string).error.code]).toEqual([413, 'payload_too_large']);
  });

  // A host whose parser keeps big numbers whole (json-bigint, a Fastify parser with BigInt) hands over a BigInt for a
  // client's `"max_tokens": 123456789012345678901`: JSON.stringify, measuring the body, threw, and the answer was 500.
  it('refuses an already parsed body holding what JSON cannot hold (a BigInt) with 400 invalid_json, not 500', async () => {
    const { byokit } = await testByokit();
    const response = await byokit.handle({
      method: 'POST',
      url: '/llm/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'parsed', value: { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 123456789012345678901n } },
      authenticate: () => alice,
    });
    expect([response!.status, JSON.parse(response!.body as string).error]).toEqual([
      400,
      { code: 'invalid_json', message: 'The request body holds a value JSON cannot hold.', request_id: expect.any(String) },
    ]);
  });

  // express.json() ahead of byokit hands over what it parsed: 100,000 levels of arrays from a 200 kB body.
  it('refuses an already parsed body nested 100,000 deep with 400, not a stack overflow', async () => {
    const { byokit } = await testByokit();
    let deep: unknown = [];
    for (let level = 1; level < 100_000; level++) deep = [deep];
    const response = await byokit.handle({
      method: 'POST',
      url: '/llm/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'parsed', value: deep },
      authenticate: () => alice,
    });
    expect([response!.status, JSON.parse(response!.body as string).error.code]).toEqual([400, 'invalid_json']);
  });
});

describe('every answer carries a request id', () => {
  it('echoes a sane x-request-id', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/users/me/api-key-status', {
      principal: alice,
      headers: { 'x-request-id': 'abc-123.x:y' },
    });
    expect(response!.headers['x-request-id']).toBe('abc-123.x:y');
  });

  it('echoes one of 128 characters, and replaces one of 129', async () => {
    const { byokit } = await testByokit();
    const longest = 'Az09._:-'.repeat(16);
    const sent = [longest, `${longest}a`];
    const echoed: unknown[] = [];
    for (const id of sent) {
      const response = await call(byokit, 'GET', '/users/me/api-key-status', { principal: null, headers: { 'x-request-id': id } });
      echoed.push(response!.json.error.request_id === response!.headers['x-request-id'] && response!.headers['x-request-id']);
    }
    expect(echoed).toEqual([longest, expect.stringMatching(/^[0-9a-f-]{36}$/)]);
  });

  it.each([
    ['with spaces and CR/LF', 'a b\r\nset-cookie: x'],
    ['too long', 'a'.repeat(500)],
  ])('generates a new one instead of one %s', async (_name, sent) => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/users/me/api-key-status', { principal: null, headers: { 'x-request-id': sent } });
    expect(response!.status).toBe(401);
    expect(response!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response!.json.error.request_id).toBe(response!.headers['x-request-id']);
  });
});

describe('a provider key sent as the request id', () => {
  it.each([
    ['anthropic', ''],
    ['openai', ''],
    ['google', ''],
    ['anthropic', 'x'],
    ['google', 'id-1'],
  ] as const)(
    'is not echoed (%s, after "%s"): the answer gets a new id, and no answer, log line, audit entry or usage record holds a piece of the key',
    async (provider, before) => {
      const key = fakeProviderKey(provider);
      const mock = await startMockProviders();
      const lines: string[] = [];
      const line = (object: object, message: string) => void lines.push(JSON.stringify({ message, ...object }));
      const { byokit, storage } = await testByokit({
        providers: { [provider]: { baseUrl: mock.baseUrls[provider] } },
        logger: { debug: line, info: line, warn: line, error: line },
      });
      try {
        const headers = { 'x-request-id': `${before}${key}` };
        const saved = await call(byokit, 'PATCH', '/users/me/api-key', {
          principal: alice,
          headers,
          body: { [`${provider}_api_key`]: key },
        });
        const models = await call(byokit, 'GET', '/llm-models/?is_active=true', { principal: alice, headers });
        const model = (models!.json.data as Array<{ id: string; provider: string }>).find((candidate) => candidate.provider === provider)!;
        const body = { model_id: model.id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 16 };
        const chat = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, headers, body });
        const refused = await call(byokit, 'GET', '/admin/usage', { principal: alice, headers });
        // The key in the path too: the request's debug log line names the path.
        const misplaced = await call(byokit, 'GET', `/llm-models/${key}`, { principal: alice, headers });
        expect(misplaced!.status).toBe(422);
        await byokit.close(); // writes the usage records still on their way
        const answers = [saved, models, chat, refused, misplaced].map((answer) => {
          expect(answer!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
          return JSON.stringify({ headers: answer!.headers, body: answer!.text });
        });
        expect([saved!.status, chat!.status, refused!.status]).toEqual([200, 200, 403]);
        const usage = await storage.listUsage({ limit: 10 });
        expect(usage.records).toHaveLength(1);
        const audit = await storage.listAudit({ limit: 10 });
        const texts = [...answers, ...lines, JSON.stringify(usage), JSON.stringify(audit)].map(
          (text, index) => [`text ${index}`, text] as [string, string],
        );
        expect(findKeyLeaks([key], texts)).toEqual([]);
      } finally {
        await mock.close();
      }
    },
  );
});

describe("each route's body limit", () => {
  // docs/http-api.md, "Body limits": a body of exactly the route's limit is read (and judged on what it holds), one
  // byte more is 413 payload_too_large.
  const KiB = 1024;
  it.each<[string, string, number]>([
    ['PATCH', '/users/me/api-key', 8 * KiB],
    ['PATCH', '/admin/api-key', 8 * KiB],
    ['POST', '/llm-models', 16 * KiB],
    ['PATCH', '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82', 16 * KiB],
    ['PUT', '/admin/users/user-bob/budget', 1 * KiB],
    ['POST', '/llm/chat/completions', 2 * KiB * KiB],
    ['POST', '/openai/v1/chat/completions', 2 * KiB * KiB],
  ])('%s %s takes %i bytes, not one more', async (method, url, limit) => {
    const { byokit } = await testByokit();
    const sized = (bytes: number) => call(byokit, method, url, { principal: admin, rawBody: '{}'.padEnd(bytes, ' ') });
    const [atLimit, over] = [await sized(limit), await sized(limit + 1)];
    expect([atLimit!.status === 413, over!.status]).toEqual([false, 413]);
  });
});

describe('the order of checks', () => {
  // docs/http-api.md, "Order of checks": route → principal (401) → admin (403) → path parameters (422) → media type
  // (415) → size (413) → JSON (400) → body schema, then query schema (422) → key rules (422). Each row has its own
  // fault and every later one: it is refused for its own.
  const big = 'x'.repeat(9000);
  const badQuery = '/admin/api-key?verfy=true';
  it.each<[string, string, Principal | null, string, string, [number, string, string?]]>([
    ['no principal', badQuery, null, 'text/plain', big, [401, 'unauthenticated']],
    ['no admin', badQuery, alice, 'text/plain', big, [403, 'forbidden']],
    ['a path parameter', '/llm-models/not-a-uuid?verfy=true', admin, 'text/plain', big, [422, 'validation_failed', 'id']],
    ['the media type', badQuery, admin, 'text/plain', big, [415, 'unsupported_media_type']],
    ['the size', badQuery, admin, 'application/json', big, [413, 'payload_too_large']],
    ['the JSON', badQuery, admin, 'application/json', '{"openai_api_key":', [400, 'invalid_json']],
    ['the body schema', badQuery, admin, 'application/json', '{"openai_api_key":"x","extra":1}', [422, 'validation_failed', 'extra']],
    ['the query schema', badQuery, admin, 'application/json', '{"openai_api_key":"x"}', [422, 'validation_failed', 'verfy']],
    ['the key rules', '/admin/api-key', admin, 'application/json', '{"openai_api_key":"x"}', [422, 'invalid_key_format']],
  ])('refuses for %s first', async (_fault, url, principal, contentType, rawBody, expected) => {
    const { byokit, storage } = await testByokit();
    const response = await call(byokit, 'PATCH', url, { principal, contentType, rawBody });
    const { code, issues } = response!.json.error;
    expect([response!.status, code, ...(expected[2] ? [issues[0].path] : [])]).toEqual(expected);
    expect(await storage.listAudit()).toEqual([]);
  });
});

describe('routing', () => {
  it('leaves paths it does not own to the host', async () => {
    const { byokit } = await testByokit();
    expect(await call(byokit, 'GET', '/users/me', { principal: alice })).toBeUndefined();
    expect(await call(byokit, 'POST', '/login/access-token')).toBeUndefined();
  });

  it('answers 405 with Allow for a known path and a wrong method', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'POST', '/users/me/api-key', { principal: alice, body: {} });
    expect(response!.status).toBe(405);
    expect(response!.headers.allow).toBe('PATCH, DELETE');
    expect(response!.json.error.code).toBe('method_not_allowed');
  });

  it("refuses a browser's CORS preflight with 405 and Allow, and answers no request with a CORS header of its own", async () => {
    // The adapters' READMEs: byokit sends no CORS headers; the host mounts cors() before it, which answers preflights.
    const { byokit } = await testByokit();
    const cors = { origin: 'https://app.example', 'access-control-request-method': 'PATCH' };
    const preflight = await call(byokit, 'OPTIONS', '/users/me/api-key', { headers: cors });
    expect([preflight!.status, preflight!.headers.allow, preflight!.json.error.code]).toEqual([405, 'PATCH, DELETE', 'method_not_allowed']);
    const status = await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice, headers: { origin: 'https://app.example' } });
    expect(status!.status).toBe(200);
    for (const answer of [preflight!, status!])
      expect(Object.keys(answer.headers).filter((name) => name.toLowerCase().startsWith('access-control-'))).toEqual([]);
  });

  it('answers HEAD on a GET route as GET, with the same status and headers and no body (RFC 9110 §9.3.2)', async () => {
    const { byokit } = await testByokit();
    for (const url of ['/users/me/api-key-status', '/llm-models/', '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82', '/openapi.json']) {
      const get = await call(byokit, 'GET', url, { principal: alice, headers: { 'x-request-id': 'same' } });
      const head = await call(byokit, 'HEAD', url, { principal: alice, headers: { 'x-request-id': 'same' } });
      expect([head!.status, head!.headers, head!.text], url).toEqual([get!.status, get!.headers, '']);
      expect(get!.text, url).not.toBe('');
    }
  });

  it('answers a refused HEAD with the status and headers GET would get, and no body', async () => {
    const { byokit } = await testByokit();
    const signedOut = await call(byokit, 'HEAD', '/users/me/api-key-status');
    expect([signedOut!.status, signedOut!.text]).toEqual([401, '']);
    const notAdmin = await call(byokit, 'HEAD', '/admin/api-key-status', { principal: alice });
    expect([notAdmin!.status, notAdmin!.text]).toEqual([403, '']);
    const unknownModel = await call(byokit, 'HEAD', '/llm-models/00000000-0000-0000-0000-000000000000', { principal: alice });
    expect([unknownModel!.status, unknownModel!.headers['content-type'], unknownModel!.text]).toEqual([
      404,
      'application/json; charset=utf-8',
      '',
    ]);
  });

  it('lists HEAD in Allow wherever GET is allowed, and refuses HEAD where there is no GET', async () => {
    const { byokit } = await testByokit();
    const onStatus = await call(byokit, 'POST', '/users/me/api-key-status', { principal: alice, body: {} });
    expect([onStatus!.status, onStatus!.headers.allow]).toEqual([405, 'GET, HEAD']);
    expect(onStatus!.json.error.message).toBe('POST is not allowed here; use GET, HEAD.');
    const onModel = await call(byokit, 'DELETE', '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82', { principal: alice });
    expect(onModel!.headers.allow).toBe('GET, HEAD, PATCH');
    const onChat = await call(byokit, 'HEAD', '/llm/chat/completions', { principal: alice });
    expect([onChat!.status, onChat!.headers.allow, onChat!.text]).toEqual([405, 'POST', '']);
  });

  it.each([
    ['a budget for a user id with a broken escape', 'PUT', '/admin/users/%E0%A4%A/budget', { monthly_limit_usd: '5' }, 'user_id'],
    ['a budget for a user id with a bare %', 'PUT', '/admin/users/50%/budget', { monthly_limit_usd: '5' }, 'user_id'],
    ['a model id with %zz', 'PATCH', '/llm-models/%zz', { display_name: 'x' }, 'id'],
  ])('refuses %s with 422 naming the parameter, and stores nothing', async (_name, method, url, body, parameter) => {
    const { byokit, storage } = await testByokit();
    const response = await call(byokit, method, url, { principal: admin, body });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: parameter }] });
    expect(await storage.getBudget('%E0%A4%A')).toBeNull();
    expect(await storage.getBudget('50%')).toBeNull();
  });

  // A query value is decoded as a path parameter is: URLSearchParams kept `%zz` as sent and made bytes that are not
  // UTF-8 U+FFFD, so `?user_id=%E9` (é from a Latin-1 client) answered 200 with the usage of a user "\uFFFD".
  it.each([
    ['bytes that are not UTF-8', '/admin/usage?user_id=caf%E9'],
    ['a lone surrogate encoded in UTF-8', '/admin/usage?user_id=%ED%A0%80'],
    ['a broken escape', '/admin/usage?user_id=%E0%A4%A'],
    ['%zz', '/admin/usage?user_id=a%zz'],
    ['a bare %', '/admin/usage?user_id=50%'],
  ])('refuses a query value with %s with 422 naming it, as a path parameter is', async (_name, url) => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', url, { principal: admin });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'user_id' }] });
  });

  it('decodes well-formed escapes and + in a query value, as before', async () => {
    const { byokit } = await testByokit();
    const encoded = await call(byokit, 'GET', '/admin/usage?user_id=caf%C3%A9&group_by=user', { principal: admin });
    expect(encoded!.status).toBe(200);
    const plus = await call(byokit, 'GET', `/admin/usage?user_id=a+b%2Bc&group_by=user`, { principal: admin });
    expect(plus!.status).toBe(200);
    const refused = await call(byokit, 'GET', '/admin/usage?user_id=a+b%00', { principal: admin });
    expect(refused!.json.error.issues).toEqual([{ path: 'user_id', message: expect.stringContaining('NUL') }]);
  });

  it("refuses a model name whose escapes are not UTF-8 on the OpenAI-compatible route, in OpenAI's shape", async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/openai/v1/models/gpt-%FF', { principal: alice });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
  });

  it('decodes well-formed escapes in a parameter', async () => {
    const { byokit } = await testByokit();
    const set = await call(byokit, 'PUT', '/admin/users/user%20bob%25/budget', { principal: admin, body: { monthly_limit_usd: '5' } });
    expect(set!.status).toBe(200);
    const seen = await call(byokit, 'GET', '/users/me/budget', { principal: { userId: 'user bob%', isAdmin: false } });
    expect(seen!.json.monthly_limit_usd).toBe('5');
  });

  /** The key status asked for through a host's `authenticate`, whatever it does. */
  const keyStatusAuthenticatedBy = (authenticate: ByokitRequest['authenticate']) =>
    testByokit().then(({ byokit }) =>
      byokit.handle({ method: 'GET', url: '/users/me/api-key-status', headers: {}, body: { kind: 'none' }, authenticate }),
    );

  it('answers a host whose authenticate throws with a plain internal_error', async () => {
    const response = await keyStatusAuthenticatedBy(() => {
      throw new Error('session store down');
    });
    expect(response!.status).toBe(500);
    expect(JSON.parse(response!.body as string).error).toMatchObject({ code: 'internal_error' });
    expect(response!.body).not.toContain('session store');
  });

  // What a host's code throws may be no object at all: a promise rejected without a reason (`reject()`), `throw null`.
  // And an error of the host's own may carry an `allowed` of its own (an authorisation library's), no list of methods.
  it.each<[string, () => never]>([
    ['a rejection without a reason', () => Promise.reject() as never],
    [
      'null thrown',
      () => {
        throw null;
      },
    ],
    [
      "an error of the host's own with a field named allowed",
      () => {
        throw Object.assign(new Error('forbidden by policy'), { allowed: ['read'] });
      },
    ],
    // A session object behind a revocable proxy, revoked when the session ends: every read of it throws, and so
    // does every read of a proxy whose get trap throws. Reading whether it was a ByokitError made handle() reject.
    [
      'a revoked proxy thrown',
      () => {
        throw revokedProxy();
      },
    ],
    ['a revoked proxy rejected', () => Promise.reject(revokedProxy()) as never],
    // Copied for the log line, field by field: an AggregateError's list of errors among them.
    [
      'an error whose errors are a revoked proxy',
      () => {
        throw Object.assign(new Error('every session store refused'), { errors: revokedProxy() });
      },
    ],
    [
      'a proxy whose every read throws',
      () => {
        throw new Proxy(new Error('session gone'), {
          get: () => {
            throw new Error('session gone');
          },
        });
      },
    ],
    [
      'a principal whose userId getter throws a revoked proxy',
      () =>
        ({
          get userId(): never {
            throw revokedProxy();
          },
          isAdmin: false,
        }) as never,
    ],
  ])('answers a host whose authenticate fails with %s with a plain internal_error, and no Allow header', async (_what, fail) => {
    const response = await keyStatusAuthenticatedBy(fail);
    expect([response!.status, JSON.parse(response!.body as string).error.code, response!.headers.allow]).toEqual([
      500,
      'internal_error',
      undefined,
    ]);
  });
});

// A route that reads no query ignored one (so that a cache-buster works, docs/http-api.md), a field of its own body
// sent there too: `PATCH /llm-models/{id}?is_active=false` answered 200 with the model still active.
describe("a field of a route's body sent in its query instead", () => {
  const sonnet = '564e8710-43a9-406f-b0ab-e8d651a33e82';
  const hi = [{ role: 'user', content: 'Hi' }];

  it.each([
    ['a model deactivated in the query', 'PATCH', `/llm-models/${sonnet}?is_active=false`, { display_name: 'Renamed' }, 'is_active'],
    ['a budget scope in the query', 'PUT', '/admin/users/user-bob/budget?applies_to=system', { monthly_limit_usd: '5' }, 'applies_to'],
    ['a model created inactive in the query', 'POST', '/llm-models?is_active=false&_=1', newModel(), 'is_active'],
  ])('is refused with 422 naming it, and nothing changes: %s', async (_name, method, url, body, parameter) => {
    const { byokit, storage } = await testByokit();
    const before = JSON.stringify([await storage.listModels(), await storage.getBudget('user-bob')]);
    const response = await call(byokit, method, url, { principal: admin, body });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({
      code: 'validation_failed',
      issues: [{ path: parameter, message: `Send ${parameter} in the JSON body, not in the query string.` }],
    });
    expect(JSON.stringify([await storage.listModels(), await storage.getBudget('user-bob')])).toBe(before);
  });

  it("is refused on both chat routes before any provider is called, on the OpenAI-compatible one in OpenAI's shape", async () => {
    const { byokit } = await testByokit({
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: 'http://127.0.0.1:9' } },
    });
    const chat = await call(byokit, 'POST', '/llm/chat/completions?stream=true', {
      principal: alice,
      body: { model_id: sonnet, messages: hi },
    });
    expect(chat!.status).toBe(422);
    expect(chat!.json.error.issues).toEqual([{ path: 'stream', message: 'Send stream in the JSON body, not in the query string.' }]);
    const openAI = await call(byokit, 'POST', '/openai/v1/chat/completions?stream=true', {
      principal: alice,
      body: { model: sonnet, messages: hi },
    });
    expect(openAI!.status).toBe(422);
    expect(openAI!.json.error).toMatchObject({ type: 'invalid_request_error', param: 'stream', code: 'validation_failed' });
  });

  it('still lets a name no route field has through, such as a cache-buster', async () => {
    const { byokit } = await testByokit();
    const renamed = await call(byokit, 'PATCH', `/llm-models/${sonnet}?_=1733350000`, {
      principal: admin,
      body: { display_name: 'Renamed' },
    });
    expect(renamed!.status).toBe(200);
    expect((await call(byokit, 'GET', '/users/me/budget?_=1733350000', { principal: alice }))!.status).toBe(200);
  });
});

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

function newModel() {
  return {
    provider: 'openai',
    model: 'new-model',
    display_name: 'New',
    context_window: 1000,
    max_output_tokens: 100,
    pricing: null,
  };
}

// PostgreSQL's text cannot hold U+0000: text byokit stores or looks up is refused for every storage alike
// (storage-postgres/src/stored-text.test.ts proves the same on PostgreSQL, where it was a 500).
// An unknown field's name is repeated in the error, cut to 200 characters: cut inside an emoji, the answer held
// half a surrogate pair, which strict JSON parsers (Rust's serde_json, Swift's JSONDecoder) refuse outright.
describe('an unknown field whose long name ends in an emoji', () => {
  it.each([199, 200])('is named in the 422 as well-formed text, cut before the emoji, after %i letters', async (letters) => {
    const { byokit } = await testByokit();
    const name = `${'a'.repeat(letters)}\u{1F600}`;
    const response = await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [name]: null } });
    expect(response!.status).toBe(422);
    const { message, issues } = response!.json.error;
    expect(issues[0].path).toBe(`${'a'.repeat(letters)}…`);
    expect(message.isWellFormed()).toBe(true);
    expect(response!.text.isWellFormed()).toBe(true);
    expect(response!.text).not.toMatch(/\\ud83d/i);
  });
});

describe('text with a NUL character, which a storage could not hold', () => {
  it.each([
    ['a budget for a user id with a NUL', 'PUT', '/admin/users/user%00bob/budget', { monthly_limit_usd: '5' }, 'user_id'],
    ['the usage of a user id with a NUL', 'GET', '/admin/usage?user_id=user%00bob', undefined, 'user_id'],
    [
      'a model whose display name has a NUL',
      'POST',
      '/llm-models/',
      { provider: 'openai', model: 'gpt-x', display_name: 'GPT\u0000X', context_window: 1000, max_output_tokens: 100, pricing: null },
      'display_name',
    ],
  ])('refuses %s with 422 naming the field', async (_name, method, url, body, field) => {
    const { byokit } = await testByokit();
    const response = await call(byokit, method, url, { principal: admin, body });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({
      code: 'validation_failed',
      issues: [{ path: field, message: expect.stringContaining('NUL') }],
    });
  });

  it.each([
    ['a NUL', 'user\u0000alice'],
    ['a lone surrogate', 'user\ud83d'],
    ['256 characters, more than the key table holds', 'u'.repeat(256)],
  ])("answers a host whose authenticate gives a user id with %s with a plain internal_error, the host's bug", async (_what, userId) => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/users/me/api-key-status', { principal: { userId, isAdmin: false } });
    expect(response!.status).toBe(500);
    expect(response!.json.error.code).toBe('internal_error');
  });

  // 255 characters is one rule: the route's schema (zod, like the OpenAPI document's maxLength) and PostgreSQL's
  // length() count characters (code points), and an emoji is one of them though two UTF-16 units. Counted in units
  // for the principal, a user id an admin had given a budget was refused as a host bug when that user signed in.
  it('takes a user id of 255 emoji as a principal, in an admin path and in code alike, and refuses 256 everywhere', async () => {
    const { byokit } = await testByokit();
    const longest = '\u{1F600}'.repeat(255);
    const set = await call(byokit, 'PUT', `/admin/users/${encodeURIComponent(longest)}/budget`, {
      principal: admin,
      body: { monthly_limit_usd: '5' },
    });
    expect(set!.status).toBe(200);
    const own = await call(byokit, 'GET', '/users/me/budget', { principal: { userId: longest, isAdmin: false } });
    expect(own!.status).toBe(200);
    expect(own!.json).toMatchObject({ monthly_limit_usd: '5' });
    await expect(byokit.resolveKey({ userId: longest }, 'anthropic')).rejects.toMatchObject({ code: 'api_key_required' });

    const tooLong = '\u{1F600}'.repeat(256);
    const refused = await call(byokit, 'PUT', `/admin/users/${encodeURIComponent(tooLong)}/budget`, {
      principal: admin,
      body: { monthly_limit_usd: '5' },
    });
    expect(refused!.status).toBe(422);
    expect(refused!.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'user_id' }] });
    const signedIn = await call(byokit, 'GET', '/users/me/budget', { principal: { userId: tooLong, isAdmin: false } });
    expect(signedIn!.status).toBe(500);
    await expect(byokit.resolveKey({ userId: tooLong }, 'anthropic')).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

describe("user ids: one rule for the host's principal, an admin's paths and code", () => {
  // One rule for the principal and the admin's paths: an admin must be able to reach every user who can call. A host
  // whose users choose their ids (a user name, an email) had users no admin could give a budget, and so no limit.
  it.each([
    ['an email beginning sk-', 'sk-developer-account@example.com'],
    // In an OpenAI key's lenient format (sk- and 20 or more letters, digits, - or _), but shorter than any real key.
    ['an email beginning sk- with a longer name', 'sk-marketing-department@example.com'],
    ['a user name beginning sk-', 'sk-platform-engineering-team'],
    ['an email beginning bearer+', 'bearer+alice@example.com'],
    ['a user name with api_key=', 'team|api_key=ops'],
  ])('takes a user id that is %s as a principal and in an admin path alike: an admin can set its budget', async (_what, userId) => {
    const { byokit } = await testByokit();
    const signedIn = await call(byokit, 'GET', '/users/me/budget', { principal: { userId, isAdmin: false } });
    expect(signedIn!.status).toBe(200);
    const set = await call(byokit, 'PUT', `/admin/users/${encodeURIComponent(userId)}/budget`, {
      principal: admin,
      body: { monthly_limit_usd: '0' },
    });
    expect(set!.status).toBe(200);
    const own = await call(byokit, 'GET', '/users/me/budget', { principal: { userId, isAdmin: false } });
    expect(own!.json).toMatchObject({ monthly_limit_usd: '0' });
    const usage = await call(byokit, 'GET', `/admin/usage?user_id=${encodeURIComponent(userId)}`, { principal: admin });
    expect(usage!.status).toBe(200);
  });

  it.each(['.', '..'])(
    'refuses the user id %s everywhere, which no URL path can hold: fetch clients and runtimes take it as a dot segment',
    async (userId) => {
      const { byokit } = await testByokit({ fetchHandler: { authenticate: () => admin } });
      // What an admin's client sends for this user, and where a fetch runtime takes it (RFC 3986 §5.2.4): not to the user.
      const url = `http://host.test/v2/admin/users/${userId.replaceAll('.', '%2E')}/budget`;
      expect(new Request(url).url).not.toContain('/users/%2E');
      const signedIn = await call(byokit, 'GET', '/users/me/budget', { principal: { userId, isAdmin: false } });
      expect(signedIn!.status).toBe(500);
      const set = await call(byokit, 'PUT', `/admin/users/${userId.replaceAll('.', '%2E')}/budget`, {
        principal: admin,
        body: { monthly_limit_usd: '5' },
      });
      expect([set!.status, set!.json.error.code]).toEqual([422, 'validation_failed']);
      await expect(byokit.resolveKey({ userId }, 'anthropic')).rejects.toMatchObject({ code: 'validation_failed' });
    },
  );

  it.each<[string, unknown, string]>([
    ['a dot segment as the user id', { userId: '..', isAdmin: false }, 'userId is . or .., which no URL path can hold'],
    ['a number as the user id (a database serial)', { userId: 42, isAdmin: false }, 'userId is a number, not a string'],
    ['an empty user id', { userId: '', isAdmin: false }, 'userId is empty'],
    ['a user id of 256 characters', { userId: 'u'.repeat(256), isAdmin: false }, 'userId is longer than 255 characters'],
    ['a user id with a NUL', { userId: 'a\u0000b', isAdmin: false }, 'userId holds a NUL character (U+0000)'],
    [
      'a user id with a lone surrogate',
      { userId: 'a\ud83d', isAdmin: false },
      'userId is not well-formed Unicode (it holds a lone surrogate)',
    ],
    ['a whole key as the user id', { userId: fakeProviderKey('google'), isAdmin: false }, 'userId holds a provider API key'],
    ["isAdmin as text ('false')", { userId: 'alice', isAdmin: 'false' }, 'isAdmin is a string, not a boolean'],
    ['isAdmin left out', { userId: 'alice' }, 'isAdmin is undefined, not a boolean'],
    ['a user id alone, as text', 'alice', 'the principal is a string, not { userId, isAdmin }'],
  ])("logs what is wrong with a host's principal that is %s, not the user id, and answers 500", async (_what, principal, why) => {
    const logged: unknown[][] = [];
    const record = (...line: unknown[]) => void logged.push(line);
    const logger = { debug: () => {}, info: record, warn: record, error: record };
    const { byokit } = await testByokit({ logger });
    const response = await byokit.handle({
      method: 'GET',
      url: '/users/me/budget',
      headers: {},
      body: { kind: 'none' },
      authenticate: () => principal as Principal,
    });
    expect([response!.status, JSON.parse(String(response!.body)).error.code]).toEqual([500, 'internal_error']);
    expect(logged).toHaveLength(1);
    const message = (logged[0]![0] as { err: Error }).err.message;
    expect(message).toContain(`authenticate() returned a principal byokit cannot take: ${why}.`);
    const userId = (principal as { userId?: unknown }).userId;
    // Ids long enough not to be found in the message's own words.
    if (typeof userId === 'string' && userId.length > 4) expect(JSON.stringify(logged)).not.toContain(userId);
  });

  // A key copied with what surrounded it (`Bearer sk-…`, `key=AIza…`, a line break after it) is a key all the same.
  it.each([
    ['after Bearer', (key: string) => `Bearer ${key}`],
    ['as a query value', (key: string) => `api_key=${key}`],
    ['with a line break after it', (key: string) => `${key}\n`],
  ])('refuses a user id holding a whole key %s everywhere, and still takes ids that only start like one', async (_how, around) => {
    const { byokit, storage } = await testByokit();
    for (const provider of ['anthropic', 'openai', 'google'] as const) {
      const userId = around(fakeProviderKey(provider));
      const signedIn = await call(byokit, 'GET', '/users/me/budget', { principal: { userId, isAdmin: false } });
      expect(signedIn!.status).toBe(500);
      const set = await call(byokit, 'PUT', `/admin/users/${encodeURIComponent(userId)}/budget`, {
        principal: admin,
        body: { monthly_limit_usd: '5' },
      });
      expect([set!.status, set!.json.error.code]).toEqual([422, 'validation_failed']);
      expect(await storage.getBudget(userId)).toBeNull();
      await expect(byokit.resolveKey({ userId }, provider)).rejects.toMatchObject({ code: 'validation_failed' });
    }
    for (const userId of ['sk-developer-account@example.com', 'Bearer sk-team', 'AIza fan club']) {
      const signedIn = await call(byokit, 'GET', '/users/me/budget', { principal: { userId, isAdmin: false } });
      expect(signedIn!.status).toBe(200);
    }
  });

  it.each(['anthropic', 'openai', 'google'] as const)(
    'refuses a user id that is a whole %s key everywhere: the principal (host bug), an admin path and code alike',
    async (provider) => {
      const { byokit, storage } = await testByokit();
      const key = fakeProviderKey(provider);
      const signedIn = await call(byokit, 'GET', '/users/me/budget', { principal: { userId: key, isAdmin: false } });
      expect(signedIn!.status).toBe(500);
      expect(signedIn!.text).not.toContain(key.slice(20, 36));
      const set = await call(byokit, 'PUT', `/admin/users/${key}/budget`, { principal: admin, body: { monthly_limit_usd: '5' } });
      expect([set!.status, set!.json.error.code]).toEqual([422, 'validation_failed']);
      expect(await storage.getBudget(key)).toBeNull();
      await expect(byokit.resolveKey({ userId: key }, 'anthropic')).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(byokit.usage.events(key)).rejects.toMatchObject({ code: 'validation_failed' });
    },
  );
});

describe("the host's principal, read once", () => {
  // A host's object may compute its fields (getters, a proxy over a session): what byokit checked is what it acts on.
  it('acts as the user and with the rights it checked, however the fields read afterwards', async () => {
    const { byokit, storage } = await testByokit();
    let reads = 0;
    const shifting = {
      get userId() {
        return reads++ === 0 ? 'alice-checked' : 'someone-else';
      },
      get isAdmin() {
        return reads > 1;
      },
    };
    const answer = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: shifting as Principal,
      body: { openai_api_key: fakeProviderKey('openai') },
    });
    expect(answer!.status).toBe(200);
    expect(await storage.listKeys(userOwner('alice-checked'))).toHaveLength(1);
    expect(await storage.listKeys(userOwner('someone-else'))).toEqual([]);
    reads = 0;
    const adminOnly = await call(byokit, 'GET', '/llm-models/?all=true', { principal: shifting as Principal });
    expect(adminOnly!.status).toBe(403);
  });
});

// Zod's own words ("Invalid input: expected string, received undefined", "Unrecognized key: \"foo\"", "Too small:
// expected number to be >=1") named no field to send, spoke of JavaScript's undefined and ended without a period.
describe('a refused field or query parameter is told in a sentence, with what to send instead', () => {
  const sonnet = '564e8710-43a9-406f-b0ab-e8d651a33e82';
  const hi = [{ role: 'user', content: 'Hi' }];

  it.each<[string, string, string, Principal, unknown, string, string]>([
    [
      'a key that is a number',
      'PATCH',
      '/users/me/api-key',
      alice,
      { openai_api_key: 5 },
      'openai_api_key',
      'A key is a string, or null to remove it.',
    ],
    [
      'an unknown body field',
      'PATCH',
      '/users/me/api-key',
      alice,
      { owner: 'x', openai_api_key: null },
      'owner',
      'Unknown field: the body takes only anthropic_api_key, openai_api_key, google_api_key.',
    ],
    ['a chat without messages', 'POST', '/llm/chat/completions', alice, { model_id: sonnet }, 'messages', 'Required: send an array.'],
    [
      'max_tokens 0',
      'POST',
      '/llm/chat/completions',
      alice,
      { model_id: sonnet, messages: hi, max_tokens: 0 },
      'max_tokens',
      'Must be at least 1.',
    ],
    ['top_p 3', 'POST', '/llm/chat/completions', alice, { model_id: sonnet, messages: hi, top_p: 3 }, 'top_p', 'Must be at most 1.'],
    ['is_active "yes"', 'PATCH', `/llm-models/${sonnet}`, admin, { is_active: 'yes' }, 'is_active', 'Must be a boolean; got a string.'],
    [
      'applies_to "some"',
      'PUT',
      '/admin/users/user-bob/budget',
      admin,
      { monthly_limit_usd: '5', applies_to: 'some' },
      'applies_to',
      'Must be one of system, all.',
    ],
    [
      'an unknown field in a message',
      'POST',
      '/llm/chat/completions',
      alice,
      { model_id: sonnet, messages: [{ role: 'user', content: 'Hi', name: 'me' }] },
      'messages.0.name',
      'Unknown field: messages.0 takes only role, content.',
    ],
    [
      'a model without its provider',
      'POST',
      '/llm-models/',
      admin,
      { model: 'm', display_name: 'M', context_window: 1000, max_output_tokens: 100, pricing: null },
      'provider',
      'Required: send one of anthropic, openai, google.',
    ],
    [
      'max_tokens 1.5',
      'POST',
      '/llm/chat/completions',
      alice,
      { model_id: sonnet, messages: hi, max_tokens: 1.5 },
      'max_tokens',
      'Must be a whole number.',
    ],
    ['an empty user_id', 'GET', '/admin/usage?user_id=', admin, undefined, 'user_id', 'Cannot be empty.'],
    // A number where the contract shows a decimal string ("20"): the format, not only its type.
    [
      'a budget as a number',
      'PUT',
      '/admin/users/user-bob/budget',
      admin,
      { monthly_limit_usd: 20 },
      'monthly_limit_usd',
      'A budget is a decimal string of US dollars, e.g. "20" or "7.50".',
    ],
    [
      'a price as a number',
      'PATCH',
      `/llm-models/${sonnet}`,
      admin,
      { pricing: { input_per_mtok_usd: 3, output_per_mtok_usd: '15' } },
      'pricing.input_per_mtok_usd',
      'A price is a decimal string of USD per million tokens, e.g. "3" or "0.075".',
    ],
    [
      'an unknown provider',
      'DELETE',
      '/users/me/api-key?provider=mistral',
      alice,
      undefined,
      'provider',
      'Must be one of anthropic, openai, google.',
    ],
    [
      'an unknown query parameter',
      'GET',
      '/llm-models/?active=true',
      alice,
      undefined,
      'active',
      'Unknown query parameter: this route takes only is_active, provider, all.',
    ],
    [
      'a query parameter given twice',
      'DELETE',
      '/users/me/api-key?provider=openai&provider=google',
      alice,
      undefined,
      'provider',
      'Given more than once: send it once.',
    ],
    [
      'a body field in the query',
      'PATCH',
      `/llm-models/${sonnet}?is_active=false`,
      admin,
      { display_name: 'R' },
      'is_active',
      'Send is_active in the JSON body, not in the query string.',
    ],
  ])('%s', async (_name, method, url, principal, body, path, message) => {
    const { byokit } = await testByokit();
    const response = await call(byokit, method, url, { principal, ...(body !== undefined && { body }) });
    expect(response!.status).toBe(422);
    const where = url.includes('?') ? 'query' : 'body';
    expect(response!.json.error).toMatchObject({
      code: 'validation_failed',
      message: `The request ${where} is not valid: ${path}: ${message}`,
      issues: [{ path, message }],
    });
  });

  it('joins several refusals in one sentence, each naming its field', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: {} });
    expect(response!.json.error.message).toBe(
      'The request body is not valid: model_id: model_id must be a model UUID from GET /llm-models/; messages: Required: send an array.',
    );
  });

  it("is worded alike on the OpenAI-compatible route, in OpenAI's shape", async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: { model: sonnet } });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({
      message: 'The request body is not valid: messages: Required: send an array.',
      param: 'messages',
    });
    // OpenAI's body takes too many fields to list in a sentence: the API description lists them.
    const tools = await call(byokit, 'POST', '/openai/v1/chat/completions', {
      principal: alice,
      body: { model: sonnet, messages: hi, tools: [] },
    });
    expect(tools!.json.error).toMatchObject({
      message: 'The request body is not valid: tools: Unknown field: GET /openapi.json lists the ones the body takes.',
      param: 'tools',
    });
  });
});
