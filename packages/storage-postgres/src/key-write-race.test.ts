// Two key writes of one owner at once (a user's two PATCHes of their keys, two admins' of the system keys): what is
// stored after both is what one of them would have left had it come second, never a mix of the two. Only a real
// server runs them at once (PGlite is one connection, its transactions one after the other).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyChange, KeyOwner } from '@byokit/core';
import { postgresStorage, type PostgresStorage } from './index.js';

const databaseUrl = process.env.DATABASE_URL;

/** A promise and what settles it, for the test to hold a statement back and let it go. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

const set = (provider: 'anthropic' | 'openai', last4: string): KeyChange => ({
  action: 'set',
  provider,
  envelope: new TextEncoder().encode(`sealed-${provider}-${last4}`),
  keyId: 'k1',
  hint: `…${last4}`,
  verification: 'unverified',
});
const remove = (provider: 'anthropic' | 'openai'): KeyChange => ({ action: 'delete', provider });

describe.runIf(databaseUrl)('two key writes of one owner at once, on a real PostgreSQL server', () => {
  const schema = `key_race_${randomBytes(6).toString('hex')}`;
  let pool: pg.Pool;
  let watcher: pg.Pool;
  let storage: PostgresStorage;
  /** Called with each statement a transaction's client sends, before it goes: may hold it back. */
  let beforeStatement: (client: pg.PoolClient, text: string, params: readonly unknown[]) => Promise<void> = async () => {};

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    watcher = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    // Every statement on a client of the pool passes through the hook: the storage's transactions check one out.
    const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
    const hookedClients = new WeakSet<pg.PoolClient>();
    const hooked = async () => {
      const client = await connect();
      // A client goes back to the pool and comes out again: hooked once.
      if (hookedClients.has(client)) return client;
      hookedClients.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
        const [first, values] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
        const text = typeof first === 'string' ? first : first.text;
        const params = (typeof first === 'string' ? values : first.values) ?? [];
        await beforeStatement(client, text, params);
        return query(...args);
      };
      return client;
    };
    // Only the storage's transactions check a client out; its single statements go through pool.query as they are.
    (pool as unknown as { connect: (callback?: unknown) => unknown }).connect = (callback?: unknown) =>
      callback === undefined ? hooked() : (connect as (callback: unknown) => unknown)(callback);
    storage = postgresStorage({ pool, schema });
    await storage.migrate();
  });
  afterAll(async () => {
    await watcher?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all([pool?.end(), watcher?.end()]);
  });

  it("stores one write's keys whole when one sets Anthropic and removes OpenAI while the other does the reverse", async () => {
    const owner: KeyOwner = { type: 'user', id: `user-${randomBytes(4).toString('hex')}` };
    const actor = { actorId: owner.id, requestId: 'req' };
    const at = new Date();
    // The interleaving that mixed them: each write's removal ran before the other's set was committed, so neither
    // saw a row to remove. First's removal of OpenAI is held until second has run up to its commit, or is waiting
    // on first (what a write that waits its turn does); second's commit until first has ended.
    const firstAtRemoval = deferred();
    const letFirstRemove = deferred();
    const secondAtCommit = deferred();
    const firstEnded = deferred();
    // Second's client is the one that begins a transaction once first is held.
    let firstHeld = false;
    let secondCommitting = false;
    let secondClient: pg.PoolClient | undefined;
    const secondBegun = deferred<number>();
    beforeStatement = async (client, text, params) => {
      if (text.startsWith('BEGIN') && firstHeld && secondClient === undefined) {
        secondClient = client;
        secondBegun.resolve((client as unknown as { processID: number }).processID);
      }
      if (/^DELETE FROM .*provider_keys/s.test(text) && params[2] === 'openai') {
        firstHeld = true;
        firstAtRemoval.resolve();
        await letFirstRemove.promise;
      }
      if (text === 'COMMIT' && client === secondClient) {
        secondCommitting = true;
        secondAtCommit.resolve();
        await firstEnded.promise;
      }
    };

    const first = storage.writeKeys(owner, [set('anthropic', 'AAAA'), remove('openai')], actor, at);
    await firstAtRemoval.promise;
    const second = storage.writeKeys(owner, [remove('anthropic'), set('openai', 'OOOO')], actor, at);
    const secondPid = await secondBegun.promise;
    // Second has reached its commit, or waits for a lock first holds: either way first may go on.
    const secondWaiting = (async () => {
      while (!secondCommitting) {
        const [row] = (
          await watcher.query<{ wait: string | null }>('SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1', [secondPid])
        ).rows;
        if (row?.wait === 'Lock') return;
      }
    })();
    await Promise.race([secondAtCommit.promise, secondWaiting]);
    letFirstRemove.resolve();
    await first.finally(() => firstEnded.resolve());
    await second;
    await secondWaiting;

    const stored = (await storage.listKeys(owner)).map((key) => `${key.provider} ${key.hint}`);
    // First then second leaves second's OpenAI key alone; second then first, first's Anthropic key alone.
    expect([['openai …OOOO'], ['anthropic …AAAA']]).toContainEqual(stored);
    // And the audit trail says how it came to be: two sets and the one removal that found a key.
    const audit = (await storage.listAudit({ owner })).map((record) => `${record.action} ${record.provider} ${record.hint}`);
    expect(audit.sort()).toEqual(
      stored[0] === 'openai …OOOO'
        ? ['delete anthropic …AAAA', 'set anthropic …AAAA', 'set openai …OOOO']
        : ['delete openai …OOOO', 'set anthropic …AAAA', 'set openai …OOOO'],
    );
  });
});
