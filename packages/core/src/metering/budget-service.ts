import type { Storage } from '../storage/storage.js';
import type { Budget, BudgetScope } from './budget.js';
import { monthOf } from './usage-service.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from './usd.js';

/** A user's budget and how much of this month's is spent, held by calls in flight, and left (pico-USD). */
export interface BudgetStatus {
  budget: Budget | null;
  periodStart: Date;
  spentPico: bigint;
  heldPico: bigint;
  /** Never below zero; null without a budget. */
  remainingPico: bigint | null;
}

/** Reads and sets budgets for the routes (and code): one place for the period and the arithmetic. */
export class BudgetService {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => Date,
  ) {}

  /** This month's status. Without a budget, `spent` counts every call (there is no scope to narrow it). */
  async status(userId: string): Promise<BudgetStatus> {
    const at = this.now();
    const period = monthOf(at);
    const budget = await this.storage.getBudget(userId);
    const use = await this.storage.budgetUse(userId, period, budget?.appliesTo ?? 'all', at);
    const spentPico = parseUsd(use.spentUsd, PICO_DECIMALS);
    const heldPico = parseUsd(use.heldUsd, PICO_DECIMALS);
    const left = budget ? parseUsd(budget.monthlyLimitUsd, PICO_DECIMALS) - spentPico - heldPico : null;
    return { budget, periodStart: period.start, spentPico, heldPico, remainingPico: left === null ? null : left > 0n ? left : 0n };
  }

  /** Sets a user's budget (null: none); in force for the next call, on every node (holds read it from storage). */
  async set(userId: string, budget: { monthlyLimitUsd: string; appliesTo: BudgetScope } | null): Promise<BudgetStatus> {
    await this.storage.setBudget(
      userId,
      budget && {
        monthlyLimitUsd: formatUsd(parseUsd(budget.monthlyLimitUsd, PICO_DECIMALS)),
        appliesTo: budget.appliesTo,
        updatedAt: this.now(),
      },
    );
    return this.status(userId);
  }
}
