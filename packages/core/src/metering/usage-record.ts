import type { ModelPricing } from '../catalog/model.js';
import type { Provider } from '../keys/providers.js';
import type { KeySource } from '../resolve/key-resolver.js';

/** How a call that reached a provider ended. */
export type UsageStatus = 'ok' | 'error' | 'aborted';

/**
 * One call that reached a provider, whatever its outcome and whoever's key paid (spec/http-api.md, "Usage and
 * billing"). Token counts are the provider's own, mapped to these fields; `null` where the
 * provider reported none (an error, or a stream aborted before its usage arrived). No key, nor any piece of
 * one, is ever part of a record.
 */
export interface UsageRecord {
  /** A UUID, unique per record. */
  id: string;
  /** When the call ended (the month a budget counts its cost in). */
  createdAt: Date;
  /** The user who made the call, whoever's key paid. */
  userId: string;
  /** The catalog's model id (a UUID), as the request's `model_id`. */
  modelId: string;
  /** The provider's own name of the model, e.g. `claude-sonnet-4-5`. */
  model: string;
  /** The provider called. */
  provider: Provider;
  /** Whose key paid: the user's own, or the system key. */
  keySource: KeySource;
  /** How the call ended: answered, failed, or left by its client. */
  status: UsageStatus;
  /** Prompt tokens, cached ones included, as the provider counted them. */
  inputTokens: number | null;
  /** Generated tokens, reasoning tokens included. */
  outputTokens: number | null;
  /** Prompt tokens read from the provider's cache (part of `inputTokens`). */
  cachedInputTokens: number | null;
  /**
   * Prompt tokens written to the provider's cache (part of `inputTokens`; Anthropic's `cache_creation_input_tokens`,
   * OpenAI's `cache_write_tokens`), billed at the cache-write price; `null` where the provider reported none, as in
   * records made before byokit kept them.
   */
  cacheWriteTokens: number | null;
  /** Reasoning ("thinking") tokens (part of `outputTokens`). */
  reasoningTokens: number | null;
  /** Exact decimal US dollars (the shortest spelling, e.g. "0.000486"), computed from `prices`; "0" for an unpriced model. */
  costUsd: string;
  /** The prices the cost was computed at, as the catalog had them at the time; null for an unpriced model. */
  prices: Pick<ModelPricing, 'inputPerMTokUsd' | 'outputPerMTokUsd' | 'cachedInputPerMTokUsd' | 'cacheWritePerMTokUsd'> | null;
  /** From the request's start to its end (the last byte of a stream), in whole milliseconds. */
  latencyMs: number;
  /** The request's id (its `x-request-id`, or `ChatOptions.requestId`), to find the call in the logs. */
  requestId: string;
}

/** Where a page of usage records ends; opaque to callers, who pass it back for the next page. */
export type UsageCursor = string;

/** A page of {@link Storage.listUsage}: records newest first, and the cursor of the next page when there is one. */
export interface UsagePage {
  /** The records of this page, newest first. */
  records: UsageRecord[];
  /** Pass it back as `cursor` for the next page; absent on the last page. */
  next?: UsageCursor;
}

/** Filters for {@link Storage.listUsage}. `from` is inclusive, `to` exclusive. */
export interface UsageQuery {
  /** Only this user's records. Default: every user's. */
  userId?: string;
  /** The earliest `createdAt` included. Default: no lower bound. */
  from?: Date;
  /** The first `createdAt` no longer included. Default: no upper bound. */
  to?: Date;
  /** At most this many records (1 to {@link MAX_USAGE_PAGE}). */
  limit: number;
  /** The `next` of the previous page; the first page without it. */
  cursor?: UsageCursor;
}

/** For storages: the most records one page of {@link Storage.listUsage} may ask for, on every storage. */
export const MAX_USAGE_PAGE = 1000;

/** A record's own copy: flat but for its date and prices, so cheaper than structuredClone on every chat call. */
export function copyOfUsageRecord(record: UsageRecord): UsageRecord {
  return { ...record, createdAt: new Date(record.createdAt), prices: record.prices && { ...record.prices } };
}

/**
 * For storages, to call first in {@link Storage.listUsage}: refuses a page size no storage serves (what
 * {@link UsageQuery.limit} allows).
 * @throws RangeError for anything but a whole number from 1 to {@link MAX_USAGE_PAGE}.
 */
export function assertUsagePageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USAGE_PAGE) {
    throw new RangeError(`A usage page holds 1 to ${MAX_USAGE_PAGE} records, got ${String(limit)}`);
  }
}

/** What usage can be grouped by: the UTC day, the catalog model, the provider, whose key paid, or the user (admins). */
export const USAGE_GROUPINGS = ['day', 'model', 'provider', 'key_source', 'user'] as const;
/**
 * What a usage summary's totals are grouped by: `day`, `model`, `provider`, `key_source` or `user`
 * ({@link USAGE_GROUPINGS}).
 */
export type UsageGroupBy = (typeof USAGE_GROUPINGS)[number];

/** Filters for {@link Storage.summarizeUsage}. `from` is inclusive, `to` exclusive. */
export interface UsageSummaryQuery {
  /** Only this user's records. Default: every user's. */
  userId?: string;
  /** The earliest `createdAt` included. Default: no lower bound. */
  from?: Date;
  /** The first `createdAt` no longer included. Default: no upper bound. */
  to?: Date;
  /** Sums per group as well as in total. Default: totals only (`groups` empty). */
  groupBy?: UsageGroupBy;
}

/** Sums over records: exact, with a count not reported counting as 0. */
export interface UsageTotals {
  /** How many records (calls that reached a provider, whatever their status). */
  requests: number;
  /** The sum of `UsageRecord.inputTokens`. */
  inputTokens: number;
  /** The sum of `UsageRecord.outputTokens`. */
  outputTokens: number;
  /** The sum of `UsageRecord.cachedInputTokens`. */
  cachedInputTokens: number;
  /** The sum of `UsageRecord.cacheWriteTokens`. */
  cacheWriteTokens: number;
  /** The sum of `UsageRecord.reasoningTokens`. */
  reasoningTokens: number;
  /** Exact decimal US dollars: the sum of the records' `costUsd`, to the last digit. */
  costUsd: string;
}

/**
 * Totals, and per group when grouped. A group's `key` is the UTC day (`2026-11-25`), the model id, the
 * provider, the key source or the user id; groups come in ascending order of `key`.
 */
export interface UsageSummary {
  /** The sums over every record that matches. */
  totals: UsageTotals;
  /** The sums per group, in ascending order of `key`; empty when not grouped. */
  groups: Array<UsageTotals & { key: string }>;
}
