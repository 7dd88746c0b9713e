// Two byokit nodes on one database, as a scaled-out host runs them behind a load balancer: each its own byokit (its
// own key cache and catalog) and, on a server, its own pool, served over HTTP, one clock for both (NTP-synced nodes),
// moved by hand rather than waited on. The user guide's steps split across the nodes (docs/architecture.md, "Many
// nodes share one PostgreSQL").
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createByokit, Keyring, type Principal, type Storage } from '@byokit/core';
import { createNodeHandler } from '@byokit/core/node';
import { fakeProviderKey, startMockProviders, type MockProviders } from '@byokit/core/testing';
import { postgresStorage } from './index.js';
import { testDatabases } from './test-helpers.js';

const ADMIN = 'admin';
const SONNET_4_5 = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const CHAT = { model_id: SONNET_4_5, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 20 };
const KEY_TTL_MS = 10_000;

/** The host's auth of this test: `Bearer <user id>`, and the admin is `Bearer admin`. */
function authenticate(request: IncomingMessage): Principal | null {
  const userId = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  return userId === undefined ? null : { userId, isAdmin: userId === ADMIN };
}

interface Answer {
  status: number;
  json: any;
  keySource: string | null;
}

interface ByokitNode {
  call(method: string, path: string, userId: string, body?: unknown): Promise<Answer>;
}

const databases = testDatabases('two_nodes');

describe.each(databases)('two byokit nodes on one database (%s)', (_name, openStorage) => {
  // One deployment's configuration, the same on both nodes: the keyring and no system key in the environment.
  const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
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
  async function startNodes(): Promise<[ByokitNode, ByokitNode]> {
    const { storage, schema } = await openStorage();
    await storage.migrate();
    const second =
      process.env.DATABASE_URL && schema !== 'public' ? postgresStorage({ connectionString: process.env.DATABASE_URL, schema }) : storage;
    return [await startNode(storage), await startNode(second)];
  }

  async function startNode(storage: Storage): Promise<ByokitNode> {
    const byokit = await createByokit({
      storage,
      keyring,
      environment: {},
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
      now: () => clock,
    });
    const routes = createNodeHandler(byokit, { authenticate, prefix: '/v2' });
    const server = createServer((request, response) => {
      routes(request, response).then(
        (handled) => handled || response.writeHead(404).end(),
        () => response.destroy(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
    onTestFinished(async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await byokit.close();
    });
    return {
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
});
