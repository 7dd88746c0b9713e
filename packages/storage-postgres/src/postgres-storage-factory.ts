import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { pgliteDatabase, poolDatabase, type PgPool, type PGliteInstance } from './database.js';
import { lockFolder } from './folder-lock.js';
import { storageOn, type PostgresStorage } from './postgres-storage.js';
import { sqlNames } from './sql-names.js';

/** Where byokit's tables go. */
export interface TableOptions {
  /** Schema of byokit's tables; created by `migrate()` if missing. Default `public`. */
  schema?: string | undefined;
  /** Prefix of every table and index name, so they sit beside yours. Default `byokit_`. */
  tablePrefix?: string | undefined;
}

/** How statements reach a PostgreSQL server (not PGlite, which is one session in the process). */
export interface StatementOptions {
  /**
   * Prepare each statement by name, once per connection, as byokit does by default: the server then skips parsing
   * and planning it. False sends every statement unnamed, for a pooler in transaction mode (PgBouncer's
   * `pool_mode = transaction` before 1.21, or without `max_prepared_statements`): there each transaction may run on
   * another server session, and a named statement failed as `prepared statement "byokit_…" already exists` (or
   * `does not exist`), a 500 for the request. Default true.
   */
  preparedStatements?: boolean | undefined;
}

/** What node-postgres reads as its author meant: a postgres(ql):// or socket: URL, or a socket folder. */
const CONNECTION_STRING = /^(?:postgres(?:ql)?:\/\/|socket:|\/)/i;

/** setTimeout's limit; also far past any sensible statement. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1 - 2_000;

/** Options of {@link postgresStorage}: your pool, a connection string, or a PGlite instance. */
export type PostgresStorageOptions = TableOptions &
  (
    | (StatementOptions & {
        /** Your node-postgres pool (`new pg.Pool(…)`, whichever @types/pg release your app has); byokit never ends it. */
        pool: PgPool;
      })
    | (StatementOptions & {
        /**
         * A `postgres://` (or `postgresql://`) URL, a `socket:` URL or a socket folder: byokit opens (and on
         * `close()` ends) a pool of its own. Reserved characters in the user name and password percent-encoded.
         */
        connectionString: string;
        /** Connections at most: a whole number from 1 up. Default 10. */
        poolSize?: number | undefined;
        /**
         * How long one statement may run, in milliseconds (PostgreSQL's `statement_timeout`), before it fails
         * as `storage_unavailable`; the pool also gives up on a connection that has not answered 2 s after
         * that (a network partition or a frozen server, where no error ever comes). Migrations are not limited.
         * A whole number from 1 to 2,147,481,647 (about 24.8 days). Default 10,000.
         */
        statementTimeoutMs?: number | undefined;
      })
    | {
        /** An embedded PGlite instance of yours (`new PGlite()` of `@electric-sql/pglite`); byokit never closes it. */
        pglite: PGliteInstance;
      }
  );

/**
 * byokit's storage on PostgreSQL. Call `await storage.migrate()` once at start-up (it is idempotent and
 * safe when several nodes start together).
 *
 * ```ts
 * import { postgresStorage } from '@byokit/storage-postgres';
 *
 * const storage = postgresStorage({ pool }); // your existing pg Pool
 * const storageOnItsOwnPool = postgresStorage({ connectionString: process.env.DATABASE_URL! }); // unset: a TypeError
 * ```
 *
 * @throws TypeError naming the option, never echoing its value: more than one of `pool`, `connectionString` and
 *   `pglite`, or a setting not read beside it (`ssl`, `max`: node-postgres's own settings go on a pool of yours); a
 *   `pool` that is one client (a `pg.Client`, or one checked out of a pool); a `connectionString` that is missing,
 *   not a postgres URL or not one node-postgres can read; a `poolSize` or `statementTimeoutMs` that is not a whole
 *   number in range; a `preparedStatements` that is not a boolean; a `schema` or `tablePrefix` that is not a
 *   lower-case SQL name (`[a-z_][a-z0-9_]*`, at most 63 and 31 characters; the prefix may be empty), the one setting
 *   quoted back, as neither is a secret.
 */
export function postgresStorage(options: PostgresStorageOptions): PostgresStorage {
  assertOneDatabase(options);
  const names = sqlNames(options.schema, options.tablePrefix);
  // Read from the environment, 'false' is a string, and a string is true: refused rather than read as named statements.
  const { preparedStatements } = options as StatementOptions;
  if (preparedStatements !== undefined && typeof preparedStatements !== 'boolean')
    throw new TypeError(`preparedStatements must be true or false, got ${shown(preparedStatements)}`);
  // A way given as undefined (a host's configuration object, its unset settings undefined) is not given.
  if ('pool' in options && options.pool !== undefined) {
    assertPool(options.pool);
    return storageOn(poolDatabase(options.pool, false, { preparedStatements }), names);
  }
  if ('pglite' in options && options.pglite !== undefined) return storageOn(pgliteDatabase(options.pglite, false), names);
  // Otherwise a connection string is the way.
  const own = options as Extract<PostgresStorageOptions, { connectionString: string }>;
  // node-postgres resolves a connection string against "postgres://base": libpq's `host=… password=…` becomes a
  // database of that name on a host named "base" (the password with it), and an empty or missing one (an unset
  // DATABASE_URL) quietly means localhost. Refused by name, never echoed: it may hold a password.
  if (typeof own.connectionString !== 'string' || !CONNECTION_STRING.test(own.connectionString)) {
    throw new TypeError(
      `connectionString must be a postgres:// URL (postgres://user:password@host:5432/database), a socket:/path URL or a socket folder, got ${
        typeof own.connectionString === 'string' && own.connectionString !== '' ? 'other text' : 'none (is DATABASE_URL set?)'
      }`,
    );
  }
  // A password holding a character a URL reserves (# / ?) unencoded: node-postgres failed the first query with
  // a bare 'Invalid URL', naming no setting (a start said only that). Refused here by name, and never echoed.
  if (!readableUrl(own.connectionString)) {
    throw new TypeError(
      'connectionString is not a URL node-postgres can read: percent-encode any of # / ? : @ [ ] % in its user name and password (encodeURIComponent), e.g. postgres://app:p%23ss@db.internal:5432/app',
    );
  }
  const poolSize = own.poolSize ?? 10;
  // pg quietly reads 0 and NaN (an unset environment variable read as a number) as its default of 10, a
  // negative size as no connection ever, and Infinity as no limit: refused here instead, by name.
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new TypeError(`poolSize must be a whole number from 1 up, got ${shown(poolSize)}`);
  const statementTimeoutMs = own.statementTimeoutMs ?? 10_000;
  if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 1 || statementTimeoutMs > MAX_TIMEOUT_MS)
    throw new TypeError(`statementTimeoutMs must be a whole number from 1 to ${MAX_TIMEOUT_MS}, got ${shown(statementTimeoutMs)}`);
  const pool = new pg.Pool({
    connectionString: own.connectionString,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // The server ends a statement that runs too long (a lock wait, a runaway query) and the session lives on.
    // A connection on which nothing at all comes back (a partition: no error, no FIN) is given up by the
    // client a little later and destroyed; without this a query waited for TCP to give up, some 15 minutes,
    // and a pool whose every connection hung so stopped the node until it was restarted.
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + 2_000,
  });
  // An idle connection that the server drops emits 'error' on the pool; unhandled, that would end the
  // process. The pool replaces the connection, and a query meanwhile fails as storage_unavailable.
  pool.on('error', () => {});
  return storageOn(poolDatabase(pool, true, { preparedStatements }), names);
}

/** Options of {@link embeddedPostgresStorage}. */
export interface EmbeddedStorageOptions extends TableOptions {
  /** The folder PGlite keeps its data in (created if missing); omit for a database in memory only. */
  dataDir?: string | undefined;
  /** Migrate before returning. Default true. */
  migrate?: boolean | undefined;
}

/**
 * byokit's storage on an embedded PostgreSQL (PGlite, an optional peer dependency): no server to run,
 * data in a folder. Only one process may open a folder at a time, which a lock file (`<dataDir>.lock`)
 * enforces, since PGlite itself does not. Migrated before it is returned unless told otherwise.
 *
 * Rejects with a TypeError for a setting it does not read (`dataDirectory`), a `schema` or `tablePrefix` that is not
 * a lower-case SQL name, an Error when
 * another running process has `dataDir` open, and the migration's error (the database closed again) when
 * migrating fails, and Node's `ERR_MODULE_NOT_FOUND` when `@electric-sql/pglite` is not installed.
 */
export async function embeddedPostgresStorage(options: EmbeddedStorageOptions = {}): Promise<PostgresStorage> {
  // A misspelt `dataDir` (`dataDirectory`) kept every key in memory only, to be lost at the next restart.
  assertSettingNames('embeddedPostgresStorage', options, ['dataDir', 'migrate', ...TABLE_SETTINGS]);
  const names = sqlNames(options.schema, options.tablePrefix);
  // Read before the first wait: two storages opened at once from one options object, set for each in turn, both
  // opened the last one's folder (the first refused as open, or given the other tenant's data).
  const { dataDir, migrate } = options;
  const { PGlite } = await import('@electric-sql/pglite');
  let unlock = async () => {};
  if (dataDir !== undefined) {
    await mkdir(dirname(resolve(dataDir)), { recursive: true, mode: 0o700 });
    unlock = await lockFolder(resolve(dataDir));
  }
  try {
    const pglite = await PGlite.create(dataDir);
    const database = pgliteDatabase(pglite, true);
    const storage = storageOn({ ...database, close: () => database.close().finally(unlock) }, names);
    if (migrate !== false) await storage.migrate().catch((error: unknown) => storage.close().then(() => Promise.reject(error)));
    return storage;
  } catch (error) {
    await unlock();
    throw error;
  }
}

const TABLE_SETTINGS = ['schema', 'tablePrefix'];

/** The settings each way of reaching the database takes, and what to do with one it does not. */
const DATABASE_SETTINGS = {
  pool: { names: ['pool', 'preparedStatements', ...TABLE_SETTINGS], advice: ' (set max on your pool)' },
  connectionString: {
    names: ['connectionString', 'poolSize', 'statementTimeoutMs', 'preparedStatements', ...TABLE_SETTINGS],
    advice:
      ' (other node-postgres settings, ssl among them, go on a pool of your own: postgresStorage({ pool: new pg.Pool({ connectionString, ssl }) }); or put sslmode in the connection string)',
  },
  pglite: { names: ['pglite', ...TABLE_SETTINGS], advice: '' },
} as const;

/** Every name postgresStorage reads, whichever way to the database is given. */
const POSTGRES_STORAGE_SETTINGS = new Set<string>(Object.values(DATABASE_SETTINGS).flatMap((way) => way.names));

/**
 * One way to the database, with only the settings byokit reads for it: a second way was ignored (a pool beside a
 * connection string), and so was a setting byokit does not read (`ssl` left the connection without TLS, `max` the
 * pool at 10).
 */
function assertOneDatabase(options: PostgresStorageOptions): void {
  const given = options as Partial<Record<'pool' | 'connectionString' | 'pglite', unknown>>;
  const ways = (['pool', 'connectionString', 'pglite'] as const).filter((way) => given[way] !== undefined);
  if (ways.length > 1) throw new TypeError(`postgresStorage takes one of pool, connectionString and pglite, got ${ways.join(' and ')}`);
  const way = ways[0] ?? 'connectionString';
  const { names, advice } = DATABASE_SETTINGS[way];
  assertSettingNames(`postgresStorage({ ${way} })`, options, names, advice);
}

/**
 * A pool, not one node-postgres client (a `pg.Client`, or one checked out of a pool, which a plain-JavaScript host can
 * pass where TypeScript would refuse it): a client's `connect()` connects itself and hands back no client, so the first
 * transaction failed with a message naming nothing of the host's, and one connection shared by concurrent requests
 * would share their transactions. A client is told by the connection parameters every node-postgres client keeps.
 */
function assertPool(pool: PgPool): void {
  if (typeof (pool as { connectionParameters?: unknown }).connectionParameters === 'object') {
    throw new TypeError(
      'postgresStorage({ pool }) takes a pool (new pg.Pool(…)), got a single client (a pg.Client, or one checked out of a pool): byokit runs each transaction on a client of its own from the pool',
    );
  }
}

/**
 * Every name in `settings` is one byokit reads; another is refused, naming it (and the right case, when only that
 * differs). A setting of another way to the database left undefined is not set: a host's configuration object names
 * its unset settings so (`{ pool, poolSize: undefined }`), and nothing there is ignored. A name read nowhere is
 * refused whatever its value: a typo unset in development (`ssl: process.env.X`) is set in production.
 */
function assertSettingNames(option: string, settings: object, names: readonly string[], advice = ''): void {
  const given = settings as Record<string, unknown>;
  const unknown = Object.keys(settings).find(
    (name) => !names.includes(name) && !(given[name] === undefined && POSTGRES_STORAGE_SETTINGS.has(name)),
  );
  if (unknown === undefined) return;
  const meant = names.find((name) => name.toLowerCase() === unknown.toLowerCase());
  const hint = meant === undefined ? '' : ` (did you mean ${meant}?)`;
  throw new TypeError(`${option} has no setting ${unknown}${hint}: it takes ${names.join(', ')}${advice}`);
}

/**
 * Whether node-postgres can read `connectionString`: it reads it with pg-connection-string's `parse`, asked here
 * the same way, so that nothing it reads is refused and nothing it cannot read is taken.
 */
function readableUrl(connectionString: string): boolean {
  try {
    parse(connectionString);
    return true;
  } catch {
    return false;
  }
}

/** A number option's bad value for its message: a number as it is, anything else by its kind ('5' shown as 5 read as valid). */
function shown(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
