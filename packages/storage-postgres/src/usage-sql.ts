/**
 * The SQL of usage records: the columns written and read (money as text, exact whatever the host's type parsers),
 * the keyset cursor of a page, the one SELECT of each query's shape, and summaries' sums added up exactly.
 */
import type { Provider, UsageGroupBy, UsageQuery, UsageRecord, UsageSummaryQuery, UsageTotals } from '@byokit/core';

export interface UsageRow {
  id: string;
  /**
   * created_at in UTC to the microsecond, for the cursor (a Date keeps only milliseconds), and the record's time:
   * text whatever the session's DateStyle (see utcTime in shared-sql.ts).
   */
  position_at: string;
  /**
   * seq as text, for the cursor (a bigint). Named apart from the column: an output column named `seq` is what a
   * bare `ORDER BY seq` sorts by, so records of one time were ordered as text ("9" before "10") and paging
   * repeated and skipped them.
   */
  position_seq: string;
  user_id: string;
  model_id: string;
  model: string;
  provider: Provider;
  key_source: UsageRecord['keySource'];
  status: UsageRecord['status'];
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: string;
  input_per_mtok_usd: string | null;
  output_per_mtok_usd: string | null;
  cached_input_per_mtok_usd: string | null;
  latency_ms: number;
  request_id: string;
  cache_write_tokens: number | null;
  cache_write_per_mtok_usd: string | null;
}

export const USAGE_INSERT_COLUMNS =
  'id, created_at, user_id, model_id, model, provider, key_source, status, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_usd, input_per_mtok_usd, output_per_mtok_usd, cached_input_per_mtok_usd, latency_ms, request_id, cache_write_tokens, cache_write_per_mtok_usd';
// Money as ::text whatever type parser the host set for numeric (some parse it to a float): exact, always.
const USAGE_COLUMNS = `id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position_at,
  seq::text AS position_seq, user_id, model_id, model, provider, key_source, status, input_tokens, output_tokens, cached_input_tokens,
  reasoning_tokens, cost_usd::text AS cost_usd, input_per_mtok_usd::text AS input_per_mtok_usd,
  output_per_mtok_usd::text AS output_per_mtok_usd, cached_input_per_mtok_usd::text AS cached_input_per_mtok_usd, latency_ms, request_id,
  cache_write_tokens, cache_write_per_mtok_usd::text AS cache_write_per_mtok_usd`;

/** Where a usage page stopped: the last row's created_at (UTC, microseconds, as position_at spells it) and seq. */
export interface UsagePosition {
  at: string;
  seq: string;
}

const POSITION_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const POSITION_SEQ = /^[1-9]\d{0,18}$/;
const MAX_BIGINT = 2n ** 63n - 1n;

export function encodeUsageCursor(position: UsagePosition): string {
  return Buffer.from(JSON.stringify([position.at, position.seq])).toString('base64url');
}

/** The position a cursor holds; a TypeError for anything this storage did not hand out. */
export function decodeUsageCursor(cursor: string): UsagePosition {
  const position = typeof cursor === 'string' ? parseUsageCursor(cursor) : undefined;
  if (!position) throw new TypeError('Invalid usage cursor: pass back the `next` of a previous page, unchanged.');
  return position;
}

function parseUsageCursor(cursor: string): UsagePosition | undefined {
  const text = Buffer.from(cursor, 'base64url');
  // Node's decoder skips what is not base64url: only a cursor that encodes back to itself is one of ours.
  if (text.toString('base64url') !== cursor) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [at, seq] = value as unknown[];
  if (typeof at !== 'string' || typeof seq !== 'string' || !POSITION_AT.test(at) || !POSITION_SEQ.test(seq)) return undefined;
  // Values the columns can hold, or the query fails in the database (a 500) instead of here: seq is a bigint,
  // and PostgreSQL has no year 0 (JS's year 0 is 1 BC).
  if (BigInt(seq) > MAX_BIGINT || at.startsWith('0000')) return undefined;
  // A real instant: the regex lets 2026-02-30 through, and Date would roll it over to March.
  const ms = `${at.slice(0, 23)}Z`;
  const date = new Date(ms);
  return !Number.isNaN(date.getTime()) && date.toISOString() === ms ? { at, seq } : undefined;
}

/**
 * numeric's text keeps the scale it was given ("0.300"); money is spelled shortest ("0.3"), as core's
 * formatUsd prints it, so that a record reads back as it was written.
 */
export function shortestDecimal(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

const optionalDecimal = (text: string | null) => (text === null ? null : shortestDecimal(text));

export function usageFromRow(row: UsageRow): UsageRecord {
  const cached = optionalDecimal(row.cached_input_per_mtok_usd);
  const cacheWrite = optionalDecimal(row.cache_write_per_mtok_usd);
  return {
    id: row.id,
    createdAt: new Date(row.position_at),
    userId: row.user_id,
    modelId: row.model_id,
    model: row.model,
    provider: row.provider,
    keySource: row.key_source,
    status: row.status,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    cachedInputTokens: row.cached_input_tokens,
    cacheWriteTokens: row.cache_write_tokens,
    reasoningTokens: row.reasoning_tokens,
    costUsd: shortestDecimal(row.cost_usd),
    prices:
      row.input_per_mtok_usd === null || row.output_per_mtok_usd === null
        ? null
        : {
            inputPerMTokUsd: shortestDecimal(row.input_per_mtok_usd),
            outputPerMTokUsd: shortestDecimal(row.output_per_mtok_usd),
            ...(cached !== null && { cachedInputPerMTokUsd: cached }),
            ...(cacheWrite !== null && { cacheWritePerMTokUsd: cacheWrite }),
          },
    latencyMs: row.latency_ms,
    requestId: row.request_id,
  };
}

/**
 * A record's time as a statement names it: about one user, `created_at`, which only that user's index
 * (user_id, created_at DESC, seq DESC) orders; about every user, its UTC time, which the index of every record by
 * time (migration 0008) holds and which no statement about one user names. So no question about one user is read by
 * walking every user's records in time order: the planner took that walk for a user it counted as frequent, and
 * for one whose records are all old it read every newer record of every user (usage-plans.test.ts). The UTC time
 * orders and compares as the instant does, to the microsecond.
 */
function recordTime(query: Pick<UsageQuery, 'userId'>) {
  return query.userId !== undefined
    ? { column: 'created_at', value: (param: string) => `${param}::timestamptz` }
    : { column: `(created_at AT TIME ZONE 'UTC')`, value: (param: string) => `(${param}::timestamptz AT TIME ZONE 'UTC')` };
}

/** The conditions of the filters a usage query has, in a fixed order; `bind` numbers each value as a parameter. */
function usageFilters(query: Pick<UsageQuery, 'userId' | 'from' | 'to'>, bind: (value: unknown) => string): string[] {
  const where: string[] = [];
  const time = recordTime(query);
  if (query.userId !== undefined) where.push(`user_id = ${bind(query.userId)}`);
  if (query.from !== undefined) where.push(`${time.column} >= ${time.value(bind(query.from))}`);
  if (query.to !== undefined) where.push(`${time.column} < ${time.value(bind(query.to))}`);
  return where;
}

/**
 * The one SELECT for a usage query: only the filters it has, so each of the few shapes is fixed text
 * (prepared once per connection) and keeps its index; the cursor is a keyset bound, never an offset.
 */
export function usageSelect(table: string, query: UsageQuery, position: UsagePosition | undefined): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const bind = (value: unknown) => `$${params.push(value)}`;
  const where = usageFilters(query, bind);
  const time = recordTime(query);
  if (position) where.push(`(${time.column}, seq) < (${time.value(bind(position.at))}, ${bind(position.seq)}::bigint)`);
  // One more row than asked for says whether a next page exists, without promising one that would be empty.
  const limit = bind(query.limit + 1);
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')} ` : '';
  return { text: `SELECT ${USAGE_COLUMNS} FROM ${table} ${filter}ORDER BY ${time.column} DESC, seq DESC LIMIT ${limit}`, params };
}

/** What each grouping of `Storage.summarizeUsage` groups by, as text (all NOT NULL columns). */
const USAGE_GROUP_KEYS: Record<UsageGroupBy, string> = {
  // The UTC date whatever the session's TimeZone: AT TIME ZONE 'UTC' turns the instant into UTC wall time.
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  model: 'model_id::text',
  provider: 'provider',
  key_source: 'key_source',
  user: 'user_id',
};

// Sums as ::text: int8 is a string from node-postgres and a number from PGlite, numeric a float with some
// hosts' type parsers. sum() of integer is int8, so no token sum overflows in SQL.
const USAGE_SUMS = `count(*)::text AS requests, coalesce(sum(input_tokens), 0)::text AS input_tokens,
  coalesce(sum(output_tokens), 0)::text AS output_tokens, coalesce(sum(cached_input_tokens), 0)::text AS cached_input_tokens,
  coalesce(sum(cache_write_tokens), 0)::text AS cache_write_tokens, coalesce(sum(reasoning_tokens), 0)::text AS reasoning_tokens, coalesce(sum(cost_usd), 0)::text AS cost_usd`;

/** One row of a usage summary: the sums of a group (`key`), or of everything that matched. */
export interface UsageSumsRow {
  key?: string;
  requests: string;
  input_tokens: string;
  output_tokens: string;
  cached_input_tokens: string;
  cache_write_tokens: string;
  reasoning_tokens: string;
  cost_usd: string;
}

/**
 * The one SELECT for a usage summary, of the filters it has and its grouping: a few fixed texts, prepared
 * once per connection. Grouped, it returns the groups only, and the totals are their exact sum in JS
 * ({@link addUsageRows}): one statement is one snapshot, so the groups always add up to the totals, without a
 * REPEATABLE READ transaction and a second scan. Not GROUPING SETS ((key), ()): PostgreSQL aggregates
 * those in one process and may sort where it would hash, about 1.8 times slower over a million rows.
 * COLLATE "C" orders keys by code point, as memory storage does (core's compareCodePoints), whatever the
 * database's collation.
 */
export function usageSummarySelect(table: string, query: UsageSummaryQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = usageFilters(query, (value) => `$${params.push(value)}`);
  const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  if (query.groupBy === undefined) return { text: `SELECT ${USAGE_SUMS} FROM ${table}${filter}`, params };
  // Only the table's own texts go into the SQL: anything else (even "__proto__") is refused.
  const key = Object.hasOwn(USAGE_GROUP_KEYS, query.groupBy) ? USAGE_GROUP_KEYS[query.groupBy] : undefined;
  if (key === undefined) throw new TypeError(`Usage cannot be grouped by ${JSON.stringify(query.groupBy)}`);
  return {
    text: `SELECT key, ${USAGE_SUMS} FROM (SELECT ${key} AS key, input_tokens, output_tokens, cached_input_tokens,
      cache_write_tokens, reasoning_tokens, cost_usd FROM ${table}${filter}) AS matched GROUP BY key ORDER BY key COLLATE "C"`,
    params,
  };
}

const DECIMAL_TEXT = /^(\d+)(?:\.(\d+))?$/;

/** The exact sum of non-negative decimal texts of any scale ("0.30" + "1.000000000001"), shortest. */
function addDecimals(texts: readonly string[]): string {
  const parts = texts.map((text) => {
    const match = DECIMAL_TEXT.exec(text);
    if (!match) throw new TypeError(`A usage cost sum is not a plain decimal: ${JSON.stringify(text)}`);
    return { whole: match[1]!, fraction: match[2] ?? '' };
  });
  const scale = parts.reduce((widest, part) => Math.max(widest, part.fraction.length), 0);
  const units = parts.reduce((sum, part) => sum + BigInt(part.whole + part.fraction.padEnd(scale, '0')), 0n);
  const digits = units.toString().padStart(scale + 1, '0');
  return shortestDecimal(scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`);
}

/** The groups' sums added up exactly (BigInt), as the row of the same query without a grouping. */
export function addUsageRows(rows: readonly UsageSumsRow[]): UsageSumsRow {
  const total = (column: Exclude<keyof UsageSumsRow, 'key' | 'cost_usd'>) =>
    rows.reduce((sum, row) => sum + BigInt(row[column]), 0n).toString();
  return {
    requests: total('requests'),
    input_tokens: total('input_tokens'),
    output_tokens: total('output_tokens'),
    cached_input_tokens: total('cached_input_tokens'),
    cache_write_tokens: total('cache_write_tokens'),
    reasoning_tokens: total('reasoning_tokens'),
    cost_usd: addDecimals(rows.map((row) => row.cost_usd)),
  };
}

/** An int8 sum as a JS number, refused (RangeError) past 2^53 - 1 rather than rounded. */
function exactCount(text: string): number {
  const value = BigInt(text);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`A usage sum of ${text} is too large to report exactly`);
  return Number(value);
}

export function totalsFromRow(row: UsageSumsRow): UsageTotals {
  return {
    requests: exactCount(row.requests),
    inputTokens: exactCount(row.input_tokens),
    outputTokens: exactCount(row.output_tokens),
    cachedInputTokens: exactCount(row.cached_input_tokens),
    cacheWriteTokens: exactCount(row.cache_write_tokens),
    reasoningTokens: exactCount(row.reasoning_tokens),
    costUsd: shortestDecimal(row.cost_usd),
  };
}
