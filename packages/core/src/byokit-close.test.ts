import { describe, expect, it } from 'vitest';
import { createByokit } from './byokit.js';
import { isByokitError } from './errors.js';
import { fakeProviderKey } from './keys/fake-keys.js';
import { alice, call, mockProvidersForFile, testKeyring } from './http/test-helpers.js';
import { memoryStorage } from './storage/memory-storage.js';

const mock = mockProvidersForFile();
// Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
const MODEL_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const REQUEST = { model_id: MODEL_ID, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 20 };
const CLOSED = 'This byokit is closed (byokit.close() was called): it serves no more calls. Stop serving requests before closing it.';

async function openByokit(storage = memoryStorage()) {
  return createByokit({
    storage,
    keyring: testKeyring(),
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
  });
}

describe('byokit.close()', () => {
  it('closes once, however often it is called: twice in a row and twice at once both resolve', async () => {
    let storageCloses = 0;
    const storage = { ...memoryStorage(), close: async () => void storageCloses++ };
    const byokit = await createByokit({ keyring: testKeyring(), storage, environment: {} });

    await Promise.all([byokit.close(), byokit.close()]);
    await byokit.close();

    expect(storageCloses).toBe(1);
  });
});

describe('two byokits on one storage in one process', () => {
  it('closing one leaves the other serving; the storage closes with the last', async () => {
    let storageCloses = 0;
    const storage = { ...memoryStorage(), close: async () => void storageCloses++ };
    const first = await openByokit(storage);
    const second = await openByokit(storage);

    await first.close();

    expect(storageCloses).toBe(0);
    await expect(second.chat(alice, REQUEST)).resolves.toMatchObject({ object: 'chat.completion' });
    await second.close();
    expect(storageCloses).toBe(1);
  });
});

describe('calls after byokit.close()', () => {
  it.each<[string, (byokit: Awaited<ReturnType<typeof openByokit>>) => Promise<unknown>]>([
    ['chat', (byokit) => byokit.chat(alice, REQUEST)],
    [
      'chatStream',
      async (byokit) => {
        for await (const _chunk of byokit.chatStream(alice, REQUEST));
      },
    ],
    ['resolveKey', (byokit) => byokit.resolveKey(alice, 'anthropic')],
    ['usage.query', (byokit) => byokit.usage.query()],
    ['usage.events', (byokit) => byokit.usage.events(alice.userId)],
    ['rotateKeys', (byokit) => byokit.rotateKeys()],
    ['keyRowsByMasterKeyId', (byokit) => byokit.keyRowsByMasterKeyId()],
    ['forgetUser', (byokit) => byokit.forgetUser(alice.userId, { usage: 'keep' })],
  ])('%s fails saying byokit is closed, and calls no provider', async (_name, use) => {
    const byokit = await openByokit();
    await byokit.close();

    const error = await use(byokit).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(isByokitError(error) && [error.code, error.message]).toEqual(['storage_unavailable', CLOSED]);
    expect(mock.requests).toEqual([]);
  });

  it('a request to a route answers 503 storage_unavailable saying byokit is closed', async () => {
    const byokit = await openByokit();
    await byokit.close();

    const answer = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: REQUEST });

    expect(answer?.status).toBe(503);
    expect(answer?.json.error).toMatchObject({ code: 'storage_unavailable', message: CLOSED });
    expect(mock.requests).toEqual([]);
  });
});

describe('byokit.close() while a call is under way', () => {
  /** A memory storage whose key reads wait for `release()`, and which notes what happened in order. */
  function heldStorage() {
    const storage = memoryStorage();
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reading!: () => void;
    const readStarted = new Promise<void>((resolve) => (reading = resolve));
    const held = {
      ...storage,
      getKey: async (...args: Parameters<typeof storage.getKey>) => {
        reading();
        await released;
        return storage.getKey(...args);
      },
      recordUsage: async (...args: Parameters<typeof storage.recordUsage>) => {
        events.push('usage recorded');
        return storage.recordUsage(...args);
      },
      close: async () => void events.push('storage closed'),
    };
    return { storage, held, events, release, readStarted };
  }

  it('lets a chat resolving its key finish, answered and recorded, before it closes the connections', async () => {
    const { storage, held, events, release, readStarted } = heldStorage();
    const byokit = await openByokit(held);

    const answer = byokit.chat(alice, REQUEST);
    await readStarted;
    const closed = byokit.close().then(() => events.push('close resolved'));
    release();

    await expect(answer).resolves.toMatchObject({ object: 'chat.completion', usage: { key_source: 'system' } });
    await closed;
    expect(events).toEqual(['usage recorded', 'storage closed', 'close resolved']);
    expect((await storage.listUsage({ userId: alice.userId, limit: 10 })).records).toHaveLength(1);
  });

  it('lets a chat request to the route that is resolving its key finish with 200', async () => {
    const { held, events, release, readStarted } = heldStorage();
    const byokit = await openByokit(held);

    const answer = call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: REQUEST });
    await readStarted;
    const closed = byokit.close();
    release();

    expect((await answer)?.status).toBe(200);
    await closed;
    expect(events).toEqual(['usage recorded', 'storage closed']);
  });

  it('waits for a stream still being read to be read to its end, and keeps its usage record', async () => {
    const { storage, held, events, release } = heldStorage();
    release();
    const byokit = await openByokit(held);
    const chunks = byokit.chatStream(alice, REQUEST)[Symbol.asyncIterator]();
    expect((await chunks.next()).done).toBe(false);

    const closed = byokit.close().then(() => events.push('close resolved'));
    // The provider's answer is short: it has ended upstream long before this, with chunks left unread.
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 200))]);
    let rest = 0;
    for (let step = await chunks.next(); !step.done; step = await chunks.next()) rest++;
    await closed;

    expect(rest).toBeGreaterThan(0);
    expect(events).toEqual(['usage recorded', 'storage closed', 'close resolved']);
    expect((await storage.listUsage({ userId: alice.userId, limit: 10 })).records).toMatchObject([{ status: 'ok' }]);
  });
});
