/**
 * The storage's provider keys and their audit trail: reading keys, writing them one owner at a time with an audit
 * record each, and the rotation's pages and compare-and-swap.
 */
import { randomUUID } from 'node:crypto';
import type { AuditRecord, KeyOwner, KeyRowCursor, KeyWriteActor, Provider, Storage, StoredKey } from '@byokit/core';
import type { Database, SqlExecutor } from './database.js';
import { guarded } from './database-errors.js';
import { prepared, selectList, utcTime } from './shared-sql.js';
import type { SqlNames } from './sql-names.js';

interface KeyRow {
  owner_type: 'user' | 'system';
  owner_id: string;
  provider: Provider;
  envelope: Uint8Array;
  master_key_id: string;
  hint: string;
  verification: StoredKey['verification'];
  /** utcTime's text (shared-sql.ts). */
  created_at: string;
  updated_at: string;
}

interface AuditRow {
  id: string;
  /** utcTime's text (shared-sql.ts). */
  at: string;
  actor_id: string;
  owner_type: 'user' | 'system';
  owner_id: string;
  provider: Provider;
  action: 'set' | 'delete';
  hint: string;
  request_id: string;
}

const KEY_COLUMNS = 'owner_type, owner_id, provider, envelope, master_key_id, hint, verification, created_at, updated_at';
const KEY_SELECT = selectList(KEY_COLUMNS, ['created_at', 'updated_at']);
const AUDIT_COLUMNS = 'id, at, actor_id, owner_type, owner_id, provider, action, hint, request_id';
const AUDIT_SELECT = selectList(AUDIT_COLUMNS, ['at']);

export const ownerOf = (type: 'user' | 'system', id: string): KeyOwner =>
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

/**
 * Makes one owner's key writes wait for each other's (a user's two PATCHes at once, two admins' of the system keys)
 * until the transaction ends. Two int4 keys: apart from migrate's one bigint.
 */
export async function lockKeyWrites(transaction: SqlExecutor, names: SqlNames, owner: KeyOwner): Promise<void> {
  await transaction.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [
    `byokit:keys:${names.key}`,
    `${owner.type}:${owner.id}`,
  ]);
}

/** Writes the audit record of one key change inside the change's transaction, and returns it. */
export async function writeAudit(
  transaction: SqlExecutor,
  audit: string,
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

/** One stored key as `byokit key-owners` lists it: whose it is, and nothing of the key but its hint. */
export type StoredKeyOwner = Pick<StoredKey, 'owner' | 'provider' | 'hint' | 'keyId' | 'updatedAt'>;

/** Which page of the stored keys' owners to read ({@link KeyOwnerQueries.listKeyOwners}). */
export interface KeyOwnersPage {
  /** At most this many rows. */
  limit: number;
  /** The last row of the page before, as a cursor; absent for the first page. */
  after?: KeyRowCursor | undefined;
  /** Only the keys sealed under this master key id; absent for every key. */
  masterKeyId?: string | undefined;
}

/** Which page of the key audit trail to read ({@link KeyOwnerQueries.listKeyAudit}). */
export interface KeyAuditPage {
  /** At most this many records. */
  limit: number;
  /** The `id` of the page before's last record; absent for the first page. */
  after?: string | undefined;
  /** Only the changes to this owner's keys; absent for every owner's. */
  owner?: KeyOwner | undefined;
  /** Only the changes made at this time or later; absent for every one. */
  since?: Date | undefined;
}

/** The storage's own key queries, beyond core's Storage interface (which hosts implement). */
export interface KeyOwnerQueries {
  /**
   * One page of the stored keys, without their envelopes: the system keys first, then users' by id (in the database's
   * collation), each by provider. Pass the page's last row as `after` for the next one; a page shorter than `limit`
   * is the last. The list an operator needs after a master key leak (`byokit key-owners`).
   */
  listKeyOwners(page: KeyOwnersPage): Promise<StoredKeyOwner[]>;
  /**
   * One page of the key audit trail, newest first (by `at`, then in the order written). Pass the page's last record's
   * `id` as `after` for the next one; a page shorter than `limit` is the last. The trail an operator reads
   * after a master key leak or a restored backup (`byokit key-audit`).
   */
  listKeyAudit(page: KeyAuditPage): Promise<AuditRecord[]>;
}

type KeyQueries = Pick<
  Storage,
  | 'getKey'
  | 'listKeys'
  | 'writeKeys'
  | 'listAudit'
  | 'countKeysByMasterKeyId'
  | 'listKeysToReseal'
  | 'replaceKeyEnvelope'
  | 'setKeyVerification'
> &
  KeyOwnerQueries;

/** The key and audit methods of the Storage over a database whose schema `names` points at. */
export function keyQueries(database: Database, names: SqlNames): KeyQueries {
  const statements = prepared(database);
  const keys = names.table('provider_keys');
  const audit = names.table('key_audit');
  return {
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
          await lockKeyWrites(transaction, names, owner);
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
            written.push(
              await writeAudit(transaction, audit, ownerOf(owner.type, owner.id), change.provider, change.action, hint, actor, at),
            );
          }
          return written;
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
        // Keyset pagination in the primary key's order, each page read from the index of each master key id's keys in
        // that order (migration 0009): the ids, few, are found one probe each (a recursive skip along the index), and
        // each id but the primary gives its next `limit` rows after the cursor; the page is the first `limit` of those.
        // Walking the primary key and keeping the rows not on the primary, the first page of a rotation stopped part way
        // read every row resealed before the first one left (they come first): 40,000 of 50,001 at each node's start.
        const after = cursor ? 'AND (owner_type, owner_id, provider) > ($3, $4, $5)' : '';
        const rows = await statements.query<KeyRow>(
          `WITH RECURSIVE ids (id) AS (
             (SELECT master_key_id FROM ${keys} ORDER BY master_key_id LIMIT 1)
             UNION ALL
             SELECT (SELECT master_key_id FROM ${keys} WHERE master_key_id > ids.id ORDER BY master_key_id LIMIT 1) FROM ids
             WHERE ids.id IS NOT NULL
           )
           SELECT page.* FROM ids CROSS JOIN LATERAL (
             SELECT ${KEY_SELECT} FROM ${keys} WHERE master_key_id = ids.id ${after} ORDER BY owner_type, owner_id, provider LIMIT $2
           ) AS page
           WHERE ids.id <> $1
           ORDER BY owner_type, owner_id, provider LIMIT $2`,
          cursor ? [primaryKeyId, limit, cursor.ownerType, cursor.ownerId, cursor.provider] : [primaryKeyId, limit],
        );
        return rows.map(keyFromRow);
      }),

    listKeyOwners: ({ limit, after, masterKeyId }) =>
      guarded(async () => {
        // Keyset pagination in the primary key's order: each page a range of it, or of 0009's index of one id's keys.
        const params: unknown[] = [];
        const conditions: string[] = [];
        if (masterKeyId !== undefined) conditions.push(`master_key_id = $${params.push(masterKeyId)}`);
        if (after !== undefined) {
          params.push(after.ownerType, after.ownerId, after.provider);
          conditions.push(`(owner_type, owner_id, provider) > ($${params.length - 2}, $${params.length - 1}, $${params.length})`);
        }
        const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
        const rows = await statements.query<Pick<KeyRow, 'owner_type' | 'owner_id' | 'provider' | 'hint' | 'master_key_id' | 'updated_at'>>(
          `SELECT owner_type, owner_id, provider, hint, master_key_id, ${utcTime('updated_at')} FROM ${keys}${where}
           ORDER BY owner_type, owner_id, provider LIMIT $${params.push(limit)}`,
          params,
        );
        return rows.map((row) => ({
          owner: ownerOf(row.owner_type, row.owner_id),
          provider: row.provider,
          hint: row.hint,
          keyId: row.master_key_id,
          updatedAt: new Date(row.updated_at),
        }));
      }),

    listKeyAudit: ({ limit, after, owner, since }) =>
      guarded(async () => {
        // Keyset pagination in time order, newest first (seq apart records of one time): each page a range of
        // migration 0010's index of the trail, or of one owner's part of it, `since` its far end. The cursor's place
        // found by its record's id (unique), each column on its own so that the comparison reads the index. `audit.at`:
        // a bare `at` in ORDER BY is the output column, utcTime's text, which no index orders.
        const params: unknown[] = [];
        const conditions: string[] = [];
        if (owner !== undefined) {
          conditions.push(`owner_type = $${params.push(owner.type)} AND owner_id = $${params.push(owner.id)}`);
        }
        if (since !== undefined) conditions.push(`at >= $${params.push(since)}`);
        if (after !== undefined) {
          const cursor = `$${params.push(after)}`;
          conditions.push(`(at, seq) < ((SELECT at FROM ${audit} WHERE id = ${cursor}), (SELECT seq FROM ${audit} WHERE id = ${cursor}))`);
        }
        const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
        const rows = await statements.query<AuditRow>(
          `SELECT ${AUDIT_SELECT} FROM ${audit} AS audit${where} ORDER BY audit.at DESC, seq DESC LIMIT $${params.push(limit)}`,
          params,
        );
        return rows.map(auditFromRow);
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

    setKeyVerification: (owner, provider, expectedEnvelope, verification) =>
      guarded(async () => {
        const rows = await statements.query(
          `UPDATE ${keys} SET verification = $4
           WHERE owner_type = $1 AND owner_id = $2 AND provider = $3 AND envelope = $5 RETURNING 1`,
          [owner.type, owner.id, provider, verification, expectedEnvelope],
        );
        return rows.length === 1;
      }),
  };
}
