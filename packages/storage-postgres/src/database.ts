import { setTimeout as sleep } from 'node:timers/promises';
import { connectionFailed, lostToAnother } from './database-errors.js';

/** How to run one statement. */
export interface QueryOptions {
  /**
   * Prepare it once per connection and reuse it: the server skips parsing and planning, about half the
   * cost of a small query (see bench/). Only for fixed SQL text; every distinct text is kept per connection.
   */
  prepare?: boolean;
}

/** Runs SQL: one statement with parameters (`query`), or several without (`exec`, for migrations). */
export interface SqlExecutor {
  /** Runs one statement, `$1`, `$2`, … in `text` bound to `params` in order, and resolves with its rows. */
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<Row[]>;
  /** Runs statements separated by `;`, without parameters (a migration's file). */
  exec(sql: string): Promise<void>;
}

/** A statement name derived from its text (FNV-1a), so the same text always gets the same name. */
function statementName(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return `byokit_${(hash >>> 0).toString(36)}_${text.length.toString(36)}`;
}

/**
 * A PostgreSQL database as byokit uses it: the one SQL code path that runs on node-postgres (a server)
 * and on PGlite (embedded). Both speak `query(text, params) → rows`; the differences in what they return
 * (int8 as string or number, bytea as Buffer or Uint8Array) are evened out by the callers' row mappers.
 */
export interface Database extends SqlExecutor {
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (transaction: SqlExecutor) => Promise<T>): Promise<T>;
  /** Ends the connections, if this database opened them. */
  close(): Promise<void>;
}

/** A statement as node-postgres takes it; `query_timeout` is read from it too, though its types leave it out. */
export interface PgQuery {
  /** The SQL, with `$1`, `$2`, … parameters. */
  text: string;
  /** The parameters' values. */
  values?: unknown[];
  /** Prepared once per connection under this name. */
  name?: string;
  /** How long the client waits for the answer, in milliseconds. */
  query_timeout?: number;
}

/** What byokit calls on a client of a node-postgres pool. */
export interface PgPoolClient {
  /** Runs one statement. */
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  /** Runs one statement. */
  query(statement: PgQuery): Promise<{ rows: unknown[] }>;
  /** The connection failed between statements. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Stops listening. */
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** Given an error, the client is destroyed rather than returned to the pool. */
  release(error?: Error | boolean): void;
}

/**
 * What byokit calls on a node-postgres pool, written out rather than pg's own `Pool` type: one @types/pg release's
 * `Pool` is not another's, and this compiles with whichever the host has. So byokit's declarations import nothing
 * from pg, and @types/pg is only a dev dependency (as a dependency, npm gave hosts a second copy beside their own).
 */
export interface PgPool {
  /** A client of its own, for a transaction. */
  connect(): Promise<PgPoolClient>;
  /** Runs one statement on any client. */
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  /** Runs one statement on any client. */
  query(statement: PgQuery): Promise<{ rows: unknown[] }>;
  /** Ends every connection (only a pool byokit opened). */
  end(): Promise<void>;
}

/** The longest wait setTimeout takes (about 24.8 days): "no timeout", since node-postgres reads 0 as "the pool's". */
const NO_TIMEOUT_MS = 2 ** 31 - 1;

/** How a database over a node-postgres pool sends its statements. */
export interface PoolDatabaseOptions {
  /**
   * Whether a statement asked to be prepared is prepared by name, once per connection (the default). False sends
   * every statement unnamed, parsed and planned each time: for a pooler in transaction mode, which runs each
   * transaction on any of its server sessions.
   */
  preparedStatements?: boolean | undefined;
}

function clientExecutor(client: Pick<PgPoolClient, 'query'>, { preparedStatements = true }: PoolDatabaseOptions): SqlExecutor {
  return {
    query: async <Row>(text: string, params?: readonly unknown[], options?: QueryOptions) =>
      (options?.prepare && preparedStatements
        ? await client.query({ name: statementName(text), text, values: params as unknown[] })
        : await client.query(text, params as unknown[])
      ).rows as Row[],
    // Without parameters, node-postgres uses the simple query protocol, which runs several statements. Only
    // migrations use it: a pool's query_timeout (the client's wait for any answer) is lifted for them, as
    // migrate() lifts statement_timeout, since a migration over a large table may rightly take minutes.
    exec: async (sql) => {
      await client.query({ text: sql, query_timeout: NO_TIMEOUT_MS });
    },
  };
}

/** How many times a statement or transaction is run in all when it keeps losing to others (40001, 40P01). */
const ATTEMPTS = 5;

/**
 * Runs `attempt` again when PostgreSQL failed it for losing to another transaction, as PostgreSQL asks of its
 * clients: such a failure did nothing. After a short random pause, so that the ones that lost do not meet again
 * at once. Given up after {@link ATTEMPTS}, with the last error (then `storage_unavailable`, "try again shortly").
 */
async function runAgainWhenItLoses<T>(attempt: () => Promise<T>): Promise<T> {
  for (let made = 1; ; made++) {
    try {
      return await attempt();
    } catch (error) {
      if (made >= ATTEMPTS || !lostToAnother(error)) throw error;
      await sleep(Math.random() * 5 * made);
    }
  }
}

/**
 * A database over a node-postgres pool. `ownsPool`: whether `close()` ends it.
 *
 * Its transactions are READ COMMITTED whatever the host's sessions default to (a database or role may default to
 * REPEATABLE READ or SERIALIZABLE): byokit's writes are made safe by its own locks, which were written for it, and
 * under a stricter default one user's key changes at once failed as serialization failures (a 500 each), as did
 * the usage records of one user's calls ending together (each record lost). A statement or a transaction that
 * loses to another all the same (a deadlock, a serialization failure) is run again, a statement in a READ COMMITTED
 * transaction of its own.
 */
export function poolDatabase(pool: PgPool, ownsPool: boolean, options: PoolDatabaseOptions = {}): Database {
  const executor = clientExecutor(pool, options);
  return {
    query(text, params, queryOptions) {
      // A statement fails so under a host's stricter default, many at once on the same row (usage records of one
      // user): run again READ COMMITTED, where it waits for that row's lock instead of failing. The first run counts
      // among the ATTEMPTS, as a transaction's does.
      let first = true;
      return runAgainWhenItLoses(() => {
        if (!first) return transactionOn(pool, options, (transaction) => transaction.query(text, params, queryOptions));
        first = false;
        return executor.query(text, params, queryOptions);
      });
    },
    exec: executor.exec,
    transaction: (work) => runAgainWhenItLoses(() => transactionOn(pool, options, work)),
    close: async () => {
      if (ownsPool) await pool.end();
    },
  };
}

/** Runs `work` in one READ COMMITTED transaction on a client of `pool`. */
async function transactionOn<T>(pool: PgPool, options: PoolDatabaseOptions, work: (transaction: SqlExecutor) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client is ours to watch: the pool listens only to idle ones. If the server ends the
  // session between two statements (no query running to fail instead), node-postgres emits 'error' on
  // the client, and with no listener that ends the process. Note it: the next statement then fails
  // (a 503), and the client is destroyed on release, not returned to the pool.
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  try {
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    const result = await work(clientExecutor(client, options));
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that failed under the statement is not asked to ROLLBACK (one silent past the pool's query_timeout
    // waited that long again before the request had its answer) but destroyed, which ends the transaction on the server.
    // A failed ROLLBACK likewise means the connection itself is gone.
    if (connectionFailed(error)) broken = error as Error;
    else await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** What byokit calls on a PGlite instance and on its transactions. */
export interface PGliteExecutor {
  /** PGlite's `query`: one statement with `$1`, `$2`, … parameters. */
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** PGlite's `exec`: statements separated by `;`, without parameters. */
  exec(sql: string): Promise<unknown>;
}

/**
 * A PGlite instance, as byokit uses it. Spelled out here rather than imported: PGlite is an optional peer
 * dependency, and declarations importing its types failed the type check of a host that has not installed it.
 */
export interface PGliteInstance extends PGliteExecutor {
  /** PGlite's `transaction`: committed if `work` resolves, rolled back if it throws. */
  transaction<T>(work: (transaction: PGliteExecutor) => Promise<T>): Promise<T>;
  /** PGlite's `close`; byokit calls it only on an instance it opened itself (`embeddedPostgresStorage`). */
  close(): Promise<void>;
}

function pgliteExecutor(target: PGliteExecutor): SqlExecutor {
  return {
    query: async <Row>(text: string, params?: readonly unknown[]) => (await target.query<Row>(text, params as unknown[])).rows,
    exec: async (sql) => void (await target.exec(sql)),
  };
}

/** A database over an embedded PGlite instance (one connection; its transactions are serialised). */
export function pgliteDatabase(pglite: PGliteInstance, ownsInstance: boolean): Database {
  const executor = pgliteExecutor(pglite);
  // As on a server (see poolDatabase): transactions READ COMMITTED whatever the instance's default, and what
  // loses to another transaction run again (on one connection only a deadlock with a host's own could).
  return {
    query: (text, params, options) => runAgainWhenItLoses(() => executor.query(text, params, options)),
    exec: executor.exec,
    transaction: (work) =>
      runAgainWhenItLoses(() =>
        pglite.transaction(async (transaction) => {
          await transaction.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
          return work(pgliteExecutor(transaction));
        }),
      ),
    close: async () => {
      if (ownsInstance) await pglite.close();
    },
  };
}
