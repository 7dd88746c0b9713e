// Two byokit nodes on one database, as a scaled-out host runs them behind a load balancer: each its own byokit (its
// own key cache and catalog) and, on a server, its own pool, served over HTTP, one clock for both (NTP-synced nodes),
// moved by hand rather than waited on. The user guide's steps split across the nodes (docs/architecture.md, "Many
// nodes share one PostgreSQL").
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createByokit, Keyring, type Byokit, type Storage } from '@byokit/core';
import { fakeProviderKey, startMockProviders, type MockProviders } from '@byokit/core/testing';
import { postgresStorage } from './index.js';
import { servedOverHttp, testDatabases } from './test-helpers.js';

const ADMIN = 'admin';
const SONNET_4_5 = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const CHAT = { model_id: SONNET_4_5, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 20 };
const KEY_TTL_MS = 10_000;
const CATALOG_TTL_MS = 30_000;

interface Answer {
  status: number;
  json: any;
  keySource: string | null;
}

interface ByokitNode {
  byokit: Byokit;
  storage: Storage;
  call(method: string, path: string, userId: string, body?: unknown): Promise<Answer>;
  /** Stops serving, then closes byokit (and the storage, when no other byokit uses it). Idempotent. */
  close(): Promise<void>;
}

const databases = testDatabases('two_nodes');

describe.each(databases)('two byokit nodes on one database (%s)', (_name, openStorage) => {
  // One deployment's configuration, the same on both nodes: the keyring and no system key in the environment.
  const k1 = { id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) };
  const keyring = Keyring.from([k1]);
  let mock: MockProviders;
  let clock: Date;
  const tick = (ms: number) => (clock = new Date(clock.getTime() + ms));

  beforeAll(async () => {
    mock = await startMockProviders();
  });
  afterAll(() => mock?.close());
  beforeEach(() => {
    mock.reset();
    clock = new Date('2027-03-15T12:00:00Z');
  });

  /** Nodes A and B: on a server each with a pool of its own over the one schema; on PGlite sharing its one connection. */
  async function startNodes(environment: Record<string, string> = {}): Promise<[ByokitNode, ByokitNode]> {
    const { storage, schema } = await openStorage();
    await storage.migrate();
    const second =
      process.env.DATABASE_URL && schema !== 'public' ? postgresStorage({ connectionString: process.env.DATABASE_URL, schema }) : storage;
    return [await startNode(storage, keyring, environment), await startNode(second, keyring, environment)];
  }

  async function startNode(storage: Storage, nodeKeyring = keyring, environment: Record<string, string> = {}): Promise<ByokitNode> {
    const byokit = await createByokit({
      storage,
      keyring: nodeKeyring,
      environment,
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
      now: () => clock,
    });
    const { base, close } = await servedOverHttp(byokit);
    return {
      byokit,
      storage,
      close,
      async call(method, path, userId, body) {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${userId}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        return {
          status: response.status,
          json: text === '' ? undefined : JSON.parse(text),
          keySource: response.headers.get('x-byok-key-source'),
        };
      },
    };
  }

  /** A node started again with another keyring, as a host's rolling restart does: the new one serves before the old one stops. */
  async function restart(node: ByokitNode, nodeKeyring: Keyring): Promise<ByokitNode> {
    const started = await startNode(node.storage, nodeKeyring);
    await node.close();
    return started;
  }

  it("uses a key saved on node A for node B's very next call, though B had just refused that user for want of one", async () => {
    const [a, b] = await startNodes();
    const user = `user-${randomUUID()}`;
    const key = fakeProviderKey('anthropic');
    // The guide's user tries to chat before adding a key, and is told to add one.
    const before = await b.call('POST', '/llm/chat/completions', user, CHAT);
    expect([before.status, before.json.error.code]).toEqual([400, 'api_key_required']);

    expect((await a.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: key })).status).toBe(200);
    // B's own status route reads the key at once; its chat and model list must not still say there is none.
    expect((await b.call('GET', '/users/me/api-key-status', user)).json.has_anthropic_key).toBe(true);
    const after = await b.call('POST', '/llm/chat/completions', user, CHAT);
    expect([after.status, after.keySource]).toEqual([200, 'user']);
    expect(mock.requests.at(-1)).toMatchObject({ provider: 'anthropic', key });
    const models = await b.call('GET', '/llm-models/?is_active=true', user);
    expect(models.json.data.map((model: { id: string }) => model.id)).toContain(SONNET_4_5);
  });

  it("uses a system key an admin set on node A for node B's next call of a user without a key", async () => {
    const [a, b] = await startNodes();
    const user = `user-${randomUUID()}`;
    const systemKey = fakeProviderKey('anthropic');
    expect((await b.call('POST', '/llm/chat/completions', user, CHAT)).status).toBe(400);
    expect((await b.call('GET', `/llm-models/${SONNET_4_5}`, user)).json.key_source).toBeNull();

    expect((await a.call('PATCH', '/admin/api-key', ADMIN, { anthropic_api_key: systemKey })).status).toBe(200);
    expect((await b.call('GET', `/llm-models/${SONNET_4_5}`, user)).json.key_source).toBe('system');
    const after = await b.call('POST', '/llm/chat/completions', user, CHAT);
    expect([after.status, after.keySource]).toEqual([200, 'system']);
    expect(mock.requests.at(-1)).toMatchObject({ provider: 'anthropic', key: systemKey });
  });

  it('stops using a key replaced or deleted on node A for calls on node B once the key cache TTL has passed', async () => {
    const [a, b] = await startNodes();
    const user = `user-${randomUUID()}`;
    const [first, second] = [fakeProviderKey('anthropic'), fakeProviderKey('anthropic')];
    await a.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: first });
    expect((await b.call('POST', '/llm/chat/completions', user, CHAT)).status).toBe(200);
    expect(mock.requests.at(-1)?.key).toBe(first);

    await a.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: second });
    tick(KEY_TTL_MS);
    expect((await b.call('POST', '/llm/chat/completions', user, CHAT)).status).toBe(200);
    expect(mock.requests.at(-1)?.key).toBe(second);

    expect((await a.call('DELETE', '/users/me/api-key', user)).status).toBe(200);
    tick(KEY_TTL_MS);
    const after = await b.call('POST', '/llm/chat/completions', user, CHAT);
    expect([after.status, after.json.error.code]).toEqual([400, 'api_key_required']);
    expect(mock.requests).toHaveLength(2);
  });

  it('stops using a leaked key its owner removed (PATCH null) on node A: A at once, B once the TTL has passed; a stream B opened with it before finishes', async () => {
    const [a, b] = await startNodes();
    const user = `user-${randomUUID()}`;
    const leaked = fakeProviderKey('anthropic');
    await a.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: leaked });
    // Both nodes have the key cached, and B has a stream open with it, held after its first event.
    expect((await a.call('POST', '/llm/chat/completions', user, CHAT)).status).toBe(200);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    mock.setStreamPacer(() => released);
    const chunks: unknown[] = [];
    const streaming = (async () => {
      for await (const chunk of b.byokit.chatStream({ userId: user }, { ...CHAT, messages: [{ role: 'user', content: 'Hello!' }] })) {
        chunks.push(chunk);
      }
    })();
    streaming.catch(() => {}); // awaited below, once released
    try {
      // B reads the key from the database first (not cached there yet): 10 s, not the mock's default 4.
      await mock.waitForRequest((request) => (request.body as { stream?: boolean }).stream === true, { timeoutMs: 10_000 });
      expect((await a.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: null })).status).toBe(200);
      const onA = await a.call('POST', '/llm/chat/completions', user, CHAT);
      expect([onA.status, onA.json.error?.code]).toEqual([400, 'api_key_required']);
      tick(KEY_TTL_MS);
      const onB = await b.call('POST', '/llm/chat/completions', user, CHAT);
      expect([onB.status, onB.json.error?.code]).toEqual([400, 'api_key_required']);
      expect(JSON.stringify([onA.json, onB.json])).not.toContain(leaked.slice(0, -4));
    } finally {
      release();
      mock.setStreamPacer(undefined);
    }

    // The stream under way was not cut: it ends as the provider ends it, on the key it began with.
    await streaming;
    const finishes = chunks.flatMap((chunk) => (chunk as { choices: Array<{ finish_reason: string | null }> }).choices);
    expect(finishes.map((choice) => choice.finish_reason).filter(Boolean)).toEqual([expect.any(String)]);
    expect(mock.requests.map((request) => request.key)).toEqual([leaked, leaked]);
  });

  it("stops using a leaked system key from the environment for users without a key once an admin replaced it on node A (B after the TTL); deleting the stored one brings the variable's back", async () => {
    const leaked = fakeProviderKey('anthropic');
    const [a, b] = await startNodes({ ANTHROPIC_API_KEY: leaked });
    const user = `user-${randomUUID()}`;
    // Both nodes have it cached.
    for (const node of [a, b]) expect((await node.call('POST', '/llm/chat/completions', user, CHAT)).keySource).toBe('system');
    expect(mock.requests.map((request) => request.key)).toEqual([leaked, leaked]);

    const fresh = fakeProviderKey('anthropic');
    expect((await a.call('PATCH', '/admin/api-key', ADMIN, { anthropic_api_key: fresh })).status).toBe(200);
    expect((await a.call('POST', '/llm/chat/completions', user, CHAT)).keySource).toBe('system');
    expect(mock.requests.at(-1)?.key).toBe(fresh);
    tick(KEY_TTL_MS);
    expect((await b.call('POST', '/llm/chat/completions', user, CHAT)).keySource).toBe('system');
    expect(mock.requests.at(-1)?.key).toBe(fresh);

    // The variable is still set on both nodes: removing the stored key puts the leaked one back in use.
    expect((await a.call('DELETE', '/admin/api-key?provider=anthropic', ADMIN)).status).toBe(200);
    tick(KEY_TTL_MS);
    await b.call('POST', '/llm/chat/completions', user, CHAT);
    expect(mock.requests.at(-1)?.key).toBe(leaked);
  });

  it("a model added or re-priced on node A is called and billed as A left it by node B once its catalog has reloaded; B's usage shows what A billed once written", async () => {
    const [a, b] = await startNodes();
    const user = `user-${randomUUID()}`;
    await a.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: fakeProviderKey('anthropic') });
    const model = {
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      display_name: 'Claude Sonnet 4.5 (dated)',
      context_window: 200_000,
      max_output_tokens: 64_000,
      pricing: { input_per_mtok_usd: '3', output_per_mtok_usd: '15' },
    };
    const added = await a.call('POST', '/llm-models/', ADMIN, model);
    expect(added.status).toBe(201);
    const chat = { ...CHAT, model_id: added.json.id };
    // Within catalogTtlMs B does not know it (docs/architecture.md); adding it again there is refused all the same.
    expect((await b.call('POST', '/llm/chat/completions', user, chat)).status).toBe(404);
    expect((await b.call('POST', '/llm-models/', ADMIN, model)).status).toBe(409);
    tick(CATALOG_TTL_MS);
    const first = await b.call('POST', '/llm/chat/completions', user, chat);
    expect(first.status).toBe(200);
    const { prompt_tokens: prompt, completion_tokens: completion } = first.json.usage as {
      prompt_tokens: number;
      completion_tokens: number;
    };
    // Dollars per million tokens are micro-dollars per token.
    const costAt = (input: number, output: number) => `${(prompt * input + completion * output) / 1_000_000}`;
    expect(first.json.usage.cost_usd).toBe(costAt(3, 15));

    const repriced = await a.call('PATCH', `/llm-models/${added.json.id}`, ADMIN, {
      pricing: { input_per_mtok_usd: '30', output_per_mtok_usd: '150' },
    });
    expect(repriced.status).toBe(200);
    tick(CATALOG_TTL_MS);
    expect((await b.call('POST', '/llm/chat/completions', user, chat)).json.usage.cost_usd).toBe(costAt(30, 150));
    // B writes its own records just after each answer, on a pool of its own: waited for here, as nothing closes B.
    tick(1); // the window ends now, exclusive: past the frozen clock's last call
    const totalsOnB = async () => (await b.call('GET', '/llm/usage/me', user)).json.totals;
    await expect.poll(totalsOnB, { timeout: 10_000 }).toMatchObject({ requests: 2, cost_usd: costAt(3 + 30, 15 + 150) });
    expect((await a.call('POST', '/llm/chat/completions', user, chat)).json.usage.cost_usd).toBe(costAt(30, 150));
    // No node caches usage: B shows what A billed once A has written its record (just after the answer; A's close waits).
    await a.close();
    tick(1);
    expect(await totalsOnB()).toMatchObject({
      requests: 3,
      cost_usd: costAt(3 + 30 + 30, 15 + 150 + 150),
    });
  });

  describe('a master-key rotation rolled out node by node (docs/security.md, "Rotating the master key")', () => {
    const k2 = { id: 'k2', key: crypto.getRandomValues(new Uint8Array(32)) };
    const chatOf = (node: ByokitNode, user: string) => node.call('POST', '/llm/chat/completions', user, CHAT);
    const saveKey = async (node: ByokitNode, user: string) => {
      expect((await node.call('PATCH', '/users/me/api-key', user, { anthropic_api_key: fakeProviderKey('anthropic') })).status).toBe(200);
    };

    it('put first on one node while another has not got it, the new key seals keys the other cannot open: their owners are told to enter them again', async () => {
      let [a, b] = await startNodes();
      a = await restart(a, Keyring.from([k2, k1]));
      const user = `user-${randomUUID()}`;
      await saveKey(a, user);
      const refused = await chatOf(b, user);
      expect([refused.status, refused.json.error.code]).toEqual([400, 'key_unreadable']);
      expect(refused.json.error.message).toContain('enter it again');
    });

    it('added after the primary on every node first, then made primary, then re-encrypted while both serve: every key opens on every node at every step', async () => {
      let [a, b] = await startNodes();
      const users = Array.from({ length: 3 }, () => `user-${randomUUID()}`);
      const everyoneChatsOn = async (node: ByokitNode) => {
        for (const user of users) expect((await chatOf(node, user)).status).toBe(200);
      };
      await saveKey(a, users[0]!);

      // Step 1: k2 given to every node after k1, which still seals.
      a = await restart(a, Keyring.from([k1, k2]));
      await saveKey(a, users[1]!);
      b = await restart(b, Keyring.from([k1, k2]));
      // Step 2: k2 made primary, node by node: a key node A seals under it opens on node B, not yet restarted.
      a = await restart(a, Keyring.from([k2, k1]));
      await saveKey(a, users[2]!);
      await everyoneChatsOn(b);
      b = await restart(b, Keyring.from([k2, k1]));
      expect(Object.fromEntries(await a.byokit.keyRowsByMasterKeyId())).toEqual({ k1: 2, k2: 1 });

      // Mid-rotation, a node started with a keyring that lacks either id is refused, naming it.
      const pausing = new AbortController();
      await a.byokit.rotateKeys({ batchSize: 1, signal: pausing.signal, onProgress: () => pausing.abort() });
      expect(Object.fromEntries(await a.byokit.keyRowsByMasterKeyId())).toEqual({ k1: 1, k2: 2 });
      await expect(startNode(b.storage, Keyring.from([k1]))).rejects.toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringContaining("'k2'"),
      });
      await expect(startNode(b.storage, Keyring.from([k2]))).rejects.toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringContaining("'k1'"),
      });

      // The rest re-encrypted on node A while node B serves; then k1 is dropped.
      expect(await a.byokit.rotateKeys()).toMatchObject({ failed: 0 });
      await everyoneChatsOn(b);
      expect(Object.fromEntries(await a.byokit.keyRowsByMasterKeyId())).toEqual({ k2: 3 });
      b = await restart(b, Keyring.from([k2]));
      await everyoneChatsOn(b);
    });
  });
});
