import type { UsageGroupBy, UsageRecord, UsageSummary, UsageSummaryQuery, UsageTotals } from './usage-record.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from './usd.js';
import { compareCodePoints } from '../whole-characters.js';

interface Sums {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costPico: bigint;
}

const GROUP_KEYS: Record<UsageGroupBy, (record: UsageRecord) => string> = {
  day: (record) => record.createdAt.toISOString().slice(0, 10),
  model: (record) => record.modelId,
  provider: (record) => record.provider,
  key_source: (record) => record.keySource,
  user: (record) => record.userId,
};

/**
 * Sums usage records in memory, exactly (costs as integer pico-dollars): the in-memory storage's
 * `summarizeUsage`, and the reference the database's sums are tested against.
 */
export function summarizeUsage(records: Iterable<UsageRecord>, query: UsageSummaryQuery): UsageSummary {
  const totals = emptySums();
  const groups = new Map<string, Sums>();
  if (query.groupBy !== undefined && !Object.hasOwn(GROUP_KEYS, query.groupBy))
    throw new TypeError(`Unknown usage grouping: ${String(query.groupBy)}`);
  const keyOf = query.groupBy && GROUP_KEYS[query.groupBy];
  for (const record of records) {
    if (query.userId !== undefined && record.userId !== query.userId) continue;
    if (query.from !== undefined && record.createdAt < query.from) continue;
    if (query.to !== undefined && record.createdAt >= query.to) continue;
    add(totals, record);
    if (!keyOf) continue;
    const key = keyOf(record);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = emptySums()));
    add(group, record);
  }
  return {
    totals: totalsOf(totals),
    // Code-point order, as storage-postgres sorts (COLLATE "C"): a user id past U+FFFF sorts where it does there.
    groups: [...groups].sort(([a], [b]) => compareCodePoints(a, b)).map(([key, sums]) => ({ key, ...totalsOf(sums) })),
  };
}

function emptySums(): Sums {
  return { requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, costPico: 0n };
}

function add(sums: Sums, record: UsageRecord): void {
  sums.requests += 1;
  sums.inputTokens += record.inputTokens ?? 0;
  sums.outputTokens += record.outputTokens ?? 0;
  sums.cachedInputTokens += record.cachedInputTokens ?? 0;
  sums.cacheWriteTokens += record.cacheWriteTokens ?? 0;
  sums.reasoningTokens += record.reasoningTokens ?? 0;
  sums.costPico += parseUsd(record.costUsd, PICO_DECIMALS);
}

function totalsOf({ costPico, ...counts }: Sums): UsageTotals {
  return { ...counts, costUsd: formatUsd(costPico) };
}
