import { inspect } from 'node:util';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { PROVIDERS } from '../../keys/providers.js';
import { SYSTEM_OWNER, userOwner, type Storage } from '../../storage/storage.js';
import { admin, alice, bob, call, mockProvidersForFile, testByokit } from '../test-helpers.js';
import { RequestAbort } from '../request-abort.js';
import { findKeyLeaks } from '../../testing/leak-check.js';

/** Everything a refused request must leave as it was. */
async function snapshot(storage: Storage) {
  const owners = [userOwner(alice.userId), userOwner(bob.userId), SYSTEM_OWNER];
  const keys = await Promise.all(owners.map((owner) => storage.listKeys(owner)));
  return JSON.stringify({
    keys: keys.map((list) => list.map((key) => ({ ...key, envelope: [...key.envelope] }))),
    audit: await storage.listAudit({ limit: 1000 }),
  });
}

describe("personal keys: the guide's routes", () => {
  it("shows no keys for a new user, with the guide's three booleans and the keys extension", async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(response!.status).toBe(200);
    expect(response!.json).toEqual({
      has_anthropic_key: false,
      has_openai_key: false,
      has_google_key: false,
      keys: {
        anthropic: { configured: false, system_fallback: false },
        openai: { configured: false, system_fallback: false },
        google: { configured: false, system_fallback: false },
      },
    });
  });

  it('sets keys with PATCH and shows only their hints, never the keys', async () => {
    const { byokit } = await testByokit({ now: () => new Date('2026-11-25T10:00:00.123Z') });
    const anthropic = fakeProviderKey('anthropic');
    const openai = fakeProviderKey('openai');
    const response = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: { anthropic_api_key: anthropic, openai_api_key: openai },
    });
    expect(response!.status).toBe(200);
    expect(response!.json.has_anthropic_key).toBe(true);
    expect(response!.json.has_openai_key).toBe(true);
    expect(response!.json.has_google_key).toBe(false);
    expect(response!.json.keys.anthropic).toEqual({
      configured: true,
      hint: `…${anthropic.slice(-4)}`,
      updated_at: '2026-11-25T10:00:00Z',
      verification: 'unverified',
      system_fallback: false,
    });
    expect(response!.text).not.toContain(anthropic.slice(0, 20));
    expect(response!.text).not.toContain(openai.slice(10, 30));
  });

  it('removes a key sent as null and leaves absent fields alone', async () => {
    const { byokit } = await testByokit();
    await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: {
        anthropic_api_key: fakeProviderKey('anthropic'),
        openai_api_key: fakeProviderKey('openai'),
        google_api_key: fakeProviderKey('google'),
      },
    });
    const response = await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: null } });
    expect(response!.status).toBe(200);
    expect([response!.json.has_anthropic_key, response!.json.has_openai_key, response!.json.has_google_key]).toEqual([true, false, true]);
  });

  it('saves nothing when one field of several is bad (all or nothing), and says which field', async () => {
    const { byokit, storage } = await testByokit();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: fakeProviderKey('google') } });
    const before = await snapshot(storage);
    const response = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: { anthropic_api_key: fakeProviderKey('anthropic'), openai_api_key: 'sk-YOUR-KEY-HERE', google_api_key: null },
    });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({ code: 'placeholder_key', provider: 'openai', issues: [{ path: 'openai_api_key' }] });
    expect(await snapshot(storage)).toBe(before);
  });

  it("names the first bad field in the order anthropic, openai, google, whatever the body's order, and lists every one", async () => {
    const { byokit } = await testByokit();
    const answers: unknown[] = [];
    for (const body of [
      { google_api_key: 'not a key', openai_api_key: 'sk-YOUR-KEY-HERE' },
      { google_api_key: 'not a key', openai_api_key: 'sk-YOUR-KEY-HERE', anthropic_api_key: 'not a key either' },
    ]) {
      const { error } = (await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body }))!.json;
      answers.push([error.code, error.provider, error.issues.map((issue: { path: string }) => issue.path)]);
    }
    expect(answers).toEqual([
      ['placeholder_key', 'openai', ['openai_api_key', 'google_api_key']],
      ['invalid_key_format', 'anthropic', ['anthropic_api_key', 'openai_api_key', 'google_api_key']],
    ]);
  });

  it.each(['sk-ant-YOUR-KEY-HERE', 'sk-ant-api03-YOUR-REAL-KEY-HERE'])(
    "refuses the guide's placeholder %s with placeholder_key",
    async (placeholder) => {
      const { byokit, storage } = await testByokit();
      const before = await snapshot(storage);
      const response = await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: placeholder } });
      expect(response!.status).toBe(422);
      expect(response!.json.error.code).toBe('placeholder_key');
      expect(await snapshot(storage)).toBe(before);
    },
  );

  it('refuses the masked hint sent back as a key', async () => {
    const { byokit } = await testByokit();
    const first = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: { google_api_key: fakeProviderKey('google') },
    });
    const hint = first!.json.keys.google.hint;
    const response = await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: hint } });
    expect(response!.status).toBe(422);
    expect(response!.json.error.code).toBe('placeholder_key');
  });

  it('deletes all personal keys with DELETE, or one with ?provider=', async () => {
    const { byokit } = await testByokit();
    const body = {
      anthropic_api_key: fakeProviderKey('anthropic'),
      openai_api_key: fakeProviderKey('openai'),
      google_api_key: fakeProviderKey('google'),
    };
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body });
    const one = await call(byokit, 'DELETE', '/users/me/api-key?provider=openai', { principal: alice });
    expect(one!.status).toBe(200);
    expect([one!.json.has_anthropic_key, one!.json.has_openai_key, one!.json.has_google_key]).toEqual([true, false, true]);
    const all = await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice });
    expect([all!.json.has_anthropic_key, all!.json.has_openai_key, all!.json.has_google_key]).toEqual([false, false, false]);
  });

  it('refuses an unknown ?provider= on DELETE and deletes nothing', async () => {
    const { byokit, storage } = await testByokit();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    const before = await snapshot(storage);
    const response = await call(byokit, 'DELETE', '/users/me/api-key?provider=azure', { principal: alice });
    expect(response!.status).toBe(422);
    expect(response!.json.error.code).toBe('validation_failed');
    expect(await snapshot(storage)).toBe(before);
  });

  it('refuses a misspelt query parameter on DELETE (?provder=openai) instead of deleting every key', async () => {
    const { byokit, storage } = await testByokit();
    const body = { anthropic_api_key: fakeProviderKey('anthropic'), openai_api_key: fakeProviderKey('openai') };
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body });
    const before = await snapshot(storage);
    const response = await call(byokit, 'DELETE', '/users/me/api-key?provder=openai', { principal: alice });
    expect(response!.status).toBe(422);
    expect(response!.json.error.code).toBe('validation_failed');
    expect(response!.json.error.issues).toEqual([{ path: 'provder', message: 'Unknown query parameter: this route takes only provider.' }]);
    expect(await snapshot(storage)).toBe(before);
    // Likewise on PATCH, where a misspelt ?verify=true would save a key unchecked.
    const patch = await call(byokit, 'PATCH', '/users/me/api-key?verfy=true', {
      principal: alice,
      body: { google_api_key: fakeProviderKey('google') },
    });
    expect([patch!.status, patch!.json.error.code]).toEqual([422, 'validation_failed']);
    expect(await snapshot(storage)).toBe(before);
  });

  it('refuses a query parameter given twice (?provider=openai&provider=google) instead of taking the last one', async () => {
    const { byokit, storage } = await testByokit();
    const body = { openai_api_key: fakeProviderKey('openai'), google_api_key: fakeProviderKey('google') };
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body });
    const before = await snapshot(storage);
    const response = await call(byokit, 'DELETE', '/admin/api-key?provider=openai&provider=google', { principal: admin });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({
      code: 'validation_failed',
      message: 'The request query is not valid: provider: Given more than once: send it once.',
      issues: [{ path: 'provider', message: 'Given more than once: send it once.' }],
    });
    expect(await snapshot(storage)).toBe(before);
    // On PATCH, ?verify=true&verify=false saved the key unchecked; the same value twice is refused too.
    for (const query of ['verify=true&verify=false', 'verify=true&verify=true']) {
      const patch = await call(byokit, 'PATCH', `/users/me/api-key?${query}`, { principal: alice, body: { google_api_key: null } });
      expect([query, patch!.status, patch!.json.error.issues]).toEqual([query, 422, [{ path: 'verify', message: expect.any(String) }]]);
    }
    expect(await snapshot(storage)).toBe(before);
  });

  it("keeps each user's keys to themselves", async () => {
    const { byokit } = await testByokit();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const bobs = await call(byokit, 'GET', '/users/me/api-key-status', { principal: bob });
    expect(bobs!.json.has_anthropic_key).toBe(false);
    await call(byokit, 'DELETE', '/users/me/api-key', { principal: bob });
    const alices = await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(alices!.json.has_anthropic_key).toBe(true);
  });

  it('keeps a user whose id is `system` (or `user:system`) apart from the system key: each call uses its own key', async () => {
    const { byokit } = await testByokit();
    const systemKey = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: systemKey } });
    const named = [
      { userId: 'system', isAdmin: false },
      { userId: 'user:system', isAdmin: false },
    ];
    const personal = named.map(() => fakeProviderKey('openai'));
    for (const [index, principal] of named.entries()) {
      const saved = await call(byokit, 'PATCH', '/users/me/api-key', { principal, body: { openai_api_key: personal[index] } });
      expect(saved!.status).toBe(200);
    }
    // Twice each: the second from the cache of decrypted keys.
    for (let round = 0; round < 2; round++) {
      for (const [index, principal] of named.entries()) {
        const own = await byokit.resolveKey(principal, 'openai');
        expect([own.source, own.key.reveal()]).toEqual(['user', personal[index]]);
      }
      const fallback = await byokit.resolveKey(alice, 'openai');
      expect([fallback.source, fallback.key.reveal()]).toEqual(['system', systemKey]);
    }
    const status = await call(byokit, 'GET', '/admin/api-key-status', { principal: admin });
    expect(status!.json.keys.openai).toMatchObject({ source: 'database', hint: `…${systemKey.slice(-4)}` });
    await call(byokit, 'DELETE', '/users/me/api-key', { principal: named[0] });
    expect((await byokit.resolveKey(alice, 'openai')).key.reveal()).toBe(systemKey);
  });

  it('writes an audit record for every key change: who, whose key, provider, hint, action, time; never the key', async () => {
    const { byokit, storage } = await testByokit({ now: () => new Date('2026-11-25T12:00:00Z') });
    const key = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: { openai_api_key: key },
      headers: { 'x-request-id': 'req-1' },
    });
    await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice, headers: { 'x-request-id': 'req-2' } });
    const records = await storage.listAudit({ owner: userOwner(alice.userId) });
    expect(records.map(({ action, provider, hint, actorId, requestId }) => ({ action, provider, hint, actorId, requestId }))).toEqual([
      { action: 'delete', provider: 'openai', hint: `…${key.slice(-4)}`, actorId: alice.userId, requestId: 'req-2' },
      { action: 'set', provider: 'openai', hint: `…${key.slice(-4)}`, actorId: alice.userId, requestId: 'req-1' },
    ]);
    expect(records[0]!.at.toISOString()).toBe('2026-11-25T12:00:00.000Z');
    expect(JSON.stringify(records)).not.toContain(key.slice(8, 24));
  });
});

describe('every provider byokit knows', () => {
  // Each route's fields are derived from PROVIDERS: a provider added there and left out of a schema written by hand
  // had its key saved, and never shown in any status, nor named where a PATCH sent no field.
  it.each(PROVIDERS)('shows the %s key set with PATCH in the personal and the system status', async (provider) => {
    const { byokit } = await testByokit();
    const personal = fakeProviderKey(provider);
    const system = fakeProviderKey(provider);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: personal } });
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { [`${provider}_api_key`]: system } });
    const mine = (await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice }))!.json;
    const theSystems = (await call(byokit, 'GET', '/admin/api-key-status', { principal: admin }))!.json;
    expect(mine[`has_${provider}_key`]).toBe(true);
    expect(mine.keys[provider]).toMatchObject({ configured: true, hint: `…${personal.slice(-4)}`, system_fallback: true });
    expect(theSystems[`has_${provider}_key`]).toBe(true);
    expect(theSystems.keys[provider]).toMatchObject({ configured: true, hint: `…${system.slice(-4)}`, source: 'database' });
  });

  it("names every provider's field when a PATCH sends none", async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: {} });
    expect(response!.status).toBe(422);
    for (const provider of PROVIDERS) expect(response!.json.error.message).toContain(`${provider}_api_key`);
  });
});

describe('system keys: admin routes', () => {
  it('shows environment keys with source "environment" and their hint', async () => {
    const key = fakeProviderKey('openai');
    const { byokit } = await testByokit({ environment: { OPENAI_API_KEY: key } });
    const response = await call(byokit, 'GET', '/admin/api-key-status', { principal: admin });
    expect(response!.status).toBe(200);
    expect(response!.json.has_openai_key).toBe(true);
    expect(response!.json.keys.openai).toEqual({ configured: true, hint: `…${key.slice(-4)}`, source: 'environment' });
    expect(response!.json.keys.google).toEqual({ configured: false, source: null });
  });

  it('lets a database system key win over the environment one, and falls back to it once deleted', async () => {
    const fromEnvironment = fakeProviderKey('anthropic');
    const fromDatabase = fakeProviderKey('anthropic');
    const { byokit } = await testByokit({ environment: { ANTHROPIC_API_KEY: fromEnvironment } });
    const set = await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { anthropic_api_key: fromDatabase } });
    expect(set!.json.keys.anthropic).toMatchObject({ configured: true, source: 'database', hint: `…${fromDatabase.slice(-4)}` });
    expect((await byokit.resolveKey(alice, 'anthropic')).key.reveal()).toBe(fromDatabase);
    const removed = await call(byokit, 'DELETE', '/admin/api-key?provider=anthropic', { principal: admin });
    expect(removed!.json.keys.anthropic).toMatchObject({ configured: true, source: 'environment', hint: `…${fromEnvironment.slice(-4)}` });
    expect((await byokit.resolveKey(alice, 'anthropic')).key.reveal()).toBe(fromEnvironment);
  });

  it('ignores a placeholder left in the environment', async () => {
    const { byokit } = await testByokit({ environment: { ANTHROPIC_API_KEY: 'sk-ant-YOUR-KEY-HERE', GOOGLE_API_KEY: 'not a key' } });
    const response = await call(byokit, 'GET', '/admin/api-key-status', { principal: admin });
    expect(response!.json.keys.anthropic).toEqual({ configured: false, source: null });
    expect(response!.json.keys.google).toEqual({ configured: false, source: null });
  });

  it('tells users that a system key stands in for a key they lack', async () => {
    const { byokit } = await testByokit({ environment: { GOOGLE_API_KEY: fakeProviderKey('google') } });
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: fakeProviderKey('openai') } });
    const response = await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(response!.json.has_openai_key).toBe(false);
    expect(response!.json.keys.openai.system_fallback).toBe(true);
    expect(response!.json.keys.google.system_fallback).toBe(true);
    expect(response!.json.keys.anthropic.system_fallback).toBe(false);
  });
});

describe('authorisation matrix', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/users/me/api-key-status'],
    ['PATCH', '/users/me/api-key', { openai_api_key: null }],
    ['DELETE', '/users/me/api-key'],
    ['GET', '/admin/api-key-status'],
    ['PATCH', '/admin/api-key', { openai_api_key: null }],
    ['DELETE', '/admin/api-key'],
  ];
  const callers = { anonymous: null, 'user A': alice, 'user B': bob, admin } as const;
  const expected: Record<string, Record<keyof typeof callers, number>> = {
    '/users/me': { anonymous: 401, 'user A': 200, 'user B': 200, admin: 200 },
    '/admin/': { anonymous: 401, 'user A': 403, 'user B': 403, admin: 200 },
  };

  for (const [method, path, body] of routes) {
    for (const [callerName, principal] of Object.entries(callers) as Array<[keyof typeof callers, typeof alice | null]>) {
      const status = expected[path.startsWith('/admin/') ? '/admin/' : '/users/me']![callerName];
      it(`${method} ${path} as ${callerName} → ${status}${status === 200 ? '' : ', storage unchanged'}`, async () => {
        const { byokit, storage } = await testByokit();
        // Give every owner a key first, so that a wrongly allowed write would show.
        for (const owner of [alice, bob]) {
          await call(byokit, 'PATCH', '/users/me/api-key', { principal: owner, body: { openai_api_key: fakeProviderKey('openai') } });
        }
        await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: fakeProviderKey('openai') } });
        const before = await snapshot(storage);
        const response = await call(byokit, method, path, { principal, body });
        expect(response!.status).toBe(status);
        if (status !== 200) {
          expect(response!.json.error.code).toBe(status === 401 ? 'unauthenticated' : 'forbidden');
          expect(await snapshot(storage)).toBe(before);
        }
      });
    }
  }

  // RFC 9110 §11.6.1: a 401 MUST carry a WWW-Authenticate challenge. The scheme is the one the API description declares
  // (bearer); a browser shows no sign-in dialog for it, as it would for Basic.
  it('answers 401 with WWW-Authenticate: Bearer (RFC 9110 §11.6.1), on the native and the OpenAI-compatible routes, HEAD included', async () => {
    const { byokit } = await testByokit();
    const answers = [
      await call(byokit, 'GET', '/users/me/api-key-status'),
      await call(byokit, 'HEAD', '/users/me/api-key-status'),
      await call(byokit, 'POST', '/openai/v1/chat/completions', { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] } }),
    ];
    expect(answers.map((answer) => [answer!.status, answer!.headers['www-authenticate']])).toEqual([
      [401, 'Bearer'],
      [401, 'Bearer'],
      [401, 'Bearer'],
    ]);
    // Only on a 401: a 403 is no request to authenticate.
    expect((await call(byokit, 'GET', '/admin/api-key-status', { principal: alice }))!.headers['www-authenticate']).toBeUndefined();
  });

  it("asks the host on every request: an admin the host demotes is refused the admin routes on the next one, and the same user's own routes still answer", async () => {
    const { byokit, storage } = await testByokit();
    // One signed-in user whose admin right the host takes away between two requests (the same object, changed).
    const session = { userId: 'user-carol', isAdmin: true };
    const first = await call(byokit, 'PATCH', '/admin/api-key', {
      principal: session,
      body: { openai_api_key: fakeProviderKey('openai') },
    });
    expect(first!.status).toBe(200);
    session.isAdmin = false;
    const before = await snapshot(storage);
    for (const [method, path, body] of [
      ['GET', '/admin/api-key-status'],
      ['DELETE', '/admin/api-key'],
      ['GET', '/admin/usage'],
      ['PUT', '/admin/users/user-carol/budget', { monthly_limit_usd: null }],
      ['GET', '/llm-models?all=true'],
    ] as const) {
      const refused = await call(byokit, method, path, { principal: session, body });
      expect([path, refused!.status, refused!.json.error.code]).toEqual([path, 403, 'forbidden']);
    }
    expect(await snapshot(storage)).toBe(before);
    expect((await call(byokit, 'GET', '/users/me/api-key-status', { principal: session }))!.status).toBe(200);
    session.isAdmin = true;
    expect((await call(byokit, 'GET', '/admin/api-key-status', { principal: session }))!.status).toBe(200);
  });
});

const mock = mockProvidersForFile();

describe('PATCH ?verify=true when its client leaves', () => {
  it('ends the key check at once and saves nothing when the client leaves before the provider answered', async () => {
    // The check ran on for its 10 s whoever had asked, and then saved the key as unverified: a client could leave
    // key checks running behind it, and have a key it had asked to be checked first saved unchecked.
    // The check's own 10 s never runs out here, so that only the client's leaving can end it: with the check not
    // tied to the client, the test waits for the mock's answer (60 s) and fails on its own timeout, where before it
    // passed 10 s later than "at once".
    vi.spyOn(AbortSignal, 'timeout').mockImplementation(() => new AbortController().signal);
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const { byokit, storage } = await testByokit({ providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } } });
    mock.setAnswerDelayMs(60_000);
    const leaving = new RequestAbort();
    const answer = byokit.handle({
      method: 'PATCH',
      url: '/users/me/api-key?verify=true',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }))] },
      authenticate: () => alice,
      signal: leaving,
    });
    await expect.poll(() => mock.requests.length).toBe(1);
    leaving.abort();
    await answer.catch(() => undefined);
    expect(await storage.listKeys(userOwner(alice.userId))).toEqual([]);
    expect(await storage.listAudit()).toEqual([]);
    await expect.poll(() => mock.requests[0]!.aborted).toBe(true);
    await byokit.close();
  });
});

describe('PATCH ?verify=true with a key its provider refuses', () => {
  it('answers 422 naming the provider as its users know it, and saves nothing', async () => {
    const { byokit, storage } = await testByokit({ providers: { openai: { baseUrl: mock.baseUrls.openai, retries: 0 } } });
    const refused = fakeProviderKey('openai');
    mock.rejectKeys.add(refused);
    try {
      const response = await call(byokit, 'PATCH', '/users/me/api-key?verify=true', {
        principal: alice,
        body: { openai_api_key: refused },
      });
      expect([response!.status, response!.json.error.code, response!.json.error.message]).toEqual([
        422,
        'provider_key_rejected',
        'The OpenAI API refused this key; nothing was saved.',
      ]);
      expect(await storage.listKeys(userOwner(alice.userId))).toEqual([]);
    } finally {
      mock.rejectKeys.delete(refused);
      await byokit.close();
    }
  });
});

describe('PATCH ?verify=true when the provider fails, asking for a wait', () => {
  // A delay the 10 s check cannot sit out was waited all the same (a provider's delay of up to a minute, as a chat's
  // retry waits it): the check was cut off at 10 s, and the key saved unverified, where the retry would have answered.
  it('tries again after the back-off when the wait is longer than the check can give, and saves the key as valid', async () => {
    const { byokit } = await testByokit({ providers: { openai: { baseUrl: mock.baseUrls.openai } } });
    mock.failNext('openai', { status: 503, headers: { 'retry-after': '30' } });
    try {
      const response = await call(byokit, 'PATCH', '/users/me/api-key?verify=true', {
        principal: alice,
        body: { openai_api_key: fakeProviderKey('openai') },
      });
      expect([response!.status, response!.json.keys.openai.verification]).toEqual([200, 'valid']);
      expect(mock.requests.filter((request) => request.path.endsWith('/models'))).toHaveLength(2);
    } finally {
      await byokit.close();
    }
  }, 30_000);
});

describe('PATCH ?verify=true when the provider cannot be asked', () => {
  // The key is saved unverified, and nothing told the operator why: a provider down, a firewall in the way or a base
  // URL gone wrong left every key of every user unverified, with no line in the host's log (a chat's failure has one).
  it.each([
    ['a user', '/users/me/api-key', alice],
    ['an admin', '/admin/api-key', admin],
  ])("logs the provider's failure as a warning, without the key, when %s saves a key", async (_who, path, principal) => {
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const ignore = () => {};
    const logger = {
      debug: ignore,
      info: ignore,
      error: ignore,
      warn: (fields: Record<string, unknown>, message: string) => void warnings.push({ fields, message }),
    };
    const { byokit } = await testByokit({ logger, providers: { openai: { baseUrl: mock.baseUrls.openai, retries: 0 } } });
    const key = fakeProviderKey('openai');
    mock.failNext('openai', { status: 503 });
    try {
      const response = await call(byokit, 'PATCH', `${path}?verify=true`, { principal, body: { openai_api_key: key } });
      expect([response!.status, response!.json.keys.openai.verification]).toEqual([200, 'unverified']);
      expect(warnings).toEqual([
        {
          fields: expect.objectContaining({
            requestId: response!.headers['x-request-id'],
            code: 'provider_unavailable',
            provider: 'openai',
          }),
          message: expect.stringContaining('saved unverified'),
        },
      ]);
      expect(JSON.stringify(warnings)).not.toContain(key.slice(0, -4));
    } finally {
      await byokit.close();
    }
  });

  // A provider (or a proxy before it) may echo the key it was sent cut past what a key pattern knows: a chat's error
  // is scrubbed of the key its call used, piece by piece (caller-error.ts); the key check's warning must be too.
  it.each(PROVIDERS)('logs no piece of the %s key the provider echoed, cut of its prefix, in its failure', async (provider) => {
    const lines: string[] = [];
    const line = (fields: object, message: string) => void lines.push(`${message} ${inspect(fields, { depth: 10 })}`);
    const { byokit } = await testByokit({
      logger: { debug: line, info: line, warn: line, error: line },
      providers: { [provider]: { baseUrl: mock.baseUrls[provider], retries: 0 } },
    });
    const key = fakeProviderKey(provider);
    const echoed = `upstream rejected credential ${key.slice(12, -6)} for this route`;
    const body =
      provider === 'anthropic' ? { type: 'error', error: { type: 'api_error', message: echoed } } : { error: { message: echoed } };
    mock.failNext(provider, { status: 503, body });
    try {
      const response = await call(byokit, 'PATCH', '/users/me/api-key?verify=true', {
        principal: alice,
        body: { [`${provider}_api_key`]: key },
      });
      expect([response!.status, response!.json.keys[provider].verification]).toEqual([200, 'unverified']);
      expect(lines.join('\n')).toContain('saved unverified');
      expect(
        findKeyLeaks(
          [key],
          [
            ['log lines', lines.join('\n')],
            ['answer', response!.text],
          ],
        ),
      ).toEqual([]);
    } finally {
      await byokit.close();
    }
  });
});
