import type { KeySource } from '../resolve/key-resolver.js';

/** Which calls a budget counts and limits: those paid by a system key, or all of the user's calls. */
export type BudgetScope = 'system' | 'all';

/** A user's monthly spending limit, set by an admin (spec/http-api.md, "Usage and billing": budgets). */
export interface Budget {
  /** Exact decimal US dollars per calendar month (UTC). */
  monthlyLimitUsd: string;
  /** Which calls the limit counts and refuses: those a system key pays for (`system`), or all of them (`all`). */
  appliesTo: BudgetScope;
  /** When an admin last set the budget. */
  updatedAt: Date;
}

/** The worst-case cost of a call, held against the user's budget while the call runs. */
export interface BudgetHold {
  /** A UUID, unique per hold: the id the call's usage record ends it by. */
  id: string;
  /** The user whose budget the hold counts against. */
  userId: string;
  /** Exact decimal US dollars. */
  amountUsd: string;
  /**
   * The budget period of the hold: the calendar month (UTC) of `createdAt`. It counts there and, until it ends or
   * expires, in every later month: its call is recorded (and its cost spent) in the month the call ends in.
   */
  periodStart: Date;
  /** The end of that period, exclusive: the first instant of the next month (UTC). */
  periodEnd: Date;
  /** When the hold was asked for: expired holds are judged against this instant. */
  createdAt: Date;
  /** A hold of a node that died before ending it counts until this instant: at it, and after, no more. */
  expiresAt: Date;
}

/** What {@link Storage.holdBudget} decided. */
export type HoldOutcome = 'held' | 'exceeded' | 'unlimited';

/** A budget period's spending so far: recorded usage within the budget's scope, and the holds still counting. */
export interface BudgetUse {
  /** Exact decimal US dollars: the cost of the recorded calls within the budget's scope. */
  spentUsd: string;
  /** Exact decimal US dollars: the holds of calls still running (not expired) that count in the period. */
  heldUsd: string;
}

/** Whether a call paid from `keySource` counts against a budget of `scope`. */
export const budgetCovers = (scope: BudgetScope, keySource: KeySource): boolean => scope === 'all' || keySource === 'system';

/**
 * For storages, to call first in `budgetUse` and `holdBudget`: refuses a budget period that is not one whole
 * calendar month in UTC (what `monthOf` gives): storages keep each user's spending per such month as usage is
 * recorded, so a budget check never sums the month's records.
 * @throws RangeError for any other period.
 */
export function assertCalendarMonth(period: { start: Date; end: Date }): void {
  const { start, end } = period;
  const isMonthStart = (date: Date) =>
    Number.isFinite(date.getTime()) && date.getTime() === Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  if (!isMonthStart(start) || end.getTime() !== Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1)) {
    throw new RangeError(`A budget period is one calendar month in UTC; got ${String(start)} to ${String(end)}.`);
  }
}
