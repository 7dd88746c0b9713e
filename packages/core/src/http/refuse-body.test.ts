import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { SYSTEM_OWNER, userOwner } from '../storage/storage.js';
import { admin, alice, call, testByokit, watchedBody } from './test-helpers.js';
import type { RequestBody } from './types.js';

const json = (text: string) => new TextEncoder().encode(text);

/** A byokit where alice has OpenAI and Google keys and the system has both too. */
async function withKeys() {
  const { byokit, storage } = await testByokit();
  const keys = { openai_api_key: fakeProviderKey('openai'), google_api_key: fakeProviderKey('google') };
  await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: keys });
  await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: keys });
  const providers = async () => ({
    personal: (await storage.listKeys(userOwner(alice.userId))).map((key) => key.provider).sort(),
    system: (await storage.listKeys(SYSTEM_OWNER)).map((key) => key.provider).sort(),
  });
  return { byokit, providers, before: await providers() };
}

describe('a body sent to a route that takes none', () => {
  it('is refused with 422 on DELETE /users/me/api-key, saying the provider goes in the query, and no key is removed', async () => {
    const { byokit, providers, before } = await withKeys();
    const response = await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice, body: { provider: 'openai' } });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({
      code: 'validation_failed',
      message: 'This route takes no request body: send provider in the query string (?provider=…), not in a body.',
      issues: [{ path: '', message: expect.stringContaining('takes no request body') }],
    });
    expect(await providers()).toEqual(before);
  });

  it('is refused on the admin DELETE /admin/api-key, and no system key is removed', async () => {
    const { byokit, providers, before } = await withKeys();
    const response = await call(byokit, 'DELETE', '/admin/api-key', { principal: admin, body: { provider: 'google' } });
    expect([response!.status, response!.json.error.code]).toEqual([422, 'validation_failed']);
    expect(await providers()).toEqual(before);
  });

  it('is refused on a GET too, on a route with no parameters, and in OpenAI’s shape on its routes', async () => {
    const { byokit } = await testByokit();
    const status = await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice, body: {} });
    expect(status!.status).toBe(422);
    expect(status!.json.error.message).toBe('This route takes no request body: send the request without one.');
    const models = await call(byokit, 'GET', '/openai/v1/models', { principal: alice, body: { model: 'x' } });
    expect(models!.status).toBe(422);
    expect(models!.json.error).toMatchObject({ message: expect.stringContaining('takes no request body') });
  });

  it('is refused whatever its media type, and before the query is read', async () => {
    const { byokit } = await testByokit();
    const form = await call(byokit, 'DELETE', '/users/me/api-key?provider=nope', {
      principal: alice,
      rawBody: 'provider=openai',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect([form!.status, form!.json.error.issues]).toEqual([422, [{ path: '', message: expect.stringContaining('no request body') }]]);
  });

  it('is still 401 for an anonymous caller: who calls is checked first', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'DELETE', '/users/me/api-key', { principal: null, body: { provider: 'openai' } });
    expect(response!.status).toBe(401);
  });

  /** [how the body was sent, its declared length, the body as the adapter hands it over, refused] */
  const bodies: Array<[string, string | undefined, RequestBody, boolean]> = [
    ['no body at all', undefined, { kind: 'none' }, false],
    ['an empty body, no length declared', undefined, { kind: 'stream', stream: [] }, false],
    ['Content-Length: 0', '0', { kind: 'stream', stream: [] }, false],
    ['an empty chunk, chunked', undefined, { kind: 'stream', stream: [new Uint8Array()] }, false],
    ["express.json()'s {} for an empty body", undefined, { kind: 'parsed', value: {} }, false],
    ['body-parser 2, nothing parsed', undefined, { kind: 'parsed', value: undefined }, false],
    ['chunked bytes, no length declared', undefined, { kind: 'stream', stream: [json('{"provider":"openai"}')] }, true],
    ['bytes behind the adapter’s reader', undefined, { kind: 'read', read: async (limit) => (limit >= 2 ? json('{}') : undefined) }, true],
    ['a chunked body express.json() parsed', undefined, { kind: 'parsed', value: { provider: 'openai' } }, true],
    ['an array express.json() parsed', undefined, { kind: 'parsed', value: [] }, true],
    ['{} with a declared length, whoever parsed it', '2', { kind: 'parsed', value: {} }, true],
  ];
  it.each(bodies)('%s: refused %s', async (_how, length, body, refused) => {
    const { byokit, providers, before } = await withKeys();
    const response = await byokit.handle({
      method: 'DELETE',
      url: '/users/me/api-key?provider=openai',
      headers: { 'content-type': 'application/json', ...(length !== undefined && { 'content-length': length }) },
      body,
      authenticate: () => alice,
    });
    expect(response!.status).toBe(refused ? 422 : 200);
    expect((await providers()).personal).toEqual(refused ? before.personal : ['google']);
  });

  it('is refused from its declared length alone, without reading it', async () => {
    const { byokit } = await testByokit();
    const { body, wasRead } = watchedBody();
    const response = await byokit.handle({
      method: 'GET',
      url: '/users/me/api-key-status',
      headers: { 'content-length': '5000000' },
      body,
      authenticate: () => alice,
    });
    expect([response!.status, wasRead()]).toEqual([422, false]);
  });
});
