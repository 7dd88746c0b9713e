import { randomUUID } from 'node:crypto';
import type { AuditRecord, CatalogModel, SamplingParameter, KeyOwner, KeyRowCursor, Provider, Storage, StoredKey } from '@byokit/core';
import type { Database, SqlExecutor } from './database.js';
import { guarded } from './database-errors.js';
import { migrate, type MigrationResult } from './migrate.js';
import type { SqlNames } from './sql-names.js';

/** A byokit {@link Storage} on PostgreSQL, with its schema migrations and the database it runs on. */
export interface PostgresStorage extends Storage {
  /** Creates or upgrades byokit's tables; idempotent and safe for several nodes at once. */
  migrate(): Promise<MigrationResult>;
  /** The database, for a host that wants to keep its own tables in it too. */
  readonly database: Database;
  /** Ends the connections byokit opened (a pool or PGlite you passed in stays open). */
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
  created_at: Date;
  updated_at: Date;
}

interface AuditRow {
  id: string;
  at: Date;
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

/** numeric comes back as text from both drivers: exact, as money must be. */
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

const KEY_COLUMNS = 'owner_type, owner_id, provider, envelope, master_key_id, hint, verification, created_at, updated_at';
const AUDIT_COLUMNS = 'id, at, actor_id, owner_type, owner_id, provider, action, hint, request_id';

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

/** The Storage over a database whose schema `names` points at. */
export function storageOn(database: Database, names: SqlNames): PostgresStorage {
  const statements = prepared(database);
  const keys = names.table('provider_keys');
  const audit = names.table('key_audit');
  const models = names.table('models');

  return {
    database,
    migrate: () => guarded(() => migrate(database, names)),

    getKey: (owner, provider) =>
      guarded(async () => {
        const rows = await statements.query<KeyRow>(
          `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE owner_type = $1 AND owner_id = $2 AND provider = $3`,
          [owner.type, owner.id, provider],
        );
        return rows[0] ? keyFromRow(rows[0]) : null;
      }),

    listKeys: (owner) =>
      guarded(async () => {
        const rows = await statements.query<KeyRow>(
          `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE owner_type = $1 AND owner_id = $2 ORDER BY provider`,
          [owner.type, owner.id],
        );
        return rows.map(keyFromRow);
      }),

    writeKeys: (owner, changes, actor, at) =>
      guarded(() =>
        database.transaction(async (unprepared) => {
          const transaction = prepared(unprepared);
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
            const record: AuditRecord = {
              id: randomUUID(),
              at: new Date(at),
              actorId: actor.actorId,
              owner: ownerOf(owner.type, owner.id),
              provider: change.provider,
              action: change.action,
              hint,
              requestId: actor.requestId,
            };
            await transaction.query(`INSERT INTO ${audit} (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
              record.id,
              record.at,
              record.actorId,
              owner.type,
              owner.id,
              record.provider,
              record.action,
              record.hint,
              record.requestId,
            ]);
            written.push(record);
          }
          return written;
        }),
      ),

    listAudit: (query = {}) =>
      guarded(async () => {
        const limit = query.limit ?? 100;
        const rows = query.owner
          ? await statements.query<AuditRow>(
              `SELECT ${AUDIT_COLUMNS} FROM ${audit} WHERE owner_type = $1 AND owner_id = $2 ORDER BY seq DESC LIMIT $3`,
              [query.owner.type, query.owner.id, limit],
            )
          : await statements.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM ${audit} ORDER BY seq DESC LIMIT $1`, [limit]);
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
              `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE master_key_id <> $1 AND (owner_type, owner_id, provider) > ($2, $3, $4)
               ORDER BY owner_type, owner_id, provider LIMIT $5`,
              [primaryKeyId, cursor.ownerType, cursor.ownerId, cursor.provider, limit],
            )
          : await statements.query<KeyRow>(
              `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE master_key_id <> $1 ORDER BY owner_type, owner_id, provider LIMIT $2`,
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
        (await statements.query<ModelRow>(`SELECT ${MODEL_COLUMNS} FROM ${models} ORDER BY provider, model`)).map(modelFromRow),
      ),

    saveModel: (model, at) =>
      guarded(async () => {
        const pricing = model.pricing;
        await statements.query(
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
        );
      }),

    close: () => database.close(),
  };
}
