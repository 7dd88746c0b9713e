// A stored key's `verification` in the key status says what its provider said of it the last time it was asked: when it
// was entered with ?verify=true, and since then at each call made with it. A key its provider refuses on a call
// (revoked, its account closed) shows `invalid`, and `valid` again once the provider answers with it; the key
// status said `valid` (or `unverified`) of a key every call was refused with (docs/http-api.md, "Keys: decisions").
import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS, type Provider } from '../keys/providers.js';
import type { Logger } from '../logging/logger.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { Storage } from '../storage/storage.js';
import { admin, alice, call, mockProvidersForFile, testByokit } from '../http/test-helpers.js';
import type { Byokit } from '../byokit.js';

const mock = mockProvidersForFile();

type Json = Record<string, any>;

async function byokitOnMock(options: { storage?: Storage; logger?: Logger } = {}) {
  const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
  return testByokit({ providers, ...options });
}

async function modelOf(byokit: Byokit, provider: Provider): Promise<string> {
  const models = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Json[];
  return models.find((model) => model.provider === provider && model.is_active)!.id as string;
}

async function chat(byokit: Byokit, modelId: string, stream = false) {
  const body = { model_id: modelId, messages: [{ role: 'user', content: 'Hello!' }], stream };
  const response = (await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body }))!;
  return response.status === 200 ? 200 : (response.json.error.code as string);
}

async function verificationOf(byokit: Byokit, provider: Provider, route = '/users/me/api-key-status'): Promise<unknown> {
  const principal = route.startsWith('/admin') ? admin : alice;
  return (await call(byokit, 'GET', route, { principal }))!.json.keys[provider].verification;
}

describe('the key status after calls made with the key', () => {
  it.each(PROVIDERS)('%s: invalid once the provider refuses the key on a call, valid once it answers with it again', async (provider) => {
    const { byokit } = await byokitOnMock();
    const key = fakeProviderKey(provider);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: key } });
    const modelId = await modelOf(byokit, provider);
    expect(await verificationOf(byokit, provider)).toBe('unverified');

    expect(await chat(byokit, modelId)).toBe(200);
    expect(await verificationOf(byokit, provider)).toBe('valid');

    mock.rejectKeys.add(key);
    expect(await chat(byokit, modelId)).toBe('provider_key_rejected');
    expect(await verificationOf(byokit, provider)).toBe('invalid');
    // Streamed, refused before the head: the same.
    expect(await chat(byokit, modelId, true)).toBe('provider_key_rejected');
    expect(await verificationOf(byokit, provider)).toBe('invalid');

    mock.rejectKeys.delete(key);
    expect(await chat(byokit, modelId, true)).toBe(200);
    expect(await verificationOf(byokit, provider)).toBe('valid');
    await byokit.close();
  });

  it("the system key refused on a user's call shows invalid in the admin's key status, and the key's entry is not rewritten", async () => {
    const { byokit, storage } = await byokitOnMock();
    const key = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: key } });
    const entered = await storage.getKey({ type: 'system', id: 'system' }, 'openai');
    const auditBefore = (await storage.listAudit()).length;
    mock.rejectKeys.add(key);
    expect(await chat(byokit, await modelOf(byokit, 'openai'))).toBe('provider_key_rejected');
    expect(await verificationOf(byokit, 'openai', '/admin/api-key-status')).toBe('invalid');
    const marked = await storage.getKey({ type: 'system', id: 'system' }, 'openai');
    expect([marked!.updatedAt, marked!.hint, [...marked!.envelope]]).toEqual([entered!.updatedAt, entered!.hint, [...entered!.envelope]]);
    expect((await storage.listAudit()).length).toBe(auditBefore);
    await byokit.close();
  });

  it('a failure that says nothing of the key (the provider down, rate limiting) leaves the verdict as it was', async () => {
    const { byokit } = await byokitOnMock();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: fakeProviderKey('google') } });
    const modelId = await modelOf(byokit, 'google');
    mock.failNext('google', { status: 503 });
    expect(await chat(byokit, modelId)).toBe('provider_unavailable');
    mock.failNext('google', { status: 429 });
    expect(await chat(byokit, modelId)).toBe('provider_rate_limited');
    expect(await verificationOf(byokit, 'google')).toBe('unverified');
    await byokit.close();
  });

  // OpenAI answers a call to a model the key's project may not use with 403 `model_not_found` ("Project `proj_…` does
  // not have access to model `…`"): the key works for every other model, and a call to one of them would mark it valid
  // again, each call to the other then a write.
  it("a model the key's OpenAI project may not use is refused as the model, leaving the key valid", async () => {
    const { byokit } = await byokitOnMock();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    const modelId = await modelOf(byokit, 'openai');
    expect(await chat(byokit, modelId)).toBe(200);
    const message = 'Project `proj_JMo3Q9spNIEWhSxusokLegJY` does not have access to model `gpt-4.1-2025-04-14`';
    for (const stream of [false, true]) {
      mock.failNext('openai', {
        status: 403,
        body: { error: { message, type: 'invalid_request_error', param: null, code: 'model_not_found' } },
      });
      expect(await chat(byokit, modelId, stream)).toBe('provider_error');
      expect(await verificationOf(byokit, 'openai')).toBe('valid');
    }
    await byokit.close();
  });

  it('a key replaced while a call made with the old one was being refused keeps its own verdict', async () => {
    const { byokit } = await byokitOnMock();
    const old = fakeProviderKey('anthropic');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: old } });
    const modelId = await modelOf(byokit, 'anthropic');
    mock.rejectKeys.add(old);
    mock.setAnswerDelayMs(200);
    const refused = chat(byokit, modelId);
    await mock.waitForRequest((request) => request.key === old);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    expect(await refused).toBe('provider_key_rejected');
    expect(await verificationOf(byokit, 'anthropic')).toBe('unverified');
    await byokit.close();
  });

  // A write may take longer than the one after it (another pool connection, one being opened): each verdict written
  // at once, an earlier one could land last and stay, while the key's row in memory said the later one, so no call
  // wrote it again.
  it('the last verdict given is the one kept, when the write of an earlier one answers after it', async () => {
    const memory = memoryStorage();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    const storage: Storage = {
      ...memory,
      setKeyVerification: async (...args) => {
        if (writes++ === 0) await held;
        return memory.setKeyVerification!(...args);
      },
    };
    const { byokit } = await byokitOnMock({ storage });
    const key = fakeProviderKey('anthropic');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: key } });
    const modelId = await modelOf(byokit, 'anthropic');
    mock.rejectKeys.add(key);
    expect(await chat(byokit, modelId)).toBe('provider_key_rejected');
    mock.rejectKeys.delete(key);
    expect(await chat(byokit, modelId)).toBe(200);
    release();
    await byokit.close();
    expect((await memory.getKey({ type: 'user', id: alice.userId }, 'anthropic'))!.verification).toBe('valid');
  });

  it('a verdict that cannot be written is a warning, and the call is answered as ever', async () => {
    const memory = memoryStorage();
    const storage: Storage = {
      ...memory,
      setKeyVerification: async () => {
        throw new Error('the database is unavailable');
      },
    };
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_context, message) => void warnings.push(String(message)),
      error: () => {},
    };
    const { byokit } = await byokitOnMock({ storage, logger });
    const key = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });
    expect(await chat(byokit, await modelOf(byokit, 'openai'))).toBe(200);
    await byokit.close();
    expect(warnings).toContain(
      "The provider's verdict on the key (valid) could not be written to storage: its key status keeps the one before.",
    );
    expect(warnings.join('\n')).not.toContain(key.slice(-8));
  });

  it('byokit.close() waits for a verdict still being written before it closes storage', async () => {
    const memory = memoryStorage();
    let release!: () => void;
    const written = new Promise<void>((resolve) => (release = resolve));
    const events: string[] = [];
    const storage: Storage = {
      ...memory,
      setKeyVerification: async (...args) => {
        await written;
        events.push('verdict written');
        return memory.setKeyVerification!(...args);
      },
      close: async () => {
        events.push('storage closed');
        release();
      },
    };
    const { byokit } = await byokitOnMock({ storage });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    expect(await chat(byokit, await modelOf(byokit, 'openai'))).toBe(200);
    // The write is held until storage closes, or a while after close() has begun: a close() that does not wait for it
    // closes storage first (the while only makes that likelier; one that waits passes however long it is).
    const closed = byokit.close();
    setTimeout(release, 300);
    await closed;
    expect(events).toEqual(['verdict written', 'storage closed']);
  });
});
