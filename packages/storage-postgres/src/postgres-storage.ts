import { randomUUID } from 'node:crypto';
import type {
  AuditRecord,
  BudgetScope,
  CatalogModel,
  HoldOutcome,
  SamplingParameter,
  KeyOwner,
  KeyWriteActor,
  KeyRowCursor,
  Provider,
  Storage,
  StoredKey,
  UsagePage,
  UsageRecord,
} from '@byokit/core';
import { assertCalendarMonth, assertUsagePageLimit, ByokitError } from '@byokit/core';
import type { Database, SqlExecutor } from './database.js';
import { guarded, isUniqueViolation } from './database-errors.js';
import { migrate, type MigrateReporting, type MigrationResult } from './migrate.js';
import type { SqlNames } from './sql-names.js';
import {
  addUsageRows,
  decodeUsageCursor,
  encodeUsageCursor,
  shortestDecimal,
  totalsFromRow,
  USAGE_INSERT_COLUMNS,
  usageFromRow,
  usageSelect,
  usageSummarySelect,
  type UsageRow,
  type UsageSumsRow,
} from './usage-sql.js';

/** A byokit {@link Storage} on PostgreSQL, with its schema migrations and the database it runs on. */
export interface PostgresStorage extends Storage {
  /**
   * Creates or upgrades byokit's tables; idempotent and safe for several nodes at once. A migration that meets
   * another session's lock on a table it changes gives way and tries again, up to about a minute, each time told to
   * `reporting.onLockWait`.
   */
  migrate(reporting?: MigrateReporting): Promise<MigrationResult>;
  /** The database, for a host that wants to keep its own tables in it too. */
  readonly database: Database;
  /** Ends the connections byokit opened (a pool or PGlite you passed in stays open). Again: waits for the same close. */
  close(): Promise<void>;
}

interface KeyRow {
  owner_type: 'user' | 'system';
  owner_id: string;
  provider: Provider;
  envelope: Uint8Array;
  master_key_id: string;
  hint: string;
  verification: StoredKey['verification'];
  /** {@link utcTime}'s text. */
  created_at: string;
  updated_at: string;
}

interface AuditRow {
  id: string;
  /** {@link utcTime}'s text. */
  at: string;
  actor_id: string;
  owner_type: 'user' | 'system';
  owner_id: string;
  provider: Provider;
  action: 'set' | 'delete';
  hint: string;
  request_id: string;
}

interface ModelRow {
  id: string;
  provider: Provider;
  model: string;
  display_name: string;
  is_active: boolean;
  context_window: number;
  max_output_tokens: number;
  input_per_mtok_usd: string | null;
  output_per_mtok_usd: string | null;
  cached_input_per_mtok_usd: string | null;
  cache_write_per_mtok_usd: string | null;
  ignored_parameters: SamplingParameter[];
}

const MODEL_COLUMNS =
  'id, provider, model, display_name, is_active, context_window, max_output_tokens, input_per_mtok_usd, output_per_mtok_usd, cached_input_per_mtok_usd, cache_write_per_mtok_usd, ignored_parameters';
// Prices as ::text whatever type parser the host set for numeric (some parse it to a float), as usage is read.
const MODEL_SELECT_COLUMNS = `id, provider, model, display_name, is_active, context_window, max_output_tokens,
  input_per_mtok_usd::text AS input_per_mtok_usd, output_per_mtok_usd::text AS output_per_mtok_usd,
  cached_input_per_mtok_usd::text AS cached_input_per_mtok_usd, cache_write_per_mtok_usd::text AS cache_write_per_mtok_usd, ignored_parameters`;

/** numeric is read as text (MODEL_SELECT_COLUMNS): exact, as money must be. */
function modelFromRow(row: ModelRow): CatalogModel {
  const pricing =
    row.input_per_mtok_usd === null || row.output_per_mtok_usd === null
      ? null
      : {
          inputPerMTokUsd: row.input_per_mtok_usd,
          outputPerMTokUsd: row.output_per_mtok_usd,
          ...(row.cached_input_per_mtok_usd !== null && { cachedInputPerMTokUsd: row.cached_input_per_mtok_usd }),
          ...(row.cache_write_per_mtok_usd !== null && { cacheWritePerMTokUsd: row.cache_write_per_mtok_usd }),
        };
  return {
    id: row.id,
    provider: row.provider,
    model: row.model,
    displayName: row.display_name,
    isActive: row.is_active,
    contextWindow: Number(row.context_window),
    maxOutputTokens: Number(row.max_output_tokens),
    pricing,
    ...(row.ignored_parameters.length > 0 && { ignoredParameters: row.ignored_parameters }),
  };
}

/**
 * A timestamp column read as ISO 8601 text in UTC, to the millisecond a Date keeps, under the column's own name (in
 * statements that do not sort by it: an output column of that name is what ORDER BY would sort by, as text). Read as a
 * timestamptz, its text follows the session's DateStyle: a host's database, role or pool `options` set to
 * `SQL, DMY` or `German` (30/11/2026, 30.11.2026) read as 1970-01-01 through node-postgres, and through PGlite as
 * 12 January or an Invalid Date. TimeZone and a host's type parser for timestamptz do not reach this text either.
 */
const utcTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** A table's columns as a SELECT reads them: its timestamp columns through {@link utcTime}. */
const selectList = (columns: string, times: readonly string[]) =>
  columns
    .split(', ')
    .map((column) => (times.includes(column) ? utcTime(column) : column))
    .join(', ');

const KEY_COLUMNS = 'owner_type, owner_id, provider, envelope, master_key_id, hint, verification, created_at, updated_at';
const KEY_SELECT = selectList(KEY_COLUMNS, ['created_at', 'updated_at']);
const AUDIT_COLUMNS = 'id, at, actor_id, owner_type, owner_id, provider, action, hint, request_id';
const AUDIT_SELECT = selectList(AUDIT_COLUMNS, ['at']);

const ownerOf = (type: 'user' | 'system', id: string): KeyOwner =>
  type === 'system' ? { type: 'system', id: 'system' } : { type: 'user', id };

function keyFromRow(row: KeyRow): StoredKey {
  return {
    owner: ownerOf(row.owner_type, row.owner_id),
    provider: row.provider,
    // node-postgres gives a Buffer, PGlite a Uint8Array: hand out a plain copy either way.
    envelope: Uint8Array.from(row.envelope),
    keyId: row.master_key_id,
    hint: row.hint,
    verification: row.verification,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function auditFromRow(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    at: new Date(row.at),
    actorId: row.actor_id,
    owner: ownerOf(row.owner_type, row.owner_id),
    provider: row.provider,
    action: row.action,
    hint: row.hint,
    requestId: row.request_id,
  };
}

/** Every statement of the storage is fixed text: prepare each once per connection. */
const prepared = (executor: SqlExecutor): SqlExecutor => ({
  ...executor,
  query: (text, params) => executor.query(text, params, { prepare: true }),
});

interface BudgetRow {
  monthly_limit_usd: string;
  applies_to: BudgetScope;
  /** {@link utcTime}'s text. */
  updated_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The Storage over a database whose schema `names` points at. */
export function storageOn(database: Database, names: SqlNames): PostgresStorage {
  const statements = prepared(database);
  const keys = names.table('provider_keys');
  const audit = names.table('key_audit');
  const models = names.table('models');
  const usage = names.table('usage_events');
  const budgets = names.table('budgets');
  const holds = names.table('budget_reservations');
  const monthlySpend = names.table('monthly_spend');
  const holdBudget = names.table('hold_budget');
  const holdStatement = `SELECT ${holdBudget}($1::uuid, $2::text, $3::timestamptz, $4::numeric, $5::timestamptz, $6::timestamptz, $7::text) AS outcome`;
  /**
   * Whether a statement outside a transaction runs READ COMMITTED here: the sessions' default, read once and kept
   * (a database's, a role's or the pool's `options`, the same for every session of the pool). Read in each hold
   * instead, in a `CASE`, it cost metering with a budget a fifth of its throughput (docs/performance.md).
   */
  let readCommittedByDefault: boolean | undefined;
  /** The advisory locks of this schema's model changes, one per model id. */
  const modelWriteLock = `byokit:models:${names.key}`;
  /** The advisory locks of this schema's key writes, one per owner (two int4 keys: apart from migrate's one bigint). */
  const keyWriteLock = `byokit:keys:${names.key}`;
  let closing: Promise<void> | undefined;

  /** Writes the audit record of one key change inside the change's transaction, and returns it. */
  async function writeAudit(
    transaction: SqlExecutor,
    owner: KeyOwner,
    provider: Provider,
    action: AuditRecord['action'],
    hint: string,
    actor: KeyWriteActor,
    at: Date,
  ): Promise<AuditRecord> {
    const record: AuditRecord = {
      id: randomUUID(),
      at: new Date(at),
      actorId: actor.actorId,
      owner,
      provider,
      action,
      hint,
      requestId: actor.requestId,
    };
    await transaction.query(`INSERT INTO ${audit} (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      record.id,
      record.at,
      record.actorId,
      owner.type,
      owner.id,
      provider,
      action,
      hint,
      record.requestId,
    ]);
    return record;
  }

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
  /** Adds or replaces an admin's model by id; `conflict` for a provider and name another model has. */
  const upsertModel = async (executor: SqlExecutor, model: CatalogModel, at: Date) => {
    const pricing = model.pricing;
    await executor
      .query(
        `INSERT INTO ${models} (${MODEL_COLUMNS}, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12)
       ON CONFLICT (id) DO UPDATE SET provider = EXCLUDED.provider, model = EXCLUDED.model, display_name = EXCLUDED.display_name,
         is_active = EXCLUDED.is_active, context_window = EXCLUDED.context_window, max_output_tokens = EXCLUDED.max_output_tokens,
         input_per_mtok_usd = EXCLUDED.input_per_mtok_usd, output_per_mtok_usd = EXCLUDED.output_per_mtok_usd,
         cached_input_per_mtok_usd = EXCLUDED.cached_input_per_mtok_usd, cache_write_per_mtok_usd = EXCLUDED.cache_write_per_mtok_usd,
         ignored_parameters = EXCLUDED.ignored_parameters, updated_at = EXCLUDED.updated_at`,
        [
          model.id,
          model.provider,
          model.model,
          model.displayName,
          model.isActive,
          model.contextWindow,
          model.maxOutputTokens,
          pricing?.inputPerMTokUsd ?? null,
          pricing?.outputPerMTokUsd ?? null,
          pricing?.cachedInputPerMTokUsd ?? null,
          pricing?.cacheWritePerMTokUsd ?? null,
          at,
          [...(model.ignoredParameters ?? [])],
        ],
      )
      .catch((error: unknown) => {
        // The id is handled above; what is left unique is (provider, model): another admin's add of it won the race.
        if (isUniqueViolation(error)) throw new ByokitError('conflict', `A model ${model.provider}/${model.model} exists already.`);
        throw error;
      });
  };

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
  return {
    database,
    migrate: (reporting) => guarded(() => migrate(database, names, { onLockWait: reporting?.onLockWait })),

    getKey: (owner, provider) =>
      guarded(async () => {
        const rows = await statements.query<KeyRow>(
          `SELECT ${KEY_SELECT} FROM ${keys} WHERE owner_type = $1 AND owner_id = $2 AND provider = $3`,
          [owner.type, owner.id, provider],
        );
        return rows[0] ? keyFromRow(rows[0]) : null;
      }),

    listKeys: (owner) =>
      guarded(async () => {
        const rows = await statements.query<KeyRow>(
          `SELECT ${KEY_SELECT} FROM ${keys} WHERE owner_type = $1 AND owner_id = $2 ORDER BY provider`,
          [owner.type, owner.id],
        );
        return rows.map(keyFromRow);
      }),

    writeKeys: (owner, changes, actor, at) =>
      guarded(() =>
        database.transaction(async (unprepared) => {
          const transaction = prepared(unprepared);
          // One owner's writes one at a time (a user's two PATCHes at once, two admins' of the system keys): a removal
          // of a key that is not there locks no row, so without this, two writes that each set one provider and
          // removed the other's found nothing to remove, and both keys stayed, a mix that neither write asked for.
          await transaction.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [keyWriteLock, `${owner.type}:${owner.id}`]);
          const written: AuditRecord[] = [];
          for (const change of changes) {
            let hint: string;
            if (change.action === 'set') {
              await transaction.query(
                `INSERT INTO ${keys} (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (owner_type, owner_id, provider) DO UPDATE SET envelope = EXCLUDED.envelope,
                   master_key_id = EXCLUDED.master_key_id, hint = EXCLUDED.hint, verification = EXCLUDED.verification,
                   updated_at = EXCLUDED.updated_at`,
                [owner.type, owner.id, change.provider, change.envelope, change.keyId, change.hint, change.verification, at],
              );
              hint = change.hint;
            } else {
              const deleted = await transaction.query<{ hint: string }>(
                `DELETE FROM ${keys} WHERE owner_type = $1 AND owner_id = $2 AND provider = $3 RETURNING hint`,
                [owner.type, owner.id, change.provider],
              );
              if (!deleted[0]) continue;
              hint = deleted[0].hint;
            }
            written.push(await writeAudit(transaction, ownerOf(owner.type, owner.id), change.provider, change.action, hint, actor, at));
          }
          return written;
        }),
      ),

    forgetUser: (userId, forgottenUsage, actor, at) =>
      guarded(() =>
        database.transaction(async (unprepared) => {
          const transaction = prepared(unprepared);
          // The user's key writes wait, as for writeKeys. Then rows in the order the others lock them (recordUsage: spend,
          // then holds by id; the hold function: the budget, then holds), so that none waits on another in a cycle.
          await transaction.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [keyWriteLock, `user:${userId}`]);
          let usageRecordsDeleted = 0;
          if (forgottenUsage === 'delete') {
            // The spending first: a record written at once is then either seen by the next statement (committed before
            // it) and deleted with its cost, or waits for this transaction and is kept with its cost alone.
            await transaction.query(
              `DELETE FROM ${monthlySpend} WHERE (user_id, month_start) IN
                 (SELECT user_id, month_start FROM ${monthlySpend} WHERE user_id = $1 ORDER BY month_start FOR UPDATE)`,
              [userId],
            );
            const [deleted] = await transaction.query<{ count: number | string }>(
              `WITH deleted AS (DELETE FROM ${usage} WHERE user_id = $1 RETURNING 1) SELECT count(*) AS count FROM deleted`,
              [userId],
            );
            usageRecordsDeleted = Number(deleted!.count);
          }
          const budget = await transaction.query(`DELETE FROM ${budgets} WHERE user_id = $1 RETURNING 1`, [userId]);
          await transaction.query(`DELETE FROM ${holds} WHERE id IN (SELECT id FROM ${holds} WHERE user_id = $1 ORDER BY id FOR UPDATE)`, [
            userId,
          ]);
          const deletedKeys = await transaction.query<{ provider: Provider; hint: string }>(
            `DELETE FROM ${keys} WHERE owner_type = 'user' AND owner_id = $1 RETURNING provider, hint`,
            [userId],
          );
          const written: AuditRecord[] = [];
          for (const { provider, hint } of deletedKeys.sort((a, b) => (a.provider < b.provider ? -1 : 1))) {
            written.push(await writeAudit(transaction, ownerOf('user', userId), provider, 'delete', hint, actor, at));
          }
          return { audit: written, budgetRemoved: budget.length > 0, usageRecordsDeleted };
        }),
      ),

    listAudit: (query = {}) =>
      guarded(async () => {
        const limit = query.limit ?? 100;
        const rows = query.owner
          ? await statements.query<AuditRow>(
              `SELECT ${AUDIT_SELECT} FROM ${audit} WHERE owner_type = $1 AND owner_id = $2 ORDER BY seq DESC LIMIT $3`,
              [query.owner.type, query.owner.id, limit],
            )
          : await statements.query<AuditRow>(`SELECT ${AUDIT_SELECT} FROM ${audit} ORDER BY seq DESC LIMIT $1`, [limit]);
        return rows.map(auditFromRow);
      }),

    countKeysByMasterKeyId: () =>
      guarded(async () => {
        const rows = await statements.query<{ master_key_id: string; rows: string | number }>(
          `SELECT master_key_id, count(*) AS rows FROM ${keys} GROUP BY master_key_id`,
        );
        // count(*) is int8: a string from node-postgres, a number from PGlite.
        return new Map(rows.map((row) => [row.master_key_id, Number(row.rows)]));
      }),

    listKeysToReseal: (primaryKeyId: string, limit: number, cursor?: KeyRowCursor) =>
      guarded(async () => {
        // Keyset pagination on the primary key's order: each page is an index range scan, however far in.
        const rows = cursor
          ? await statements.query<KeyRow>(
              `SELECT ${KEY_SELECT} FROM ${keys} WHERE master_key_id <> $1 AND (owner_type, owner_id, provider) > ($2, $3, $4)
               ORDER BY owner_type, owner_id, provider LIMIT $5`,
              [primaryKeyId, cursor.ownerType, cursor.ownerId, cursor.provider, limit],
            )
          : await statements.query<KeyRow>(
              `SELECT ${KEY_SELECT} FROM ${keys} WHERE master_key_id <> $1 ORDER BY owner_type, owner_id, provider LIMIT $2`,
              [primaryKeyId, limit],
            );
        return rows.map(keyFromRow);
      }),

    replaceKeyEnvelope: (owner, provider, expectedEnvelope, replacement) =>
      guarded(async () => {
        const rows = await statements.query(
          `UPDATE ${keys} SET envelope = $4, master_key_id = $5
           WHERE owner_type = $1 AND owner_id = $2 AND provider = $3 AND envelope = $6 RETURNING 1`,
          [owner.type, owner.id, provider, replacement.envelope, replacement.keyId, expectedEnvelope],
        );
        return rows.length === 1;
      }),

    listModels: () =>
      guarded(async () =>
        (
          await statements.query<ModelRow>(`SELECT ${MODEL_SELECT_COLUMNS} FROM ${models} ORDER BY provider COLLATE "C", model COLLATE "C"`)
        ).map(modelFromRow),
      ),

    saveModel: (model, at) => guarded(() => upsertModel(statements, model, at)),

    updateModel: (id, change, at) =>
      guarded(() =>
        database.transaction(async (unprepared) => {
          const transaction = prepared(unprepared);
          // One change of a model at a time, from any node: a row lock would not do, as a built-in model not changed yet
          // has no row. Without it, two nodes both read the model, and the later save undid the earlier's change.
          await transaction.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [modelWriteLock, id]);
          // An id that is no uuid was never stored (the column is uuid: compared, it would fail the statement).
          const rows = UUID.test(id)
            ? await transaction.query<ModelRow>(`SELECT ${MODEL_SELECT_COLUMNS} FROM ${models} WHERE id = $1`, [id])
            : [];
          const next = change(rows[0] ? modelFromRow(rows[0]) : null);
          if (next === undefined) return undefined;
          await upsertModel(transaction, next, at);
          return next;
        }),
      ),

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

    getBudget: (userId) =>
      guarded(async () => {
        const rows = await statements.query<BudgetRow>(
          `SELECT monthly_limit_usd::text AS monthly_limit_usd, applies_to, ${utcTime('updated_at')} FROM ${budgets} WHERE user_id = $1`,
          [userId],
        );
        const row = rows[0];
        return row
          ? { monthlyLimitUsd: shortestDecimal(row.monthly_limit_usd), appliesTo: row.applies_to, updatedAt: new Date(row.updated_at) }
          : null;
      }),

    setBudget: (userId, budget) =>
      guarded(async () => {
        if (budget === null) {
          await statements.query(`DELETE FROM ${budgets} WHERE user_id = $1`, [userId]);
          return;
        }
        await statements.query(
          `INSERT INTO ${budgets} (user_id, monthly_limit_usd, applies_to, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id) DO UPDATE SET monthly_limit_usd = EXCLUDED.monthly_limit_usd, applies_to = EXCLUDED.applies_to,
             updated_at = EXCLUDED.updated_at`,
          [userId, budget.monthlyLimitUsd, budget.appliesTo, budget.updatedAt],
        );
      }),

    budgetUse: (userId, period, scope, at) =>
      guarded(async () => {
        assertCalendarMonth(period);
        // The month's spend is one row (kept by settleUsage), never a sum over its records; one statement, one snapshot.
        // Holds of earlier months count until they end: their calls are recorded, and cost, in the month they end in.
        const rows = await statements.query<{ spent: string; held: string }>(
          `SELECT coalesce((SELECT CASE WHEN $3::text = 'all' THEN spent_usd ELSE system_spent_usd END FROM ${monthlySpend}
               WHERE user_id = $1 AND month_start = $2), 0)::text AS spent,
             (SELECT coalesce(sum(amount_usd), 0) FROM ${holds} WHERE user_id = $1 AND period_start <= $2 AND expires_at > $4)::text AS held`,
          [userId, period.start, scope, at],
        );
        return { spentUsd: shortestDecimal(rows[0]!.spent), heldUsd: shortestDecimal(rows[0]!.held) };
      }),

    holdBudget: (hold, keySource) =>
      guarded(async () => {
        assertCalendarMonth({ start: hold.periodStart, end: hold.periodEnd });
        // One round trip: the function (migration 0004) locks the user's budget row only while it decides. It must
        // run READ COMMITTED, so that it sees every hold committed while it waited for that lock: under a host's
        // default of REPEATABLE READ it saw the snapshot taken before, and holds made at once overran the budget
        // (SERIALIZABLE failed most of them instead). So it runs alone where the
        // sessions' default is READ COMMITTED, else in a READ COMMITTED transaction.
        const params = [hold.id, hold.userId, hold.periodStart, hold.amountUsd, hold.createdAt, hold.expiresAt, keySource];
        if (readCommittedByDefault === undefined) {
          const [setting] = await statements.query<{ level: string }>(
            `SELECT current_setting('default_transaction_isolation') AS level`,
            [],
          );
          readCommittedByDefault = setting!.level === 'read committed';
        }
        if (readCommittedByDefault) return (await statements.query<{ outcome: HoldOutcome }>(holdStatement, params))[0]!.outcome;
        return database.transaction(
          async (transaction) => (await prepared(transaction).query<{ outcome: HoldOutcome }>(holdStatement, params))[0]!.outcome,
        );
      }),

    renewHold: (holdId, expiresAt) =>
      guarded(async () => {
        // One row, locked alone: no order of locks to keep with the hold function's or recordUsage's. Never moved back,
        // and a hold already ended (deleted with its call's record) stays gone.
        await statements.query(`UPDATE ${holds} SET expires_at = $2 WHERE id = $1::uuid AND expires_at < $2`, [holdId, expiresAt]);
      }),

    // Once, as byokit.close(): a second call waits for the first instead of failing on a pool already ended.
    close: () => (closing ??= database.close()),
  };
}
