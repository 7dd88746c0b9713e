import { EventEmitter } from 'node:events';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { poolDatabase } from './database.js';

/** A pool whose every run of `statement` fails as losing to another transaction (`code`), counting the runs. */
function losingPool(code: string) {
  const runs: string[] = [];
  const run = async (text: string) => {
    if (/^(BEGIN|COMMIT|ROLLBACK)/.test(text)) return { rows: [] };
    runs.push(text);
    throw Object.assign(new Error('could not serialize access'), { code });
  };
  const client = { query: run, on: () => client, removeListener: () => client, release: () => {} };
  const pool = { query: run, connect: async () => client, end: async () => {} };
  return { pool: pool as unknown as Pool, runs };
}

// docs/http-api.md: a statement or transaction that loses to another (40001, 40P01) is "run again 4 times in vain"
// before it answers storage_unavailable. A lone statement was run 6 times: once, then 5 more in a transaction each.
describe('a statement that keeps losing to other transactions', () => {
  it.each(['40001', '40P01'])('is run 5 times in all (%s), as a transaction is, then fails with that error', async (code) => {
    const { pool, runs } = losingPool(code);
    const database = poolDatabase(pool, false);
    await expect(database.query('UPDATE t SET x = 1')).rejects.toMatchObject({ code });
    expect(runs).toHaveLength(5);
    runs.length = 0;
    await expect(database.transaction((transaction) => transaction.query('UPDATE t SET x = 1'))).rejects.toMatchObject({ code });
    expect(runs).toHaveLength(5);
  });
});

// A checked-out client is listened to while its transaction runs (transactionOn), then goes back to the pool, which
// hands the same client to transaction after transaction.
describe('a transaction on a pooled client', () => {
  it("leaves no 'error' listener on the client once done, so a client reused for many warns of no listener leak", async () => {
    const client = Object.assign(new EventEmitter(), { query: async () => ({ rows: [] }), release: () => {} });
    const pool = { query: client.query, connect: async () => client, end: async () => {} };
    const database = poolDatabase(pool as unknown as Pool, false);
    // Past Node's 10 listeners of one event, which it reports as a MaxListenersExceededWarning.
    for (let run = 0; run < 20; run++) await database.transaction((transaction) => transaction.query('SELECT 1'));
    expect(client.listenerCount('error')).toBe(0);
  });
});

// A host's pool may be a wrapper (tracing, a test double) that fails with what cannot be read: a revoked proxy throws
// at every read, `instanceof` included. Asking whether the connection failed threw in turn, before the ROLLBACK, and
// the client went back to the pool inside its open transaction, for the next request to run its statements in.
describe('a transaction whose statement fails with what cannot be read (a revoked proxy)', () => {
  it('is rolled back before its client goes back to the pool, and fails with that failure', async () => {
    const { proxy: unreadable, revoke } = Proxy.revocable({}, {});
    revoke();
    const statements: string[] = [];
    const client = {
      query: async (text: string) => {
        statements.push(text);
        if (/^(BEGIN|COMMIT|ROLLBACK)/.test(text)) return { rows: [] };
        throw unreadable;
      },
      on: () => client,
      removeListener: () => client,
      release: (destroy?: unknown) => statements.push(destroy ? 'release, destroyed' : 'release'),
    };
    const pool = { query: client.query, connect: async () => client, end: async () => {} };
    const database = poolDatabase(pool as unknown as Pool, false);
    // Caught, not resolved to: a promise resolved with a revoked proxy reads its `then`, and rejects for it.
    let failure: unknown;
    try {
      await database.transaction((transaction) => transaction.query('UPDATE t SET x = 1'));
    } catch (error) {
      failure = error;
    }
    expect(statements).toEqual(['BEGIN ISOLATION LEVEL READ COMMITTED', 'UPDATE t SET x = 1', 'ROLLBACK', 'release']);
    // Compared by identity: vitest's own messages read a value's fields, which a revoked proxy refuses.
    expect(failure === unreadable).toBe(true);
  });
});

// A pooler in transaction mode (PgBouncer before 1.21, or without max_prepared_statements) runs each transaction on
// any server session: a statement prepared by name on one is missing from, or already on, the next.
describe('a pool database given preparedStatements: false', () => {
  it('sends every statement unnamed, on the pool and in a transaction, where by default it names them', async () => {
    const sent: Array<string | { name?: string; text: string }> = [];
    const query = async (statement: string | { name?: string; text: string }) => (sent.push(statement), { rows: [] });
    const client = { query, on: () => client, removeListener: () => client, release: () => {} };
    const pool = { query, connect: async () => client, end: async () => {} };
    const named = () => sent.filter((statement) => typeof statement !== 'string' && statement.name !== undefined);

    const unnamed = poolDatabase(pool as unknown as Pool, false, { preparedStatements: false });
    await unnamed.query('SELECT $1::int', [1], { prepare: true });
    await unnamed.transaction((transaction) => transaction.query('SELECT $1::int', [2], { prepare: true }));
    expect(sent).toHaveLength(4);
    expect(named()).toEqual([]);

    const byDefault = poolDatabase(pool as unknown as Pool, false);
    await byDefault.query('SELECT $1::int', [1], { prepare: true });
    await byDefault.transaction((transaction) => transaction.query('SELECT $1::int', [2], { prepare: true }));
    expect(named()).toHaveLength(2);
  });
});
