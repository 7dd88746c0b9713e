/**
 * What the statements of every area of the storage share: each prepared once per connection, timestamps read as
 * UTC text, and the one form of id a uuid column takes.
 */
import type { SqlExecutor } from './database.js';

/** Every statement of the storage is fixed text: prepare each once per connection. */
export const prepared = (executor: SqlExecutor): SqlExecutor => ({
  ...executor,
  query: (text, params) => executor.query(text, params, { prepare: true }),
});

/**
 * A timestamp column read as ISO 8601 text in UTC, to the millisecond a Date keeps, under the column's own name (in
 * statements that do not sort by it: an output column of that name is what ORDER BY would sort by, as text). Read as a
 * timestamptz, its text follows the session's DateStyle: a host's database, role or pool `options` set to
 * `SQL, DMY` or `German` (30/11/2026, 30.11.2026) read as 1970-01-01 through node-postgres, and through PGlite as
 * 12 January or an Invalid Date. TimeZone and a host's type parser for timestamptz do not reach this text either.
 */
export const utcTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** A table's columns as a SELECT reads them: its timestamp columns through {@link utcTime}. */
export const selectList = (columns: string, times: readonly string[]) =>
  columns
    .split(', ')
    .map((column) => (times.includes(column) ? utcTime(column) : column))
    .join(', ');

/** An id a uuid column can hold; one of any other form was never stored (compared, it would fail the statement). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
