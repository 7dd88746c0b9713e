import type { AuditRecord, Provider, Storage } from '@byokit/core';
import { budgetQueries } from './budget-queries.js';
import type { Database } from './database.js';
import { guarded } from './database-errors.js';
import { keyQueries, lockKeyWrites, ownerOf, writeAudit, type KeyOwnerQueries } from './key-queries.js';
import { migrate, type MigrateReporting, type MigrationResult } from './migrate.js';
import { modelQueries } from './model-queries.js';
import { prepared } from './shared-sql.js';
import type { SqlNames } from './sql-names.js';
import { usageQueries } from './usage-queries.js';

/**
 * A byokit {@link Storage} on PostgreSQL, with its schema migrations, the database it runs on, and the list of the
 * stored keys' owners that `byokit key-owners` prints.
 */
export interface PostgresStorage extends Storage, KeyOwnerQueries {
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

/**
 * The Storage over a database whose schema `names` points at: each area's queries (key-queries.ts, model-queries.ts,
 * usage-queries.ts, budget-queries.ts), and forgetting a user, which crosses them all.
 */
export function storageOn(database: Database, names: SqlNames): PostgresStorage {
  const keys = names.table('provider_keys');
  const audit = names.table('key_audit');
  const usage = names.table('usage_events');
  const budgets = names.table('budgets');
  const holds = names.table('budget_reservations');
  const monthlySpend = names.table('monthly_spend');
  let closing: Promise<void> | undefined;

  const forgetUser: Storage['forgetUser'] = (userId, forgottenUsage, actor, at) =>
    guarded(() =>
      database.transaction(async (unprepared) => {
        const transaction = prepared(unprepared);
        // The user's key writes wait, as for writeKeys. Then rows in the order the others lock them (recordUsage: spend,
        // then holds by id; the hold function: the budget, then holds), so that none waits on another in a cycle.
        await lockKeyWrites(transaction, names, { type: 'user', id: userId });
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
          written.push(await writeAudit(transaction, audit, ownerOf('user', userId), provider, 'delete', hint, actor, at));
        }
        return { audit: written, budgetRemoved: budget.length > 0, usageRecordsDeleted };
      }),
    );

  return {
    database,
    migrate: (reporting) => guarded(() => migrate(database, names, { onLockWait: reporting?.onLockWait })),
    ...keyQueries(database, names),
    forgetUser,
    ...modelQueries(database, names),
    ...usageQueries(database, names),
    ...budgetQueries(database, names),
    // Once, as byokit.close(): a second call waits for the first instead of failing on a pool already ended.
    close: () => (closing ??= database.close()),
  };
}
