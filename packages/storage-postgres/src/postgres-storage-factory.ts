import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { pgliteDatabase, poolDatabase } from './database.js';
import { storageOn, type PostgresStorage } from './postgres-storage.js';
import { sqlNames } from './sql-names.js';

/** Where byokit's tables go. */
export interface TableOptions {
  /** Schema of byokit's tables; created by `migrate()` if missing. Default `public`. */
  schema?: string;
  /** Prefix of every table and index name, so they sit beside yours. Default `byokit_`. */
  tablePrefix?: string;
}

/** Options of {@link postgresStorage}: your pool, a connection string, or a PGlite instance. */
export type PostgresStorageOptions = TableOptions &
  (
    | { /** Your node-postgres pool; byokit never ends it. */ pool: pg.Pool }
    | { /** byokit opens (and on `close()` ends) a pool of its own. */ connectionString: string; /** Default 10. */ poolSize?: number }
    | { /** An embedded PGlite instance of yours; byokit never closes it. */ pglite: PGlite }
  );

/**
 * byokit's storage on PostgreSQL. Call `await storage.migrate()` once at start-up (it is idempotent and
 * safe when several nodes start together).
 *
 * ```ts
 * const storage = postgresStorage({ pool });            // your existing pg Pool
 * const storage = postgresStorage({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export function postgresStorage(options: PostgresStorageOptions): PostgresStorage {
  const names = sqlNames(options.schema, options.tablePrefix);
  if ('pool' in options) return storageOn(poolDatabase(options.pool, false), names);
  if ('pglite' in options) return storageOn(pgliteDatabase(options.pglite, false), names);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection that the server drops emits 'error' on the pool; unhandled, that would end the
  // process. The pool replaces the connection, and a query meanwhile fails as storage_unavailable.
  pool.on('error', () => {});
  return storageOn(poolDatabase(pool, true), names);
}

/** Options of {@link embeddedPostgresStorage}. */
export interface EmbeddedStorageOptions extends TableOptions {
  /** The folder PGlite keeps its data in; omit for a database in memory only. */
  dataDir?: string;
}

/**
 * byokit's storage on an embedded PostgreSQL (PGlite, an optional peer dependency): no server to run,
 * data in a folder. One process at a time may open a folder. Migrated before it is returned.
 */
export async function embeddedPostgresStorage(options: EmbeddedStorageOptions = {}): Promise<PostgresStorage> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(options.dataDir);
  const storage = storageOn(pgliteDatabase(pglite, true), sqlNames(options.schema, options.tablePrefix));
  try {
    await storage.migrate();
  } catch (error) {
    await pglite.close();
    throw error;
  }
  return storage;
}
