/**
 * The storage's budgets and holds: a user's budget read and set, the month's spend and holds read in one snapshot,
 * a call's hold placed by the hold function (migration 0004) at READ COMMITTED, and renewed while the call runs.
 */
import type { BudgetScope, HoldOutcome, Storage } from '@byokit/core';
import { assertCalendarMonth } from '@byokit/core';
import type { Database } from './database.js';
import { guarded } from './database-errors.js';
import { prepared, utcTime } from './shared-sql.js';
import type { SqlNames } from './sql-names.js';
import { shortestDecimal } from './usage-sql.js';

interface BudgetRow {
  monthly_limit_usd: string;
  applies_to: BudgetScope;
  /** {@link utcTime}'s text. */
  updated_at: string;
}

type BudgetQueries = Pick<Storage, 'getBudget' | 'setBudget' | 'budgetUse' | 'holdBudget' | 'renewHold'>;

/** The budget methods of the Storage over a database whose schema `names` points at. */
export function budgetQueries(database: Database, names: SqlNames): BudgetQueries {
  const statements = prepared(database);
  const budgets = names.table('budgets');
  const holds = names.table('budget_reservations');
  const monthlySpend = names.table('monthly_spend');
  const holdBudget = names.table('hold_budget');
  const holdStatement = `SELECT ${holdBudget}($1::uuid, $2::text, $3::timestamptz, $4::numeric, $5::timestamptz, $6::timestamptz, $7::text) AS outcome`;
  /**
   * Whether a statement outside a transaction runs READ COMMITTED here: the sessions' default, read once and kept
   * (a database's, a role's or the pool's `options`, the same for every session of the pool). Read in each hold
   * instead, in a `CASE`, it cost metering with a budget a fifth of its throughput (docs/performance.md).
   */
  let readCommittedByDefault: boolean | undefined;
  return {
    getBudget: (userId) =>
      guarded(async () => {
        const rows = await statements.query<BudgetRow>(
          `SELECT monthly_limit_usd::text AS monthly_limit_usd, applies_to, ${utcTime('updated_at')} FROM ${budgets} WHERE user_id = $1`,
          [userId],
        );
        const row = rows[0];
        return row
          ? { monthlyLimitUsd: shortestDecimal(row.monthly_limit_usd), appliesTo: row.applies_to, updatedAt: new Date(row.updated_at) }
          : null;
      }),

    setBudget: (userId, budget) =>
      guarded(async () => {
        if (budget === null) {
          await statements.query(`DELETE FROM ${budgets} WHERE user_id = $1`, [userId]);
          return;
        }
        await statements.query(
          `INSERT INTO ${budgets} (user_id, monthly_limit_usd, applies_to, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO UPDATE SET monthly_limit_usd = EXCLUDED.monthly_limit_usd, applies_to = EXCLUDED.applies_to,
             updated_at = EXCLUDED.updated_at`,
          [userId, budget.monthlyLimitUsd, budget.appliesTo, budget.updatedAt],
        );
      }),

    budgetUse: (userId, period, scope, at) =>
      guarded(async () => {
        assertCalendarMonth(period);
        // The month's spend is one row (kept by settleUsage, usage-queries.ts), never a sum over its records; one statement, one snapshot.
        // Holds of earlier months count until they end: their calls are recorded, and cost, in the month they end in.
        const rows = await statements.query<{ spent: string; held: string }>(
          `SELECT coalesce((SELECT CASE WHEN $3::text = 'all' THEN spent_usd ELSE system_spent_usd END FROM ${monthlySpend}
               WHERE user_id = $1 AND month_start = $2), 0)::text AS spent,
             (SELECT coalesce(sum(amount_usd), 0) FROM ${holds} WHERE user_id = $1 AND period_start <= $2 AND expires_at > $4)::text AS held`,
          [userId, period.start, scope, at],
        );
        return { spentUsd: shortestDecimal(rows[0]!.spent), heldUsd: shortestDecimal(rows[0]!.held) };
      }),

    holdBudget: (hold, keySource) =>
      guarded(async () => {
        assertCalendarMonth({ start: hold.periodStart, end: hold.periodEnd });
        // One round trip: the function (migration 0004) locks the user's budget row only while it decides. It must
        // run READ COMMITTED, so that it sees every hold committed while it waited for that lock: under a host's
        // default of REPEATABLE READ it saw the snapshot taken before, and holds made at once overran the budget
        // (SERIALIZABLE failed most of them instead). So it runs alone where the
        // sessions' default is READ COMMITTED, else in a READ COMMITTED transaction.
        const params = [hold.id, hold.userId, hold.periodStart, hold.amountUsd, hold.createdAt, hold.expiresAt, keySource];
        if (readCommittedByDefault === undefined) {
          const [setting] = await statements.query<{ level: string }>(
            `SELECT current_setting('default_transaction_isolation') AS level`,
            [],
          );
          readCommittedByDefault = setting!.level === 'read committed';
        }
        if (readCommittedByDefault) return (await statements.query<{ outcome: HoldOutcome }>(holdStatement, params))[0]!.outcome;
        return database.transaction(
          async (transaction) => (await prepared(transaction).query<{ outcome: HoldOutcome }>(holdStatement, params))[0]!.outcome,
        );
      }),

    renewHold: (holdId, expiresAt) =>
      guarded(async () => {
        // One row, locked alone: no order of locks to keep with the hold function's or recordUsage's. Never moved back,
        // and a hold already ended (deleted with its call's record) stays gone.
        await statements.query(`UPDATE ${holds} SET expires_at = $2 WHERE id = $1::uuid AND expires_at < $2`, [holdId, expiresAt]);
      }),
  };
}
