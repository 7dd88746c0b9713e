import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Pool, type Dispatcher } from 'undici';
import { createByokit, type Byokit } from '../byokit.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { alice, bob, mockProvidersForFile, processTroubleForEachTest, testKeyring } from '../http/test-helpers.js';
import { memoryStorage } from '../storage/memory-storage.js';

const mock = mockProvidersForFile();
// Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
const MODEL_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const REQUEST = { model_id: MODEL_ID, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 20 };

async function openByokit(settings: { dispatcher?: Dispatcher } = {}) {
  const storage = memoryStorage();
  const byokit = await createByokit({
    storage,
    keyring: testKeyring(),
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, ...settings } },
  });
  return { byokit, storage };
}

async function readAll(chunks: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _chunk of chunks) count++;
  return count;
}

const { warnings, rejections } = processTroubleForEachTest();

/** Lets warnings (emitted on the next tick) and rejections (reported after the microtasks) come in. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 10));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('calls in code that share one AbortSignal (a host passing its shutdown signal to every call)', () => {
  it('many at once, plain and streamed, raise no MaxListenersExceededWarning and leave no listener on it', async () => {
    const { byokit } = await openByokit();
    const shared = new AbortController();
    // The provider still thinking: every call is under way at once.
    mock.setAnswerDelayMs(20);

    const answers = await Promise.all(Array.from({ length: 50 }, () => byokit.chat(alice, REQUEST, { signal: shared.signal })));
    const streamed = await Promise.all(
      Array.from({ length: 50 }, () => readAll(byokit.chatStream(alice, REQUEST, { signal: shared.signal }))),
    );
    await settled();

    expect(answers).toHaveLength(50);
    expect(streamed.every((chunks) => chunks > 1)).toBe(true);
    expect(warnings).toEqual([]);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    await byokit.close();
  });

  it('aborting it ends every call under way, each recorded as aborted, with no unhandled rejection', async () => {
    const { byokit, storage } = await openByokit();
    const shared = new AbortController();
    mock.setAnswerDelayMs(10_000);
    const calls = [
      ...Array.from({ length: 30 }, () => byokit.chat(alice, REQUEST, { signal: shared.signal })),
      ...Array.from({ length: 30 }, () => readAll(byokit.chatStream(alice, REQUEST, { signal: shared.signal }))),
    ].map((call) =>
      call.then(
        () => 'answered',
        (error: unknown) => (error as Error).name,
      ),
    );
    await mock.waitForRequest(() => mock.requests.length === 60);

    shared.abort();
    const outcomes = await Promise.all(calls);
    await byokit.close();
    await settled();

    expect(new Set(outcomes)).toEqual(new Set(['AbortError']));
    const { records } = await storage.listUsage({ userId: alice.userId, limit: 100 });
    expect(records.map((record) => record.status)).toEqual(Array(60).fill('aborted'));
    expect(warnings).toEqual([]);
    expect(rejections).toEqual([]);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});

describe('a call whose caller leaves while it waits for a connection', () => {
  it.each([
    ['byokit.chat', (byokit: Byokit, signal: AbortSignal) => byokit.chat(alice, REQUEST, { signal })],
    ['byokit.chatStream', (byokit: Byokit, signal: AbortSignal) => readAll(byokit.chatStream(alice, REQUEST, { signal }))],
  ])('%s ends at once with the abort, recorded as aborted, and is never sent', async (_name, start) => {
    // A host that caps its connections to the provider (the `dispatcher` option): one, busy with a slow stream.
    const pool = new Pool(mock.origin, { connections: 1 });
    const { byokit, storage } = await openByokit({ dispatcher: pool });
    mock.setChunkGapMs(300);
    const busy = readAll(byokit.chatStream(bob, REQUEST));
    await mock.waitForRequest(() => true);
    const results: string[] = [];

    for (let round = 0; round < 20; round++) {
      const controller = new AbortController();
      const call = start(byokit, controller.signal).then(
        () => 'answered',
        (error: unknown) => (error as Error).name,
      );
      // Queued behind the busy connection.
      while (pool.stats.size < round + 2) await nextTurn();
      controller.abort();
      // Anything the abort sets off is done by the next turn of the event loop: no timing is involved.
      results.push(await Promise.race([call, nextTurn().then(() => 'still waiting')]));
    }

    expect(results).toEqual(Array(20).fill('AbortError'));
    mock.setChunkGapMs(0);
    await busy;
    await byokit.close();
    await pool.close();
    expect(mock.requests).toHaveLength(1);
    const { records } = await storage.listUsage({ userId: alice.userId, limit: 100 });
    expect(records.map((record) => record.status)).toEqual(Array(20).fill('aborted'));
    expect(rejections).toEqual([]);
  });
});

describe('a call whose caller left before byokit reached the provider', () => {
  // The caller gone before the call began (a signal aborted already; through an adapter, a client that left while the
  // host's authenticate was still answering): nothing is begun, so nothing is counted against the user, and no usage
  // record says a call was made (spec/http-api.md: every request that reached a provider is recorded; this one did not).
  it('opens no connection to the provider, takes nothing of the rate limit, and leaves no usage record', async () => {
    let connections = 0;
    const provider = createServer((_request, response) => response.end());
    provider.on('connection', () => connections++);
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const storage = memoryStorage();
    let taken = 0;
    const byokit = await createByokit({
      storage,
      keyring: testKeyring(),
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: `http://127.0.0.1:${(provider.address() as AddressInfo).port}` } },
      rateLimit: { take: async () => (taken++, { allowed: true }) },
    });

    const outcomes = new Set<string>();
    for (let round = 0; round < 50; round++) {
      const signal = AbortSignal.abort();
      for (const call of [byokit.chat(alice, REQUEST, { signal }), readAll(byokit.chatStream(alice, REQUEST, { signal }))])
        outcomes.add(
          await call.then(
            () => 'answered',
            (error: unknown) => (error as Error).name,
          ),
        );
    }
    await byokit.close();
    await new Promise((resolve) => provider.close(resolve));

    expect([...outcomes]).toEqual(['AbortError']);
    expect(connections).toBe(0);
    expect(taken).toBe(0);
    const { records } = await storage.listUsage({ userId: alice.userId, limit: 100 });
    expect(records).toEqual([]);
  });
});
