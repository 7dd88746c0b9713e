import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Database, SqlExecutor } from './database.js';
import { isUnavailable, lostToAnother } from './database-errors.js';
import type { SqlNames } from './sql-names.js';

/** A versioned migration shipped in the package's `migrations/` folder. */
interface Migration {
  version: number;
  name: string;
  sql: string;
  /** {@link migrationChecksum} of the file, kept in the ledger with the version it applied. */
  checksum: string;
}

/** What a migrate run did. */
export interface MigrationResult {
  /** Versions applied by this run, e.g. `['0001_initial']`; empty when the schema was current. */
  applied: string[];
  /** The schema version after the run. */
  version: number;
}

/** A migrate run that gave way to another session's lock on a table a migration changes, and will start again. */
export interface MigrationLockWait {
  /** The migration whose statement waited, e.g. `0005_usage_cache_writes`. */
  migration: string;
  /** This run's number, from 1. */
  run: number;
  /** How many runs migrate makes before it gives up. */
  runs: number;
  /** The pause before the next run, in milliseconds. */
  pauseMs: number;
}

/** What a migrate run tells its caller while it runs. */
export interface MigrateReporting {
  /**
   * Called each time a run gives way to another session's lock and will start again (the last run fails instead):
   * without it, migrate may wait about a minute in silence. `byokit migrate` prints it.
   */
  onLockWait?: ((wait: MigrationLockWait) => void) | undefined;
}

/** @internal For tests: a schema as an earlier release left it, and shorter waits for a table's lock. */
export interface MigrateOptions extends MigrateReporting {
  /** Apply the migrations up to this version only, as the release that shipped it last did. */
  through?: number;
  /** How long a migration's statement waits for a table's lock before the run gives way. Default 2 s. */
  lockTimeoutMs?: number;
  /** How many runs in all give way before migrate gives up. Default 10 (about a minute). */
  lockAttempts?: number;
}

const LOCK_TIMEOUT_MS = 2_000;
/** SQLSTATE 55P03: a statement's wait for a lock passed lock_timeout. */
const LOCK_NOT_AVAILABLE = '55P03';
const LOCK_ATTEMPTS = 10;
/** The longest pause between two runs that gave way: a pause grows by the lock timeout each time, up to this. */
const LONGEST_PAUSE_MS = 5_000;

/** A run that gave way to another session's lock on a table a migration changes: undone, to be run again. */
class LockWaitExceeded extends Error {
  constructor(
    readonly migration: string,
    readonly version: number,
    options: ErrorOptions,
  ) {
    super(`Migration ${migration} timed out waiting for a lock`, options);
  }
}

const MIGRATIONS = new URL('../migrations/', import.meta.url);
const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

async function loadMigrations(names: SqlNames): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS)).filter((file) => FILE.test(file)).sort();
  return Promise.all(
    files.map(async (file) => {
      const [, version, name] = FILE.exec(file)!;
      const text = await readFile(new URL(file, MIGRATIONS), 'utf8');
      const sql = text.replace(/\{\{(table|name):([a-z_]+)\}\}/g, (_match, kind: string, table: string) =>
        kind === 'table' ? names.table(table) : names.name(table),
      );
      return { version: Number(version), name: `${version}_${name}`, sql, checksum: migrationChecksum(text) };
    }),
  );
}

/**
 * SHA-256 of a migration file's SQL, comments and spacing left out: an edit of a comment, or a file checked out
 * with CRLF line ends, is the same migration; a change of what it does is not. (A `--` inside a quoted string is
 * taken for a comment too: this text is only compared, never run.)
 */
export function migrationChecksum(text: string): string {
  const sql = text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return createHash('sha256').update(sql).digest('hex');
}

/** A row of the ledger: the migrations applied to a schema. `checksum` is null for those applied before it was kept. */
interface LedgerRow {
  version: number;
  name: string;
  checksum: string | null;
}

/**
 * Brings the schema up to date: every pending migration in one transaction, under a transaction-scoped
 * advisory lock, so that two nodes starting together apply each migration once and the loser waits and
 * then finds nothing to do. Idempotent. Refuses a schema that a later release migrated past the last version
 * this one ships.
 *
 * A migration that changes a table waits for every other session's lock on it, and from then on every statement
 * on that table, byokit's own included, queues behind the migration: a long report or a pg_dump would stall every
 * node. So a statement of a migration waits for a lock for `lockTimeoutMs` at most; then the run is undone, the
 * queue behind it goes on, and after a pause the run starts again, up to `lockAttempts` runs, each one that gave way
 * reported to `onLockWait`.
 */
export async function migrate(database: Database, names: SqlNames, options: MigrateOptions = {}): Promise<MigrationResult> {
  const migrations = (await loadMigrations(names)).filter((migration) => migration.version <= (options.through ?? Infinity));
  const lockTimeoutMs = options.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
  const attempts = options.lockAttempts ?? LOCK_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(database, names, migrations, lockTimeoutMs);
    } catch (error) {
      if (!(error instanceof LockWaitExceeded)) throw error;
      if (attempt >= attempts) {
        throw new Error(
          `Migration ${error.migration} waited ${lockTimeoutMs} ms for a lock on a table it changes, ${attempts} times: another session holds one ` +
            `(a long transaction, a report, a pg_dump: see pg_locks and pg_stat_activity). Nothing of this run was applied (the schema ` +
            `${names.key}* is still at version ${error.version}); run it again once that session ends.`,
          { cause: error.cause },
        );
      }
      const pauseMs = Math.min(lockTimeoutMs * attempt, LONGEST_PAUSE_MS);
      options.onLockWait?.({ migration: error.migration, run: attempt, runs: attempts, pauseMs });
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

async function migrateOnce(database: Database, names: SqlNames, migrations: Migration[], lockTimeoutMs: number): Promise<MigrationResult> {
  return database.transaction(async (transaction) => {
    // No statement_timeout here (a pool's may be seconds): a migration over a large table, or the wait for
    // another node's, may take longer. names.key is a validated identifier ([a-z0-9_.]): safe in a literal.
    await transaction.exec(
      `SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock(hashtext('byokit:migrate:${names.key}'))`,
    );
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
    const schemaExists = await transaction.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schemaName]);
    if (schemaExists.length === 0) await transaction.exec(`CREATE SCHEMA ${names.schema}`);
    const ledger = names.table('migrations');
    await transaction.exec(
      `CREATE TABLE IF NOT EXISTS ${ledger} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), checksum text)`,
    );
    // A ledger of a release before checksums were kept gains the column, where this node's role owns it (ALTER
    // TABLE needs the owner): a host may migrate as the owner (`byokit migrate`) and run its nodes as a role with
    // rights on the rows only. Until the owner's run adds it, the names alone are checked.
    const [ledgerState] = await transaction.query<{ has_checksum: boolean; owned: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = 'checksum' AND NOT attisdropped) AS has_checksum,
              pg_has_role(c.relowner, 'USAGE') AS owned
         FROM pg_class c WHERE c.oid = '${ledger}'::regclass`,
    );
    let hasChecksum = ledgerState!.has_checksum;
    if (!hasChecksum && ledgerState!.owned) {
      await transaction.exec(`ALTER TABLE ${ledger} ADD COLUMN checksum text`);
      hasChecksum = true;
    }
    const checksum = hasChecksum ? 'checksum' : 'NULL AS checksum';
    const rows = (await transaction.query<LedgerRow>(`SELECT version, name, ${checksum} FROM ${ledger}`)).map((row) => ({
      ...row,
      version: Number(row.version),
    }));
    const done = new Set(rows.map((row) => row.version));
    const latest = Math.max(0, ...migrations.map((migration) => migration.version));
    // A node of a later release migrated this schema: this code does not know what its tables now mean, and
    // an older node's writes could break a newer node's invariants. Refused, not reported as "current".
    const newest = Math.max(0, ...done);
    if (newest > latest) {
      throw new Error(
        `The schema ${names.key}* is at version ${newest}, newer than this byokit knows (version ${latest}): a later release migrated it. Run that release (or newer) here; a schema is never downgraded.`,
      );
    }
    await checkLedger(transaction, names, migrations, rows, hasChecksum);
    // From here on a statement waits for a table's lock for lockTimeoutMs at most (see migrate). The advisory lock
    // above, and the ledger, which only migrate reads, wait as long as they must.
    await transaction.exec(`SET LOCAL lock_timeout = ${Math.floor(lockTimeoutMs)}`);
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await transaction.exec(migration.sql).catch((error: unknown) => {
        if ((error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE)
          throw new LockWaitExceeded(migration.name, newest, { cause: error });
        // Left as is: the database being unavailable is storage_unavailable, and losing to another transaction
        // runs the whole migration again (database.ts).
        if (isUnavailable(error) || lostToAnother(error)) throw error;
        // The transaction rolls back every migration of this run: the next start tries them all again.
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(
          `Migration ${migration.name} failed and nothing of this run was applied (the schema ${names.key}* is still at version ${newest}): ${message}`,
          { cause: error },
        );
      });
      await transaction.query(
        hasChecksum
          ? `INSERT INTO ${ledger} (version, name, checksum) VALUES ($1, $2, $3)`
          : `INSERT INTO ${ledger} (version, name) VALUES ($1, $2)`,
        hasChecksum ? [migration.version, migration.name, migration.checksum] : [migration.version, migration.name],
      );
      applied.push(migration.name);
    }
    return { applied, version: latest };
  });
}

/**
 * Refuses a schema that applied, under a version this release ships, something else than this release's migration
 * (its file edited since, or another release's migration under the same number): what the later migrations build
 * on is then not what they expect. A migration the ledger keeps no checksum for (applied by a release before
 * checksums were kept) is taken to be this release's, by its name, and its checksum recorded from now on.
 */
async function checkLedger(
  transaction: SqlExecutor,
  names: SqlNames,
  migrations: Migration[],
  rows: LedgerRow[],
  keepsChecksums: boolean,
): Promise<void> {
  const recorded = new Map(rows.map((row) => [row.version, row]));
  for (const migration of migrations) {
    const row = recorded.get(migration.version);
    if (row === undefined) continue;
    if (row.name !== migration.name || (row.checksum !== null && row.checksum !== migration.checksum)) {
      throw new Error(
        `Migration ${migration.name} is not what the schema ${names.key}* applied as version ${migration.version} (${row.name}, other SQL): ` +
          "a migration never changes once applied, so its file was edited or is another release's under the same number. " +
          'Install this release unchanged; nothing was changed.',
      );
    }
    if (row.checksum === null && keepsChecksums) {
      await transaction.query(`UPDATE ${names.table('migrations')} SET checksum = $2 WHERE version = $1`, [
        migration.version,
        migration.checksum,
      ]);
    }
  }
}
