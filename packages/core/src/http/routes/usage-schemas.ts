import { z } from 'zod';
import { PROVIDERS } from '../../keys/providers.js';
import { USAGE_GROUPINGS, type UsageRecord, type UsageSummary, type UsageTotals } from '../../metering/usage-record.js';
import { inUsageDateRange, USAGE_DATE_RANGE } from '../../metering/usage-service.js';
import { userIdText } from './stored-text.js';

const FROM_BEFORE_TO = '`from` must be before `to`.';
const INSTANT = 'A date (2026-11-01) or a time with its offset (2026-11-25T12:00:00Z).';
const PLUS_AS_SPACE = "A + in a query stands for a space: write the offset's + as %2B (2026-11-25T12:00:00%2B05:00).";
const timeWithOffset = z.iso.datetime({ offset: true });

/**
 * A time whose offset's `+` was sent unencoded, and so arrived as a space (`2026-11-25T12:00:00 05:00`): one taken
 * with the `+` back. Not one refused either way (`12:00 05:00` without seconds, `+0530`), told to write %2B in vain.
 */
const offsetPlusAsSpace = (input: unknown) =>
  typeof input === 'string' && input.includes(' ') && timeWithOffset.safeParse(input.replace(' ', '+')).success;

/** Digits of a time's seconds past the millisecond, other than zeros: `12:00:00.0005` has them, `12:00:00.500000` not. */
const FINER_THAN_MS = /\.\d{3}\d*[1-9]/;

// A day (`2026-11-01`, its UTC midnight) or an instant with its offset (`2026-11-25T12:00:00Z`).
const instant = z
  .union([z.iso.date(), timeWithOffset], { error: (issue) => (offsetPlusAsSpace(issue.input) ? PLUS_AS_SPACE : INSTANT) })
  .transform((text) => ({ text, date: new Date(text.length === 10 ? `${text}T00:00:00Z` : text) }))
  // Beyond what any usage can have, and what every database's timestamp holds (PostgreSQL has no year 0).
  .refine(({ date }) => inUsageDateRange(date), USAGE_DATE_RANGE)
  // A Date keeps milliseconds and drops finer digits, which would move `12:00:00.0005` back to 12:00:00.000, before
  // the time sent. Records are kept to the millisecond, so the next whole one bounds the same records, `from`
  // (inclusive) and `to` (exclusive) alike.
  .transform(({ text, date }) => (FINER_THAN_MS.test(text) ? new Date(date.getTime() + 1) : date))
  // Checked again once taken up: in the last millisecond of 9999, the next whole one is 10000-01-01, which PostgreSQL
  // refuses (a 5xx) and no answer can show in the contract's format.
  .refine(inUsageDateRange, USAGE_DATE_RANGE);

// The refinements' messages are in the descriptions: the OpenAPI document says in words what JSON Schema cannot.
const window = {
  from: instant
    .optional()
    .describe(
      `Inclusive; default: the start of the UTC month the window ends in (this month without \`to\`; November with \`to=2026-12-01\`). ${USAGE_DATE_RANGE} ${PLUS_AS_SPACE}`,
    ),
  to: instant.optional().describe(`Exclusive; default: now. ${USAGE_DATE_RANGE} ${FROM_BEFORE_TO} ${PLUS_AS_SPACE}`),
};
const fromBeforeTo = (query: { from?: Date; to?: Date }) => query.from === undefined || query.to === undefined || query.from < query.to;
const fromBeforeToError = { message: FROM_BEFORE_TO, path: ['from'] };

/** Query of `GET /llm/usage/me`. */
export const myUsageQuery = z
  .strictObject({ ...window, group_by: z.enum(USAGE_GROUPINGS).exclude(['user']).optional() })
  .refine(fromBeforeTo, fromBeforeToError);

/** Query of `GET /admin/usage`: over every user, or one; `group_by=user` too. */
export const adminUsageQuery = z
  .strictObject({
    ...window,
    user_id: userIdText.optional(),
    group_by: z.enum(USAGE_GROUPINGS).optional(),
  })
  .refine(fromBeforeTo, fromBeforeToError);

/** Query of `GET /llm/usage/me/events`. */
export const usageEventsQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^(?:[1-9]\d?|100)$/, 'limit is a whole number from 1 to 100.')
    .transform(Number)
    .optional(),
  cursor: z.string().min(1).max(200).optional().describe('`next_cursor` of the previous page.'),
});

const money = z.string().describe('Exact decimal US dollars.');
const price = z.string().describe('USD per million tokens, an exact decimal string.');
const totals = {
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  cost_usd: money,
};

/** Answer of the usage summaries: totals, and groups that add up to them exactly. */
export const usageSummaryBody = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.string().nullable(),
  totals: z.object(totals),
  groups: z.array(z.object({ key: z.string(), ...totals })),
});

/** One usage record as the API shows it. */
export const usageEventBody = z.object({
  id: z.uuid(),
  created_at: z.string(),
  model_id: z.guid(),
  model: z.string(),
  provider: z.enum(PROVIDERS),
  key_source: z.enum(['user', 'system']),
  status: z.enum(['ok', 'error', 'aborted']),
  prompt_tokens: z.number().int().nullable(),
  completion_tokens: z.number().int().nullable(),
  cached_tokens: z.number().int().nullable().describe('Prompt tokens read from the cache (part of prompt_tokens).'),
  cache_write_tokens: z
    .number()
    .int()
    .nullable()
    .describe('Prompt tokens written to the cache (part of prompt_tokens), billed at the cache-write price.'),
  reasoning_tokens: z.number().int().nullable(),
  cost_usd: money,
  prices: z
    .object({
      input_per_mtok_usd: price,
      output_per_mtok_usd: price,
      cached_input_per_mtok_usd: price.optional(),
      cache_write_per_mtok_usd: price.optional(),
    })
    .nullable()
    .describe('The prices the cost was computed at.'),
  latency_ms: z.number().int(),
  request_id: z.string(),
});

export const usageEventsBody = z.object({ data: z.array(usageEventBody), next_cursor: z.string().nullable() });

function totalsView(sums: UsageTotals) {
  return {
    requests: sums.requests,
    prompt_tokens: sums.inputTokens,
    completion_tokens: sums.outputTokens,
    cached_tokens: sums.cachedInputTokens,
    cache_write_tokens: sums.cacheWriteTokens,
    reasoning_tokens: sums.reasoningTokens,
    cost_usd: sums.costUsd,
  };
}

export function usageSummaryView(
  summary: UsageSummary,
  window: { from: Date; to: Date; groupBy?: string },
): z.infer<typeof usageSummaryBody> {
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    group_by: window.groupBy ?? null,
    totals: totalsView(summary.totals),
    groups: summary.groups.map((group) => ({ key: group.key, ...totalsView(group) })),
  };
}

export function usageEventView(record: UsageRecord): z.infer<typeof usageEventBody> {
  return {
    id: record.id,
    created_at: record.createdAt.toISOString(),
    model_id: record.modelId,
    model: record.model,
    provider: record.provider,
    key_source: record.keySource,
    status: record.status,
    prompt_tokens: record.inputTokens,
    completion_tokens: record.outputTokens,
    cached_tokens: record.cachedInputTokens,
    cache_write_tokens: record.cacheWriteTokens,
    reasoning_tokens: record.reasoningTokens,
    cost_usd: record.costUsd,
    prices: record.prices && {
      input_per_mtok_usd: record.prices.inputPerMTokUsd,
      output_per_mtok_usd: record.prices.outputPerMTokUsd,
      ...(record.prices.cachedInputPerMTokUsd !== undefined && { cached_input_per_mtok_usd: record.prices.cachedInputPerMTokUsd }),
      ...(record.prices.cacheWritePerMTokUsd !== undefined && { cache_write_per_mtok_usd: record.prices.cacheWritePerMTokUsd }),
    },
    latency_ms: record.latencyMs,
    request_id: record.requestId,
  };
}
