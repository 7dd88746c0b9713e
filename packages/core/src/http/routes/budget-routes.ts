import { z } from 'zod';
import type { BudgetService, BudgetStatus } from '../../metering/budget-service.js';
import { formatUsd, formatUsdFixed } from '../../metering/usd.js';
import { defineRoute, type Route } from '../route.js';
import { userIdText } from './stored-text.js';

// Dollars with at most 6 decimals (what a person types for a budget), no exponent or sign.
const DOLLARS = 'A budget is a decimal string of US dollars, e.g. "20" or "7.50".';
// A number sent ("monthly_limit_usd": 20) is told the format too, not only "Must be a string".
const dollars = z.string({ error: (issue) => (issue.input === undefined ? undefined : DOLLARS) }).regex(/^\d{1,9}(\.\d{1,6})?$/, DOLLARS);

/** Body of `PUT /admin/users/{user_id}/budget`: a monthly limit, or null for none. */
export const budgetBody = z.strictObject({
  monthly_limit_usd: dollars.nullable().describe('US dollars a calendar month (UTC), at most 6 decimals; null removes the budget.'),
  applies_to: z.enum(['system', 'all']).optional().describe('Which calls count: those paid by a system key, or all (default).'),
});

export const budgetParams = z.object({ user_id: userIdText });

/** A budget as the API shows it (spec/http-api.md: spent and remaining to 6 decimals). */
export const budgetView = z.object({
  monthly_limit_usd: z.string().nullable().describe('US dollars a calendar month (UTC), exact, shown shortest; null without a budget.'),
  applies_to: z.enum(['system', 'all']).nullable(),
  spent_usd: z.string().describe("This month's recorded cost in US dollars, to 6 decimals, rounded half away from zero."),
  reserved_usd: z.string().describe('Held by calls in flight: their worst-case cost, until they end. Exact decimal US dollars.'),
  remaining_usd: z
    .string()
    .nullable()
    .describe('US dollars left of the limit after spent and reserved, to 6 decimals, rounded down; null without a budget.'),
  period_start: z.string(),
});

const PICO_PER_MICRO = 10n ** 6n;

/**
 * What is left, to the micro-dollar below: never more than there is. Rounded half up as spent is, half a
 * micro-dollar left (which refuses every call) read "0.000001", and spent plus remaining could pass the limit.
 */
function roundedDown(pico: bigint): bigint {
  return pico - (pico % PICO_PER_MICRO);
}

function view(status: BudgetStatus): z.infer<typeof budgetView> {
  return {
    monthly_limit_usd: status.budget?.monthlyLimitUsd ?? null,
    applies_to: status.budget?.appliesTo ?? null,
    spent_usd: formatUsdFixed(status.spentPico, 6),
    reserved_usd: formatUsd(status.heldPico),
    remaining_usd: status.remainingPico === null ? null : formatUsdFixed(roundedDown(status.remainingPico), 6),
    period_start: status.periodStart.toISOString().replace('.000Z', 'Z'),
  };
}

/** `GET /users/me/budget` and the admins' `PUT /admin/users/{user_id}/budget`. */
export function budgetRoutes(budgets: BudgetService): Route<any, any, any>[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/users/me/budget',
      access: 'user',
      summary: "Your monthly budget, if an admin set one, and this month's spending against it.",
      response: budgetView,
      handle: async ({ principal }) => ({ body: view(await budgets.status(principal.userId)) }),
    }),
    defineRoute({
      method: 'PUT',
      path: '/admin/users/:user_id/budget',
      access: 'admin',
      summary: "Sets a user's monthly budget (null removes it); calls that could pass it are refused with 402.",
      params: budgetParams,
      body: budgetBody,
      bodyLimitBytes: 1024,
      response: budgetView,
      handle: async ({ params, body }) => {
        const budget =
          body.monthly_limit_usd === null ? null : { monthlyLimitUsd: body.monthly_limit_usd, appliesTo: body.applies_to ?? 'all' };
        return { body: view(await budgets.set(params.user_id, budget)) };
      },
    }),
  ];
}
