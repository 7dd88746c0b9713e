// Several byokits in one process: two tenants, a test suite making one per test, two mounts, a dev server that starts a
// new one and closes the old. What one of them does must not reach into another.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createByokit } from './byokit.js';
import { ByokitError } from './errors.js';
import { fakeProviderKey } from './keys/fake-keys.js';
import { admin, alice, call, mockProvidersForFile, testByokit, testKeyring } from './http/test-helpers.js';
import { PROVIDERS } from './keys/providers.js';
import { memoryStorage } from './storage/memory-storage.js';
import type { Storage } from './storage/storage.js';

const mock = mockProvidersForFile();
// Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
const MODEL_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const REQUEST = { model_id: MODEL_ID, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 20 };

/**
 * A memory storage that, once closed, refuses every call as a closed PostgreSQL pool does; and whose next
 * `countKeysByMasterKeyId` (the first read of a byokit starting on it) can be held until released.
 */
function closingStorage() {
  const inner = memoryStorage();
  let closes = 0;
  let held: Promise<void> | undefined;
  const storage = new Proxy(inner, {
    get(target, property) {
      if (property === 'close') return async () => void closes++;
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (property === 'countKeysByMasterKeyId' && held) await held;
        if (closes > 0) throw new ByokitError('storage_unavailable', 'The database is unavailable (its pool was closed).');
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Storage;
  return {
    storage,
    closes: () => closes,
    /** Holds the next start's first read of storage; the function returned lets it go on. */
    holdNextStart(): () => void {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        held = undefined;
        release();
      };
    },
  };
}

const open = (storage: Storage) =>
  createByokit({
    storage,
    keyring: testKeyring(),
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
  });

describe('a byokit starting on a storage while another on it closes', () => {
  it('starts and serves: the close leaves the storage open for it, and the last to close closes it', async () => {
    const { storage, closes, holdNextStart } = closingStorage();
    const old = await open(storage);
    // A dev server's reload: the new byokit is on its way (its first read of storage not yet answered) when the old closes.
    const release = holdNextStart();
    const starting = open(storage);
    await old.close();
    release();
    const next = await starting;

    expect(closes()).toBe(0);
    await expect(next.chat(alice, REQUEST)).resolves.toMatchObject({ object: 'chat.completion' });
    await next.close();
    expect(closes()).toBe(1);
  });

  it('a start that fails neither closes the storage nor keeps it open past the last byokit', async () => {
    const { storage, closes } = closingStorage();
    const running = await open(storage);
    // Fails at its first read of storage: the stored key is sealed under a master key this keyring lacks.
    await call(running, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    await expect(createByokit({ storage, keyring: testKeyring('other'), environment: {} })).rejects.toMatchObject({
      code: 'keyring_invalid',
    });

    expect(closes()).toBe(0);
    await running.close();
    expect(closes()).toBe(1);
  });
});

describe('two byokits in one process, one of them closing', () => {
  it("leaves the other's stream running to its end, and each counts only its own calls at once", async () => {
    // docs/architecture.md, "Several byokits in one process": calls-at-once counts, streams, timers and connections
    // are each byokit's own, and its close() ends those alone.
    const storage = memoryStorage();
    const options = {
      storage,
      keyring: testKeyring(),
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
      concurrentCallsPerUser: 1,
    };
    const first = await createByokit(options);
    const second = await createByokit(options);
    mock.setChunkGapMs(20);
    const reading = second.chatStream(alice, REQUEST)[Symbol.asyncIterator]();
    expect((await reading.next()).done).toBe(false);

    // alice's one call at once on the second leaves her the first's.
    mock.setChunkGapMs(0);
    expect((await first.chat(alice, REQUEST)).choices[0]!.message.content).not.toBe('');
    await first.close();

    let rest = 0;
    while (!(await reading.next()).done) rest++;
    expect(rest).toBeGreaterThan(0);
    expect((await second.chat(alice, REQUEST)).choices[0]!.message.content).not.toBe('');
    await second.close();
  });
});

describe('a host that reuses its options object for the next byokit', () => {
  it("leaves each byokit its own storage: the old one counts its keys in, and closes, its own storage, not the new one's", async () => {
    // A dev server's reload with its configuration kept in one object: the new storage is put in it, the new byokit
    // started from it, and the old one closed. The old one read `options.storage` when called, so it closed the new
    // one's storage (whose every call then failed) and left its own pool open.
    const first = closingStorage();
    const second = closingStorage();
    const options = { storage: first.storage, keyring: testKeyring(), environment: {} };
    const old = await createByokit(options);
    await call(old, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    options.storage = second.storage;
    const next = await createByokit(options);

    expect(await old.keyRowsByMasterKeyId()).toEqual(new Map([['k1', 1]]));
    await old.close();
    expect({ oldStorageCloses: first.closes(), newStorageCloses: second.closes() }).toEqual({ oldStorageCloses: 1, newStorageCloses: 0 });
    await expect(next.keyRowsByMasterKeyId()).resolves.toEqual(new Map());
    await next.close();
  });
});

describe('two byokits started at once from one options object, changed between the calls', () => {
  it("each reads the options, and the environment's system keys, as they were when it was called", async () => {
    // Tenants started together (`Promise.all`) from one configuration object set for each in turn: options read after
    // the start's first wait were the last tenant's, so the first billed calls to the second one's system key.
    const keys = [fakeProviderKey('anthropic'), fakeProviderKey('anthropic')];
    const storages = [memoryStorage(), memoryStorage()];
    // One environment too, as a test suite sets `process.env` for each byokit it starts.
    const environment: Record<string, string | undefined> = {};
    const options = { storage: storages[0]!, keyring: testKeyring(), environment };
    const starts = [0, 1].map((tenant) => {
      options.storage = storages[tenant]!;
      environment.ANTHROPIC_API_KEY = keys[tenant];
      return createByokit(options);
    });
    const tenants = await Promise.all(starts);

    const resolved = await Promise.all(tenants.map((byokit) => byokit.resolveKey(alice, 'anthropic')));
    expect(resolved.map(({ key }) => key.reveal() === keys[0])).toEqual([true, false]);
    await Promise.all(tenants.map((byokit) => byokit.close()));
  });
});

describe('a start refused for an option', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each<[string, object]>([
    ['fetchHandler.authenticate not a function', { fetchHandler: { authenticate: 'sessionAuth' } }],
    ['fetchHandler.prefix not a path', { fetchHandler: { authenticate: () => null, prefix: 'v2' } }],
    ['openApi.prefix not a path', { openApi: { prefix: '/v2?' } }],
    ['a provider misspelt', { providers: { antropic: { baseUrl: 'https://gateway.example' } } }],
    ['a provider timeout no call could use', { providers: { openai: { timeoutMs: 0 } } }],
  ])('(%s) reads no storage and leaves no timer behind', async (_case, options) => {
    // A test suite trying a bad option per test, or a host retrying a start: each refusal left an interval of 10 s
    // running for the life of the process, and had read storage first (with the database down, the refusal was
    // the database's error rather than the option's).
    const reads: string[] = [];
    const inner = memoryStorage();
    const storage = new Proxy(inner, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          reads.push(String(property));
          return (value as (...args: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const clearInterval = vi.spyOn(globalThis, 'clearInterval');

    await expect(createByokit({ storage, keyring: testKeyring(), environment: {}, ...options })).rejects.toThrow(TypeError);

    const left = setInterval.mock.results.filter(({ value }) => !clearInterval.mock.calls.some(([cleared]) => cleared === value));
    expect({ reads, intervalsLeft: left.length }).toEqual({ reads: [], intervalsLeft: 0 });
  });
});

describe("byokit's exported constants, shared by every byokit in the process", () => {
  it("are not changed by a host's in-place sort: every byokit's model list keeps the contract's provider order", async () => {
    // JavaScript does not hold a host to `readonly`: `PROVIDERS.sort()` for its own settings page sorted byokit's copy,
    // the one every byokit in the process orders by (and forgets a user's keys by, and checks provider names by).
    try {
      (PROVIDERS as unknown as string[]).sort();
    } catch {
      // Refused: the list is byokit's alone.
    }
    const { byokit } = await testByokit();
    const models = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Array<{ provider: string }>;

    expect([...new Set(models.map((model) => model.provider))]).toEqual(['anthropic', 'openai', 'google']);
    expect(PROVIDERS).toEqual(['anthropic', 'openai', 'google']);
    await byokit.close();
  });

  it('are frozen through and through, in every entry point: no host can change what another byokit reads', async () => {
    const entries = {
      '@byokit/core': await import('./index.js'),
      '@byokit/core/node': await import('./node/index.js'),
      '@byokit/core/testing': await import('./testing/index.js'),
      '@byokit/core/mock-providers': await import('./testing/mock-providers.js'),
    };
    const notFrozen: string[] = [];
    const check = (value: unknown, path: string) => {
      if (value === null || typeof value !== 'object') return;
      if (!Object.isFrozen(value)) notFrozen.push(path);
      for (const [key, inner] of Object.entries(value)) check(inner, `${path}.${key}`);
    };
    let objects = 0;
    for (const [entry, exports] of Object.entries(entries))
      for (const [name, value] of Object.entries(exports))
        if (value !== null && typeof value === 'object') {
          objects++;
          check(value, `${entry} ${name}`);
        }

    expect(objects).toBeGreaterThanOrEqual(5);
    expect(notFrozen).toEqual([]);
  });
});
