// Two admins adding the same model at once: both pass the route's check of the catalog before either has saved,
// and the database's unique (provider, model) decides. The loser gets 409 conflict, as if it had come second,
// never the database's error as a 500. Found by racing the example server on a real PostgreSQL.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createByokit, Keyring, type Principal } from '@byokit/core';
import { postgresStorage } from './index.js';
import { callAs, testDatabases } from './test-helpers.js';

const admin: Principal = { userId: 'user-admin', isAdmin: true };

const databases = testDatabases('model_race');

describe.each(databases)('admins adding the same model at once, on %s', (_name, openStorage) => {
  it('one add succeeds with 201, every other gets 409 conflict, and the catalog holds the model once', async () => {
    const { storage } = await openStorage();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {} });
    onTestFinished(() => byokit.close());

    const model = {
      provider: 'openai',
      model: 'gpt-raced',
      display_name: 'Raced',
      context_window: 1000,
      max_output_tokens: 100,
      pricing: null,
    };
    const answers = await Promise.all(Array.from({ length: 12 }, () => callAs(admin, byokit, 'POST', '/llm-models/', model)));

    expect(answers.map((answer) => answer.status).sort()).toEqual([201, ...Array<number>(11).fill(409)]);
    for (const refused of answers.filter((answer) => answer.status === 409)) {
      expect(refused.json.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('openai/gpt-raced') });
    }
    const listed = (await callAs(admin, byokit, 'GET', '/llm-models/?all=true')).json.data;
    expect(listed.filter((entry: { model: string }) => entry.model === 'gpt-raced')).toHaveLength(1);
  });

  it("a re-pricing on a second node, whose catalog is older than a first node's deactivation, keeps the model inactive", async () => {
    const { storage } = await openStorage();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const [nodeA, nodeB] = await Promise.all([1, 2].map(() => createByokit({ storage, keyring, environment: {} })));
    onTestFinished(async () => {
      await nodeA!.close();
      await nodeB!.close();
    });
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const pricing = { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' };

    expect((await callAs(admin, nodeA!, 'PATCH', `/llm-models/${id}`, { is_active: false })).json.is_active).toBe(false);
    const repriced = await callAs(admin, nodeB!, 'PATCH', `/llm-models/${id}`, { pricing });

    expect([repriced.status, repriced.json.is_active, repriced.json.pricing]).toEqual([200, false, pricing]);
    const stored = (await storage.listModels()).find((model) => model.id === id);
    expect([stored?.isActive, stored?.pricing]).toEqual([false, { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' }]);
  });
});

/** A promise and what settles it, for a test to hold a statement back and let it go. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

type Hook = (text: string) => Promise<void>;

/**
 * A pool whose every statement (single ones through `query`, and those of the transactions it checks out) passes
 * through `hook` first, which may hold it back. Its sessions carry `applicationName`, for pg_stat_activity.
 */
function hookedPool(applicationName: string, hook: { current: Hook }): pg.Pool {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4, application_name: applicationName });
  const textOf = (first: unknown) => (typeof first === 'string' ? first : (first as { text: string }).text);
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
    await hook.current(textOf(args[0]));
    return query(...args);
  };
  const connect = pool.connect.bind(pool) as (callback?: unknown) => unknown;
  const hooked = new WeakSet<pg.PoolClient>();
  (pool as unknown as { connect: (callback?: unknown) => unknown }).connect = (callback?: unknown) => {
    // pool.query checks a client out with a callback: its statement went through the hook above already.
    if (callback !== undefined) return connect(callback);
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      if (hooked.has(client)) return client;
      hooked.add(client);
      const clientQuery = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
        await hook.current(textOf(args[0]));
        return clientQuery(...args);
      };
      return client;
    });
  };
  return pool;
}

// Two admins changing one model at once through two nodes: each PATCH is applied to the model as the other left it,
// never to a copy read before the other's change was saved. Only a real server has two nodes' sessions at once.
describe.runIf(process.env.DATABASE_URL)('admins changing one model at once through two nodes, on a real PostgreSQL server', () => {
  it('a deactivation on one node while a re-pricing on another is being saved leaves the model inactive at the new price', async () => {
    const schema = `model_race_${randomBytes(6).toString('hex')}`;
    const names = { a: `byokit-test-a-${randomBytes(4).toString('hex')}`, b: `byokit-test-b-${randomBytes(4).toString('hex')}` };
    const hookA = { current: (async () => {}) as Hook };
    const hookB = { current: (async () => {}) as Hook };
    const poolA = hookedPool(names.a, hookA);
    const poolB = hookedPool(names.b, hookB);
    onTestFinished(async () => {
      await poolA.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all([poolA.end(), poolB.end()]);
    });
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const storageA = postgresStorage({ pool: poolA, schema });
    await storageA.migrate();
    // Catalogs read on every request: what each node serves is what storage holds.
    const nodeA = await createByokit({ storage: storageA, keyring, environment: {}, catalogTtlMs: 0 });
    const nodeB = await createByokit({ storage: postgresStorage({ pool: poolB, schema }), keyring, environment: {}, catalogTtlMs: 0 });
    onTestFinished(async () => {
      await nodeA.close();
      await nodeB.close();
    });
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const pricing = { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' };

    // B's save of its re-pricing is held once B has read the model (active), until A's deactivation has been
    // saved, or is waiting for B's to be (what a change that waits its turn does).
    const bSaving = deferred();
    const letBSave = deferred();
    hookB.current = async (text) => {
      if (/^INSERT INTO .*models/s.test(text)) {
        bSaving.resolve();
        await letBSave.promise;
      }
    };
    const repricing = callAs(admin, nodeB, 'PATCH', `/llm-models/${id}`, { pricing });
    await bSaving.promise;
    let aAnswered = false;
    const deactivating = callAs(admin, nodeA, 'PATCH', `/llm-models/${id}`, { is_active: false }).finally(() => (aAnswered = true));
    const watcher = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await watcher.connect();
    try {
      while (!aAnswered) {
        const waiting = await watcher.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = $2', [
          names.a,
          'Lock',
        ]);
        if (waiting.rows.length > 0) break;
      }
    } finally {
      await watcher.end();
    }
    letBSave.resolve();
    const [repriced, deactivated] = await Promise.all([repricing, deactivating]);

    expect([repriced.status, deactivated.status]).toEqual([200, 200]);
    const stored = (await storageA.listModels()).find((model) => model.id === id);
    expect([stored?.isActive, stored?.pricing]).toEqual([false, { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' }]);
    // And each node serves it so.
    for (const node of [nodeA, nodeB]) {
      const shown = (await callAs(admin, node, 'GET', '/llm-models/?all=true')).json.data.find((model: { id: string }) => model.id === id);
      expect([shown.is_active, shown.pricing]).toEqual([false, pricing]);
    }
  });
});
