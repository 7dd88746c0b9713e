// A host's database may run every transaction SERIALIZABLE or REPEATABLE READ by default (ALTER DATABASE … SET
// default_transaction_isolation, a role's setting, or the pool's `options`). byokit's writes are made safe by its
// own locks (an advisory lock per owner's key writes, the budget row lock for holds), written for READ COMMITTED:
// under a stricter default, one user's requests at once failed as serialization failures, a 500 each.
import { randomBytes, randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createByokit, Keyring, type Principal } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { postgresStorage } from './index.js';
import { callAs, usageRecordOf } from './test-helpers.js';

const databaseUrl = process.env.DATABASE_URL;
const alice: Principal = { userId: 'user-alice', isAdmin: false };

describe.runIf(databaseUrl).each(['serializable', 'repeatable read'])('on a server whose sessions default to %s', (isolation) => {
  const schema = `isolation_${randomBytes(6).toString('hex')}`;
  // Connections enough for every request below to have its own, so that they truly run at once.
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    options: `-c default_transaction_isolation=${isolation.replace(' ', '\\ ')}`,
  });
  pool.on('error', () => {});
  const storage = postgresStorage({ pool, schema });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it("saves every one of a user's key changes sent at once, each with its audit record, and none fails", async () => {
    await storage.migrate();
    const [session] = (await pool.query<{ transaction_isolation: string }>('SHOW transaction_isolation')).rows;
    expect(session!.transaction_isolation).toBe(isolation);
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {}, keyCache: { ttlMs: 0 } });

    const bodies = Array.from({ length: 8 }, (_, index) =>
      index % 2 ? { openai_api_key: fakeProviderKey('openai') } : { anthropic_api_key: fakeProviderKey('anthropic') },
    );
    const answers = await Promise.all(bodies.map((body) => callAs(alice, byokit, 'PATCH', '/users/me/api-key', body)));
    expect(answers.map((answer) => answer.status)).toEqual(bodies.map(() => 200));
    const audit = await pool.query(`SELECT provider FROM "${schema}".byokit_key_audit WHERE owner_id = $1`, [alice.userId]);
    expect(audit.rows).toHaveLength(8);
    const status = await callAs(alice, byokit, 'GET', '/users/me/api-key-status');
    expect(status.json).toMatchObject({ has_anthropic_key: true, has_openai_key: true });
  });

  it("holds exactly what fits of a user's budget for calls made at once, and refuses the rest as exceeded, with no error", async () => {
    await storage.migrate();
    const userId = randomUUID();
    const start = new Date(Date.UTC(2027, 2, 1));
    const end = new Date(Date.UTC(2027, 3, 1));
    await storage.setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date() });
    const holds = Array.from({ length: 40 }, () => ({
      id: randomUUID(),
      userId,
      amountUsd: '0.04',
      periodStart: start,
      periodEnd: end,
      createdAt: new Date(start.getTime() + 60_000),
      expiresAt: new Date(start.getTime() + 3_600_000),
    }));
    const outcomes = await Promise.allSettled(holds.map((one) => storage.holdBudget(one, 'user')));
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []));
    expect(failures).toEqual([]);
    const held = holds.filter(
      (_, index) => outcomes[index]!.status === 'fulfilled' && (outcomes[index] as { value: string }).value === 'held',
    );
    expect(held).toHaveLength(25);

    // Every call ends at once, its record ending its hold: each cost counted once, none lost to another's.
    const ended = await Promise.allSettled(
      held.map((one) =>
        storage.recordUsage([usageRecordOf({ userId, createdAt: new Date(start.getTime() + 120_000), costUsd: '0.03' })], [one.id]),
      ),
    );
    expect(ended.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []))).toEqual([]);
    expect(await storage.budgetUse(userId, { start, end }, 'all', new Date(start.getTime() + 180_000))).toEqual({
      spentUsd: '0.75',
      heldUsd: '0',
    });
  });
});

describe('on PGlite whose session defaults to repeatable read', () => {
  it('still holds a budget, and refuses what does not fit, rather than answering nothing', async () => {
    const pglite = await PGlite.create();
    try {
      await pglite.exec(`SET default_transaction_isolation = 'repeatable read'`);
      const storage = postgresStorage({ pglite });
      await storage.migrate();
      const userId = randomUUID();
      const start = new Date(Date.UTC(2027, 2, 1));
      const hold = () => ({
        id: randomUUID(),
        userId,
        amountUsd: '0.6',
        periodStart: start,
        periodEnd: new Date(Date.UTC(2027, 3, 1)),
        createdAt: new Date(start.getTime() + 60_000),
        expiresAt: new Date(start.getTime() + 3_600_000),
      });
      await storage.setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date() });
      expect(await storage.holdBudget(hold(), 'user')).toBe('held');
      expect(await storage.holdBudget(hold(), 'user')).toBe('exceeded');
      expect(await storage.holdBudget({ ...hold(), userId: randomUUID() }, 'user')).toBe('unlimited');
    } finally {
      await pglite.close();
    }
  });
});
