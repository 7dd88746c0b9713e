import { describe, expect, it } from 'vitest';
import type { ByokitOptions } from '../byokit.js';
import { alice, bob, mockProvidersForFile, testByokit } from '../http/test-helpers.js';
import type { Principal } from '../http/types.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { ChatCompletionRequest } from './chat-schemas.js';

// How many chat calls one user may have running at once on a node (`concurrentCallsPerUser`): a call past it is
// refused 429 before it reaches a provider, so one client cannot hold the host's provider connections, memory and
// budget holds by opening streams it never reads.

const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const REQUEST: ChatCompletionRequest = { model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64 };

const mock = mockProvidersForFile();

async function setUp(options: Partial<ByokitOptions> = {}) {
  const { byokit, storage } = await testByokit({
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    ...options,
  });
  /**
   * A streamed chat whose answer has begun and is left unread, as a client that never reads its socket; `signal` as
   * the adapter passes it (none by default).
   */
  const openStream = async (principal: Principal, signal?: null) => {
    const response = await byokit.handle({
      method: 'POST',
      url: '/llm/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify({ ...REQUEST, stream: true }))] },
      authenticate: () => principal,
      // A host in JavaScript may say "none" with null, as byokit.chat's options take it.
      ...(signal === null && { signal: null as unknown as undefined }),
    });
    return response!;
  };
  const readAll = async (response: Awaited<ReturnType<typeof openStream>>) => {
    let text = '';
    for await (const chunk of response.body as AsyncIterable<string>) text += chunk;
    return text;
  };
  return { byokit, storage, openStream, readAll };
}

describe('calls one user has running at once', () => {
  it("refuses a user's 65th call while 64 of their streams run unread (429 rate_limited, no provider call); another user's goes through, and theirs once one ends", async () => {
    const { byokit, storage, openStream, readAll } = await setUp();
    const unread = [];
    for (let index = 0; index < 64; index++) unread.push(await openStream(alice));
    expect(unread.map((response) => response.status)).toEqual(Array(64).fill(200));
    expect(mock.requests).toHaveLength(64);

    const refused = await openStream(alice);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(await readAll(refused)).error).toMatchObject({
      code: 'rate_limited',
      message: 'Too many calls at once: 64 of yours are running. Try again when one has ended.',
    });
    await expect(byokit.chat(alice, REQUEST)).rejects.toMatchObject({ code: 'rate_limited', details: { retryAfterSeconds: 1 } });
    expect(mock.requests).toHaveLength(64);

    const bobs = await openStream(bob);
    expect(bobs.status).toBe(200);
    await readAll(bobs);
    expect(await readAll(unread.pop()!)).toContain('data: [DONE]');
    expect((await byokit.chat(alice, REQUEST)).object).toBe('chat.completion');

    for (const response of unread) await readAll(response);
    await byokit.close();
    // The refused calls left no record; each call that ran left one.
    expect((await storage.listUsage({ limit: 100 })).records).toHaveLength(66);
  });

  it('frees the place of a call that failed or was refused: a limit of 1 lets one call after another through', async () => {
    const { byokit } = await setUp({ concurrentCallsPerUser: 1 });
    mock.failNext('anthropic', { status: 500 });
    await expect(byokit.chat(alice, REQUEST)).rejects.toMatchObject({ code: 'provider_unavailable' });
    await expect(byokit.chat(alice, { ...REQUEST, model_id: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({
      code: 'model_not_found',
    });
    for (let index = 0; index < 3; index++) await byokit.chat(alice, REQUEST);
    const consume = async (request: ChatCompletionRequest = REQUEST) => {
      for await (const _chunk of byokit.chatStream(alice, { ...request, stream: true })) void _chunk;
    };
    await expect(consume({ ...REQUEST, model_id: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({
      code: 'model_not_found',
    });
    mock.failNext('anthropic', { status: 500 });
    await expect(consume()).rejects.toMatchObject({ code: 'provider_unavailable' });
    await consume();
    await consume();
    await byokit.close();
  });

  it.each([
    ['without a signal', undefined],
    ['with a null signal', null],
  ] as const)(
    "frees the place of a stream its adapter ends unread with return(), %s: the user's next call goes through, the call is recorded aborted",
    async (_case, signal) => {
      const { byokit, storage, openStream } = await setUp({ concurrentCallsPerUser: 1 });
      for (let round = 0; round < 2; round++) {
        const response = await openStream(alice, signal);
        expect(response.status).toBe(200);
        // An adapter whose client left before it wrote anything, and that passed byokit no signal: it ends the body.
        await (response.body as AsyncIterable<string>)[Symbol.asyncIterator]().return?.();
      }
      await byokit.close();
      expect((await storage.listUsage({ userId: alice.userId, limit: 10 })).records.map((record) => record.status)).toEqual([
        'aborted',
        'aborted',
      ]);
    },
  );

  it("takes no place while a request's body is still arriving: a body that never ends holds up neither the user's next call nor close()", async () => {
    const { byokit } = await setUp({ concurrentCallsPerUser: 1 });
    let bodyRequested!: () => void;
    const requested = new Promise<void>((resolve) => (bodyRequested = resolve));
    const sending = new AbortController();
    const slowBody = (async function* () {
      yield new TextEncoder().encode('{"model_id":');
      bodyRequested();
      await new Promise((resolve) => sending.signal.addEventListener('abort', resolve));
    })();
    const stalled = byokit.handle({
      method: 'POST',
      url: '/llm/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'stream', stream: slowBody },
      authenticate: () => alice,
      signal: sending.signal,
    });
    await requested;
    expect((await byokit.chat(alice, REQUEST)).object).toBe('chat.completion');
    await byokit.close();
    sending.abort();
    await stalled.catch(() => undefined);
  });

  it('sets no bound with concurrentCallsPerUser: 0, and refuses a bound that is not a whole number', async () => {
    const { openStream, readAll, byokit } = await setUp({ concurrentCallsPerUser: 0 });
    const unread = [];
    for (let index = 0; index < 70; index++) unread.push(await openStream(alice));
    expect(unread.every((response) => response.status === 200)).toBe(true);
    for (const response of unread) await readAll(response);
    await byokit.close();

    await expect(setUp({ concurrentCallsPerUser: 2.5 })).rejects.toThrow(TypeError);
    await expect(setUp({ concurrentCallsPerUser: -1 })).rejects.toThrow(TypeError);
  });
});
