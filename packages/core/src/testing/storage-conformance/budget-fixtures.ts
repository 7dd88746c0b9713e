// What the budget tests and the forgetting tests share: a month of their own, users, budgets and holds in it.
import type { Budget, BudgetHold, BudgetScope } from '../../metering/budget.js';
import type { StorageSuite } from './suite.js';

export function budgetFixtures(suite: StorageSuite) {
  const { at } = suite;
  // March 2027: no other test writes usage in it (their days and years start in 2031), and each test
  // has users of its own, so the shared storage's other rows never count here.
  const period = { start: new Date(Date.UTC(2027, 2, 1)), end: new Date(Date.UTC(2027, 3, 1)) };
  const minute = 60_000;
  const inPeriod = (ms: number) => new Date(period.start.getTime() + ms);
  const newUser = () => `budget-${crypto.randomUUID()}`;
  const budget = (monthlyLimitUsd: string, appliesTo: BudgetScope = 'all', updatedAt = at): Budget => ({
    monthlyLimitUsd,
    appliesTo,
    updatedAt,
  });
  /** A hold asked for at `createdAt` in the period, counting for `ttlMs`. */
  const hold = (userId: string, amountUsd: string, createdAt = inPeriod(minute), ttlMs = 10 * minute): BudgetHold => ({
    id: crypto.randomUUID(),
    userId,
    amountUsd,
    periodStart: period.start,
    periodEnd: period.end,
    createdAt,
    expiresAt: new Date(createdAt.getTime() + ttlMs),
  });
  const use = (userId: string, when = inPeriod(2 * minute), scope: BudgetScope = 'all') =>
    suite.storage.budgetUse(userId, period, scope, when);
  return { period, minute, inPeriod, newUser, budget, hold, use };
}
