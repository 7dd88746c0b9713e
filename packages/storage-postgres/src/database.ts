import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

/** Runs SQL: one statement with parameters (`query`), or several without (`exec`, for migrations). */
export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
  exec(sql: string): Promise<void>;
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

function clientExecutor(client: Pick<PoolClient, 'query'>): SqlExecutor {
  return {
    query: async <Row>(text: string, params?: readonly unknown[]) => (await client.query(text, params as unknown[])).rows as Row[],
    // Without parameters, node-postgres uses the simple query protocol, which runs several statements.
    exec: async (sql) => void (await client.query(sql)),
  };
}

/** A database over a node-postgres pool. `ownsPool`: whether `close()` ends it. */
export function poolDatabase(pool: Pool, ownsPool: boolean): Database {
  return {
    ...clientExecutor(pool),
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(clientExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A failed ROLLBACK means the connection itself is gone: destroy it rather than return it to the pool.
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: async () => {
      if (ownsPool) await pool.end();
    },
  };
}

function pgliteExecutor(target: PGlite | Transaction): SqlExecutor {
  return {
    query: async <Row>(text: string, params?: readonly unknown[]) => (await target.query<Row>(text, params as unknown[])).rows,
    exec: async (sql) => void (await target.exec(sql)),
  };
}

/** A database over an embedded PGlite instance (one connection; its transactions are serialised). */
export function pgliteDatabase(pglite: PGlite, ownsInstance: boolean): Database {
  return {
    ...pgliteExecutor(pglite),
    transaction: (work) => pglite.transaction((transaction) => work(pgliteExecutor(transaction))),
    close: async () => {
      if (ownsInstance) await pglite.close();
    },
  };
}
