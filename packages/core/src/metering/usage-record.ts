import type { ModelPricing } from '../catalog/model.js';
import type { Provider } from '../keys/providers.js';
import type { KeySource } from '../resolve/key-resolver.js';

/** How a call that reached a provider ended. */
export type UsageStatus = 'ok' | 'error' | 'aborted';

/**
 * One call that reached a provider, whatever its outcome and whoever's key paid (spec/http-api.md, "Usage and
 * billing"). Token counts are the provider's own, mapped (provider-types.ts, `TokenUsage`); `null` where the
 * provider reported none (an error, or a stream aborted before its usage arrived). No key, nor any piece of
 * one, is ever part of a record.
 */
export interface UsageRecord {
  /** A UUID, unique per record. */
  id: string;
  createdAt: Date;
  userId: string;
  /** The catalog's model id, and the provider's own model name. */
  modelId: string;
  model: string;
  provider: Provider;
  keySource: KeySource;
  status: UsageStatus;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Prompt tokens read from the provider's cache (part of `inputTokens`). */
  cachedInputTokens: number | null;
  /**
   * Prompt tokens written to the provider's cache (part of `inputTokens`; Anthropic's `cache_creation_input_tokens`,
   * OpenAI's `cache_write_tokens`), billed at the cache-write price; `null` where the provider reported none, as in
   * records made before byokit kept them.
   */
  cacheWriteTokens: number | null;
  reasoningTokens: number | null;
  /** Exact decimal US dollars (the shortest spelling, e.g. "0.000486"), computed from `prices`; "0" for an unpriced model. */
  costUsd: string;
  /** The prices the cost was computed at, as the catalog had them at the time; null for an unpriced model. */
  prices: Pick<ModelPricing, 'inputPerMTokUsd' | 'outputPerMTokUsd' | 'cachedInputPerMTokUsd' | 'cacheWritePerMTokUsd'> | null;
  /** From the request's start to its end (the last byte of a stream), in whole milliseconds. */
  latencyMs: number;
  requestId: string;
}

/** Where a page of usage records ends; opaque to callers, who pass it back for the next page. */
export type UsageCursor = string;

/** A page of {@link Storage.listUsage}: records newest first, and the cursor of the next page when there is one. */
export interface UsagePage {
  records: UsageRecord[];
  next?: UsageCursor;
}

/** Filters for {@link Storage.listUsage}. `from` is inclusive, `to` exclusive. */
export interface UsageQuery {
  userId?: string;
  from?: Date;
  to?: Date;
  /** At most this many records (1 to {@link MAX_USAGE_PAGE}). */
  limit: number;
  cursor?: UsageCursor;
}

/** The most records one page of {@link Storage.listUsage} may ask for, on every storage. */
export const MAX_USAGE_PAGE = 1000;

/**
 * Refuses a page size no storage serves (what {@link UsageQuery.limit} allows), for storages to call first.
 * @throws RangeError for anything but a whole number from 1 to {@link MAX_USAGE_PAGE}.
 */
export function assertUsagePageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USAGE_PAGE) {
    throw new RangeError(`A usage page holds 1 to ${MAX_USAGE_PAGE} records, got ${String(limit)}`);
  }
}

/** What usage can be grouped by: the UTC day, the catalog model, the provider, whose key paid, or the user (admins). */
export const USAGE_GROUPINGS = ['day', 'model', 'provider', 'key_source', 'user'] as const;
/** One of {@link USAGE_GROUPINGS}. */
export type UsageGroupBy = (typeof USAGE_GROUPINGS)[number];

/** Filters for {@link Storage.summarizeUsage}. `from` is inclusive, `to` exclusive. */
export interface UsageSummaryQuery {
  userId?: string;
  from?: Date;
  to?: Date;
  groupBy?: UsageGroupBy;
}

/** Sums over records: exact, with a count not reported counting as 0. */
export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** Exact decimal US dollars: the sum of the records' `costUsd`, to the last digit. */
  costUsd: string;
}

/**
 * Totals, and per group when grouped. A group's `key` is the UTC day (`2026-11-25`), the model id, the
 * provider, the key source or the user id; groups come in ascending order of `key`.
 */
export interface UsageSummary {
  totals: UsageTotals;
  groups: Array<UsageTotals & { key: string }>;
}
