import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage, UsageRecord } from '@byokit/core';
import { postgresStorage, type PostgresStorage } from './index.js';

type BudgetHold = Parameters<Storage['holdBudget']>[0];

/** Exact pico-dollars of a plain decimal text ("0.836" → 836_000_000_000n): money compared without floats. */
function pico(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,12}))?$/.exec(text);
  if (!match) throw new TypeError(`Not a money amount: ${JSON.stringify(text)}`);
  return BigInt(match[1]!) * 10n ** 12n + BigInt((match[2] ?? '').padEnd(12, '0'));
}

// March 2027, with holds asked for a minute in, counting for an hour.
const period = { start: new Date(Date.UTC(2027, 2, 1)), end: new Date(Date.UTC(2027, 3, 1)) };
const minute = 60_000;
const inPeriod = (ms: number) => new Date(period.start.getTime() + ms);

function hold(userId: string, amountUsd: string, createdAt = inPeriod(minute), ttlMs = 60 * minute): BudgetHold {
  return {
    id: randomUUID(),
    userId,
    amountUsd,
    periodStart: period.start,
    periodEnd: period.end,
    createdAt,
    expiresAt: new Date(createdAt.getTime() + ttlMs),
  };
}

function usageRecord(userId: string, costUsd: string): UsageRecord {
  return {
    id: randomUUID(),
    createdAt: inPeriod(2 * minute),
    userId,
    modelId: '0b6f6b2e-3c1a-4f43-9d55-5c1d8a2f7e01',
    model: 'claude-sonnet-4-5',
    provider: 'anthropic',
    keySource: 'system',
    status: 'ok',
    inputTokens: 12,
    outputTokens: 30,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd,
    prices: { inputPerMTokUsd: '3', outputPerMTokUsd: '15' },
    latencyMs: 842,
    requestId: `req_${randomUUID()}`,
  };
}

const databaseUrl = process.env.DATABASE_URL;

// Two storages on two pools over one schema: two nodes of one deployment. Only the database can keep
// their holds within a budget, so this runs on a real server only (PGlite is one connection).
describe.runIf(databaseUrl)('budget holds from two nodes on a real PostgreSQL server', () => {
  const schema = `budget_${randomBytes(6).toString('hex')}`;
  const reservations = `"${schema}"."byokit_budget_reservations"`;
  const pools: pg.Pool[] = [];
  const nodes: PostgresStorage[] = [];

  beforeAll(async () => {
    for (let node = 0; node < 2; node++) {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
      pools.push(pool);
      nodes.push(postgresStorage({ pool, schema }));
    }
    await Promise.all(nodes.map((node) => node.migrate()));
  });
  afterAll(async () => {
    await pools[0]?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await Promise.all(pools.map((pool) => pool.end()));
  });

  const node = (index: number) => nodes[index % nodes.length]!;
  const reservationCount = async (userId: string) =>
    Number(
      (await pools[0]!.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${reservations} WHERE user_id = $1`, [userId])).rows[0]!.n,
    );

  it('lets exactly floor(1 / 0.013) = 76 of 200 racing holds through, and spends 76 × the real cost once they are released', async () => {
    const userId = randomUUID();
    const limit = pico('1');
    await node(0).setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date() });

    const holds = Array.from({ length: 200 }, () => hold(userId, '0.013'));
    const outcomes = await Promise.all(holds.map((one, index) => node(index).holdBudget(one, index % 3 === 0 ? 'user' : 'system')));
    const held = holds.filter((_, index) => outcomes[index] === 'held');
    expect(held).toHaveLength(76);
    expect(outcomes.filter((outcome) => outcome === 'exceeded')).toHaveLength(124);
    expect(await node(1).budgetUse(userId, period, 'all', inPeriod(2 * minute))).toEqual({ spentUsd: '0', heldUsd: '0.988' });

    // Release every hold with its call's record, from both nodes, while a watcher checks the budget is never overrun.
    let releasing = true;
    const samples: bigint[] = [];
    const watcher = (async () => {
      while (releasing) {
        const use = await node(0).budgetUse(userId, period, 'all', inPeriod(2 * minute));
        samples.push(pico(use.spentUsd) + pico(use.heldUsd));
        expect(pico(use.spentUsd)).toBeLessThanOrEqual(limit);
      }
    })();
    try {
      await Promise.all(held.map((one, index) => node(index).recordUsage([usageRecord(userId, '0.011')], [one.id])));
    } finally {
      releasing = false;
      await watcher;
    }
    expect(samples.length).toBeGreaterThan(0);
    // Each record comes in as its hold goes out: spent + held only ever falls, from 76 × 0.013 to 76 × 0.011.
    for (const sample of samples) {
      expect(sample).toBeLessThanOrEqual(pico('0.988'));
      expect(sample).toBeGreaterThanOrEqual(pico('0.836'));
    }

    const use = await node(1).budgetUse(userId, period, 'all', inPeriod(2 * minute));
    expect(use).toEqual({ spentUsd: '0.836', heldUsd: '0' });
    expect(pico(use.spentUsd)).toBeLessThanOrEqual(limit);
    expect(await reservationCount(userId)).toBe(0);

    // What was spent counts: of the 0.164 left, 12 more holds of 0.013 fit (0.992), the 13th would not.
    const more = await Promise.all(Array.from({ length: 40 }, (_, index) => node(index).holdBudget(hold(userId, '0.013'), 'system')));
    expect(more.filter((outcome) => outcome === 'held')).toHaveLength(12);
  });

  it('does not let the hold of a node that crashed block new holds once it has expired', async () => {
    const userId = randomUUID();
    await node(0).setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'system', updatedAt: new Date() });
    // The whole budget, held by a node that then died: it expired at minute 10.
    const crashed = hold(userId, '1', inPeriod(0), 10 * minute);
    expect(await node(0).holdBudget(crashed, 'system')).toBe('held');
    expect(await node(1).holdBudget(hold(userId, '0.000000000001', inPeriod(10 * minute - 1)), 'system')).toBe('exceeded');

    // Once expired, it no longer counts.
    expect(await node(1).holdBudget(hold(userId, '1', inPeriod(10 * minute)), 'system')).toBe('held');
    expect(await node(0).budgetUse(userId, period, 'system', inPeriod(11 * minute))).toEqual({ spentUsd: '0', heldUsd: '1' });
    // The live hold still holds the whole budget.
    expect(await node(0).holdBudget(hold(userId, '0.000000000001', inPeriod(11 * minute)), 'system')).toBe('exceeded');
    // A hold's lifetime (15 minutes) after it expired, the next hold clears it away: no sooner, as a node whose
    // clock runs fast would otherwise delete other nodes' live holds (0007).
    expect(await node(0).holdBudget(hold(userId, '0.000000000001', inPeriod(25 * minute)), 'system')).toBe('exceeded');
    const rows = await pools[0]!.query(`SELECT 1 FROM ${reservations} WHERE id = $1`, [crashed.id]);
    expect(rows.rowCount).toBe(0);
    // Releasing the crashed node's hold late is no error, and changes nothing.
    await node(0).recordUsage([], [crashed.id]);
    expect(await reservationCount(userId)).toBe(1);
  });

  it("deletes other users' expired holds while those users' calls hold and end theirs, from both nodes, without a deadlock", async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    for (const userId of users) await node(0).setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date() });
    // Each user's hold of a node that died, expired at minute 10; and each user's call whose record is still to come.
    const crashed = users.map((userId) => hold(userId, '0.01', inPeriod(0), 10 * minute));
    for (const one of crashed) expect(await node(0).holdBudget(one, 'system')).toBe('held');
    const running = users.map((userId) => hold(userId, '0.01', inPeriod(0), 10 * minute));
    for (const one of running) expect(await node(1).holdBudget(one, 'system')).toBe('held');

    // At minute 26, a hold's lifetime after they expired (0007 deletes no sooner): 200 new holds across the users
    // race with the records ending the expired running holds.
    const later = Array.from({ length: 200 }, (_, index) => hold(users[index % users.length]!, '0.01', inPeriod(26 * minute)));
    const outcomes = await Promise.all([
      ...later.map((one, index) => node(index).holdBudget(one, 'system')),
      ...running.map((one, index) =>
        node(index + 1)
          .recordUsage([usageRecord(one.userId, '0.005')], [one.id])
          .then(() => 'recorded'),
      ),
    ]);
    expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(200);
    expect(outcomes.filter((outcome) => outcome === 'recorded')).toHaveLength(users.length);
    // Every expired hold is gone; the 200 new ones remain.
    const rows = await pools[0]!.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${reservations} WHERE user_id = ANY($1)`, [users]);
    expect(Number(rows.rows[0]!.n)).toBe(200);
  });
});
