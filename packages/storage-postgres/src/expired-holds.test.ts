import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Storage } from '@byokit/core';
import { testDatabases } from './test-helpers.js';

type BudgetHold = Parameters<Storage['holdBudget']>[0];

// March 2027, from 08:00 UTC; a hold counts for 15 minutes, as BudgetGuard's do.
const period = { start: new Date(Date.UTC(2027, 2, 1)), end: new Date(Date.UTC(2027, 3, 1)) };
const start = Date.UTC(2027, 2, 1, 8);
const ttlMs = 15 * 60_000;

function hold(userId: string, ms: number): BudgetHold {
  const createdAt = new Date(start + ms);
  return {
    id: randomUUID(),
    userId,
    amountUsd: '0.001',
    ...{ periodStart: period.start, periodEnd: period.end },
    createdAt,
    expiresAt: new Date(start + ms + ttlMs),
  };
}

describe.each(testDatabases('expired_holds'))('budget holds left behind, on %s', (_name, open) => {
  it('are deleted once expired by the next hold, whoever they were for: users who never call again, or whose budget was removed, keep no rows', async () => {
    const { storage, schema } = await open();
    await storage.migrate();
    const table = `"${schema}".byokit_budget_reservations`;
    const rows = async () => Number((await storage.database.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n);
    // A node died with 100 users' calls in flight, one held every 6 seconds; none of those users calls again,
    // and every other one has their budget removed.
    const users = Array.from({ length: 100 }, () => randomUUID());
    for (const [index, userId] of users.entries()) {
      await storage.setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date(start) });
      expect(await storage.holdBudget(hold(userId, index * 6_000), 'user')).toBe('held');
    }
    for (const userId of users.filter((_, index) => index % 2 === 1)) await storage.setBudget(userId, null);

    // 35 minutes in, another user's call is held.
    const ada = randomUUID();
    await storage.setBudget(ada, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date(start) });
    expect(await storage.holdBudget(hold(ada, 35 * 60_000), 'user')).toBe('held');

    // Those held at 5 minutes or before expired a whole hold's lifetime (15 minutes) before it: 51 rows gone, 49
    // left (expired since, which no sum counts), and ada's.
    expect(await rows()).toBe(50);
    const at = new Date(start + 20 * 60_000);
    expect(await storage.budgetUse(users[50]!, period, 'all', at)).toEqual({ spentUsd: '0', heldUsd: '0' });
    expect(await storage.budgetUse(users[52]!, period, 'all', at)).toEqual({ spentUsd: '0', heldUsd: '0.001' });
    await storage.close();
  }, 60_000);

  it("are not deleted by a node whose clock runs fast while they still count: another node's live hold is kept", async () => {
    const { storage, schema } = await open();
    await storage.migrate();
    const table = `"${schema}".byokit_budget_reservations`;
    const [bea, cy] = [randomUUID(), randomUUID()];
    for (const userId of [bea, cy]) await storage.setBudget(userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date(start) });
    // Bea's call, held at minute 10 by a node on time, counts until minute 25.
    const live = hold(bea, 10 * 60_000);
    expect(await storage.holdBudget(live, 'user')).toBe('held');
    // At minute 12, a node whose clock reads 20 minutes ahead holds Cy's call.
    expect(await storage.holdBudget(hold(cy, 32 * 60_000), 'user')).toBe('held');

    const ids = (await storage.database.query<{ id: string }>(`SELECT id::text AS id FROM ${table}`)).map((row) => row.id);
    expect(ids).toContain(live.id);
    expect(await storage.budgetUse(bea, period, 'all', new Date(start + 12 * 60_000))).toEqual({ spentUsd: '0', heldUsd: '0.001' });
    await storage.close();
  }, 60_000);
});
