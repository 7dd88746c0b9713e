// An adapter hands byokit.handle the request's cancellation: a RequestAbort, or any standard AbortSignal (types.ts).
// It need not be of this copy of @byokit/core: an adapter's peer dependency may resolve to another copy than the
// host's createByokit (another version, a second node_modules), and a signal may be a polyfill's or another realm's,
// which byokit knows by its shape elsewhere (isAbortSignal).
import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { RequestAbort } from './request-abort.js';
import type { ByokitRequest } from './types.js';
import { alice, byokitOnEveryProvider, mockProvidersForFile, testByokit } from './test-helpers.js';

const mock = mockProvidersForFile();

/** RequestAbort as another copy of the package defines it: the same class, from a module instance of its own. */
async function otherCopysRequestAbort() {
  // A query makes Vite load the module again, apart (a name TypeScript does not resolve, hence the variable).
  const specifier = './request-abort.ts?another-copy';
  const module = (await import(/* @vite-ignore */ specifier)) as typeof import('./request-abort.js');
  if (module.RequestAbort === RequestAbort) throw new Error('the same copy: the test would prove nothing');
  return new module.RequestAbort();
}

/** An AbortSignal known by its shape alone, as a polyfill (abort-controller) or another realm makes it. */
function polyfilledSignal(): AbortSignal {
  return Object.assign(new EventTarget(), { aborted: false, reason: undefined, onabort: null, throwIfAborted() {} }) as AbortSignal;
}

function request(method: string, url: string, body: unknown, signal: unknown): ByokitRequest {
  return {
    method,
    url,
    headers: { 'content-type': 'application/json' },
    body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify(body))] },
    authenticate: () => alice,
    signal: signal as AbortSignal,
  };
}

describe("a request's cancellation of another copy of byokit, or a polyfill's signal", () => {
  it.each([
    ['a RequestAbort of another copy', otherCopysRequestAbort],
    ['a polyfilled AbortSignal', async () => polyfilledSignal()],
  ])('is heard on a chat: %s', async (_what, make) => {
    const { byokit, catalog } = await byokitOnEveryProvider<{ id: string; provider: string; is_active: boolean }>(mock);
    const model = catalog.find((entry) => entry.provider === 'openai' && entry.is_active)!;
    const chat = { model_id: model.id, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 16 };
    const answered = await byokit.handle(request('POST', '/llm/chat/completions', chat, await make()));
    expect([answered!.status, answered!.body]).toEqual([200, expect.stringContaining('"choices"')]);
    // Aborted before the call began (the client gone), it is not begun: no provider is called.
    const gone = (await make()) as { abort?: () => void };
    if (gone.abort) gone.abort();
    else Object.assign(gone, { aborted: true, reason: new Error('gone') });
    const before = mock.requests.length;
    await byokit.handle(request('POST', '/llm/chat/completions', chat, gone));
    expect(mock.requests.length).toBe(before);
    await byokit.close();
  });

  it("is taken as the signal of a chat made in code, as this copy's RequestAbort is", async () => {
    const { byokit, catalog } = await byokitOnEveryProvider<{ id: string; provider: string; is_active: boolean }>(mock);
    const model = catalog.find((entry) => entry.provider === 'openai' && entry.is_active)!;
    const chat = { model_id: model.id, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 16 };
    const completion = await byokit.chat(alice, chat, { signal: (await otherCopysRequestAbort()) as unknown as AbortSignal });
    expect(completion.choices).toHaveLength(1);
    await byokit.close();
  });

  it.each([
    ['a RequestAbort of another copy', otherCopysRequestAbort],
    ['a polyfilled AbortSignal', async () => polyfilledSignal()],
  ])('is heard on PATCH ?verify=true, which checks the key: %s', async (_what, make) => {
    const { byokit } = await testByokit({ providers: { openai: { baseUrl: mock.baseUrls.openai, retries: 0 } } });
    const body = { openai_api_key: fakeProviderKey('openai') };
    const answered = await byokit.handle(request('PATCH', '/users/me/api-key?verify=true', body, await make()));
    expect([answered!.status, JSON.parse(answered!.body as string).keys.openai.verification]).toEqual([200, 'valid']);
    await byokit.close();
  });
});
