/**
 * A memory storage's budgets and holds: a user's budget read and set, the month's spend and holds, a call's hold
 * decided against them, and renewed while the call runs.
 */
import {
  assertCalendarMonth,
  budgetCovers,
  type Budget,
  type BudgetHold,
  type BudgetScope,
  type BudgetUse,
  type HoldOutcome,
} from '../metering/budget.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from '../metering/usd.js';
import type { KeySource } from '../resolve/key-resolver.js';
import { spendKey, type MemoryState } from './memory-state.js';
import type { Storage } from './storage.js';

type BudgetMethods = Pick<Storage, 'getBudget' | 'setBudget' | 'budgetUse' | 'holdBudget' | 'renewHold'>;

/** The budget methods of a memory storage over `state`. */
export function memoryBudgets({ budgets, holds, monthlySpend }: MemoryState): BudgetMethods {
  /**
   * Lets go of every hold (any user's) expired at `at`: it counts no more, and a hold whose call never ended it
   * (its usage record not made or not saved) would otherwise be kept for the life of the process, and looked at
   * by every later budget check. So the holds kept are those of calls held within one hold's lifetime (15 minutes).
   */
  const forgetExpiredHolds = (at: Date) => {
    for (const [id, hold] of holds) if (hold.expiresAt <= at) holds.delete(id);
  };
  /** Spent and held in a period, in pico-USD. Everything here runs without an await: each call is atomic. */
  const useOf = (userId: string, period: { start: Date; end: Date }, scope: BudgetScope, at: Date) => {
    assertCalendarMonth(period);
    const spend = monthlySpend.get(spendKey(userId, period.start.getTime()));
    const spent = spend === undefined ? 0n : scope === 'all' ? spend.all : spend.system;
    let held = 0n;
    for (const hold of holds.values()) {
      // A hold of an earlier month still counts: its call, still running, is recorded (and costs) when it ends.
      if (hold.userId === userId && hold.periodStart.getTime() <= period.start.getTime() && hold.expiresAt > at) {
        held += parseUsd(hold.amountUsd, PICO_DECIMALS);
      }
    }
    return { spent, held };
  };

  return {
    async getBudget(userId: string) {
      const budget = budgets.get(userId);
      return budget ? { ...budget, updatedAt: new Date(budget.updatedAt) } : null;
    },

    async setBudget(userId: string, budget: Budget | null) {
      if (budget === null) budgets.delete(userId);
      else budgets.set(userId, { ...budget, updatedAt: new Date(budget.updatedAt) });
    },

    async budgetUse(userId: string, period: { start: Date; end: Date }, scope: BudgetScope, at: Date): Promise<BudgetUse> {
      const { spent, held } = useOf(userId, period, scope, at);
      return { spentUsd: formatUsd(spent), heldUsd: formatUsd(held) };
    },

    async holdBudget(hold: BudgetHold, keySource: KeySource): Promise<HoldOutcome> {
      assertCalendarMonth({ start: hold.periodStart, end: hold.periodEnd });
      forgetExpiredHolds(hold.createdAt);
      const budget = budgets.get(hold.userId);
      if (!budget || !budgetCovers(budget.appliesTo, keySource)) return 'unlimited';
      const { spent, held } = useOf(hold.userId, { start: hold.periodStart, end: hold.periodEnd }, budget.appliesTo, hold.createdAt);
      const amount = parseUsd(hold.amountUsd, PICO_DECIMALS);
      if (spent + held + amount > parseUsd(budget.monthlyLimitUsd, PICO_DECIMALS)) return 'exceeded';
      // Dates of its own: the caller's hold is theirs to change (Storage's "Copies").
      holds.set(hold.id, {
        ...hold,
        periodStart: new Date(hold.periodStart),
        periodEnd: new Date(hold.periodEnd),
        createdAt: new Date(hold.createdAt),
        expiresAt: new Date(hold.expiresAt),
      });
      return 'held';
    },

    async renewHold(holdId: string, expiresAt: Date) {
      const hold = holds.get(holdId);
      if (hold && expiresAt > hold.expiresAt) hold.expiresAt = new Date(expiresAt);
    },
  };
}
