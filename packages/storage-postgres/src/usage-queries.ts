/**
 * The storage's usage records: written in batches (each batch adding to the monthly spend and ending its calls'
 * holds in the same statement), listed a page at a time, and summed exactly. The SQL of reading them is usage-sql.ts.
 */
import type { Storage, UsagePage, UsageRecord } from '@byokit/core';
import { assertUsagePageLimit } from '@byokit/core';
import type { Database } from './database.js';
import { guarded } from './database-errors.js';
import { prepared, UUID } from './shared-sql.js';
import type { SqlNames } from './sql-names.js';
import {
  addUsageRows,
  decodeUsageCursor,
  encodeUsageCursor,
  totalsFromRow,
  USAGE_INSERT_COLUMNS,
  usageFromRow,
  usageSelect,
  usageSummarySelect,
  type UsageRow,
  type UsageSumsRow,
} from './usage-sql.js';

const settleParams = (records: readonly UsageRecord[], endedHolds: readonly string[]) => {
  const column = <T>(value: (record: UsageRecord) => T) => records.map(value);
  return [
    column((record) => record.id),
    column((record) => record.createdAt),
    column((record) => record.userId),
    column((record) => record.modelId),
    column((record) => record.model),
    column((record) => record.provider),
    column((record) => record.keySource),
    column((record) => record.status),
    column((record) => record.inputTokens),
    column((record) => record.outputTokens),
    column((record) => record.cachedInputTokens),
    column((record) => record.reasoningTokens),
    column((record) => record.costUsd),
    column((record) => record.prices?.inputPerMTokUsd ?? null),
    column((record) => record.prices?.outputPerMTokUsd ?? null),
    column((record) => record.prices?.cachedInputPerMTokUsd ?? null),
    column((record) => record.latencyMs),
    column((record) => record.requestId),
    column((record) => record.cacheWriteTokens),
    column((record) => record.prices?.cacheWritePerMTokUsd ?? null),
    // A hold id that is no uuid was never stored: there is nothing to end.
    endedHolds.filter((id) => UUID.test(id)),
  ];
};

/** The usage methods of the Storage over a database whose schema `names` points at. */
export function usageQueries(database: Database, names: SqlNames): Pick<Storage, 'recordUsage' | 'listUsage' | 'summarizeUsage'> {
  const statements = prepared(database);
  const usage = names.table('usage_events');
  const holds = names.table('budget_reservations');
  const monthlySpend = names.table('monthly_spend');
  /**
   * Appends usage records, adds their cost to each user's monthly spend, and ends the calls' holds: one
   * statement, so one snapshot sees all of it or none (never an amount twice, as record and hold, or not at
   * all), in one round trip however many records. Each column goes as one array; unnest turns them back into
   * rows in the batch's order (so `seq` keeps the order they were written in). Rows are locked in a fixed
   * order (spend by user and month, holds by id), so two writers never wait on each other in a cycle.
   */
  const settleUsage = `WITH inserted AS (
      INSERT INTO ${usage} (${USAGE_INSERT_COLUMNS})
      SELECT ${USAGE_INSERT_COLUMNS} FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::integer[], $10::integer[], $11::integer[], $12::integer[], $13::numeric[], $14::numeric[],
        $15::numeric[], $16::numeric[], $17::integer[], $18::text[], $19::integer[], $20::numeric[]) WITH ORDINALITY AS batch (${USAGE_INSERT_COLUMNS}, position)
      ORDER BY position
      RETURNING user_id, created_at, cost_usd, key_source
    ), spend AS (
      INSERT INTO ${monthlySpend} AS total (user_id, month_start, spent_usd, system_spent_usd)
      SELECT user_id, date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(cost_usd),
        coalesce(sum(cost_usd) FILTER (WHERE key_source = 'system'), 0)
      FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (user_id, month_start) DO UPDATE SET spent_usd = total.spent_usd + EXCLUDED.spent_usd,
        system_spent_usd = total.system_spent_usd + EXCLUDED.system_spent_usd
    ), ended AS (
      DELETE FROM ${holds} WHERE id IN (SELECT id FROM ${holds} WHERE id = ANY($21::uuid[]) ORDER BY id FOR UPDATE)
    )
    SELECT 1`;
  return {
    recordUsage: (records, endedHolds = []) =>
      guarded(async () => {
        if (records.length > 0 || endedHolds.length > 0) await statements.query(settleUsage, settleParams(records, endedHolds));
      }),

    listUsage: (query) =>
      guarded(async (): Promise<UsagePage> => {
        assertUsagePageLimit(query.limit);
        const position = query.cursor === undefined ? undefined : decodeUsageCursor(query.cursor);
        const { text, params } = usageSelect(usage, query, position);
        const rows = await statements.query<UsageRow>(text, params);
        const page = rows.slice(0, query.limit);
        const last = page[page.length - 1];
        return {
          records: page.map(usageFromRow),
          ...(rows.length > query.limit && last && { next: encodeUsageCursor({ at: last.position_at, seq: last.position_seq }) }),
        };
      }),

    summarizeUsage: (query) =>
      guarded(async () => {
        const { text, params } = usageSummarySelect(usage, query);
        const rows = await statements.query<UsageSumsRow>(text, params);
        // Ungrouped, the one aggregate row (there even when nothing matched); grouped, the groups' exact sum.
        if (query.groupBy === undefined) return { totals: totalsFromRow(rows[0]!), groups: [] };
        return {
          totals: totalsFromRow(addUsageRows(rows)),
          groups: rows.map((row) => ({ key: row.key!, ...totalsFromRow(row) })),
        };
      }),
  };
}
