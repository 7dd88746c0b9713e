import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Storage } from '@byokit/core';
import { describeStorageConformance } from '@byokit/core/testing';
import { postgresStorage } from './index.js';

// Always on PGlite; on a real PostgreSQL server too whenever DATABASE_URL is set (.ci/run always sets it).
describeStorageConformance('PostgreSQL on PGlite', {
  createStorage: async () => {
    const storage = postgresStorage({ pglite: await PGlite.create() });
    await storage.migrate();
    return storage;
  },
  destroyStorage: async (storage) => {
    await storage.close?.();
  },
  rotationRows: 1200,
});

const databaseUrl = process.env.DATABASE_URL;
describe.runIf(databaseUrl)('on a real PostgreSQL server', () => {
  const schemas = new Map<Storage, { pool: pg.Pool; schema: string }>();
  describeStorageConformance('PostgreSQL server', {
    // Each storage gets a schema of its own, dropped afterwards, so runs never see each other's rows.
    createStorage: async () => {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
      const schema = `conformance_${randomBytes(6).toString('hex')}`;
      const storage = postgresStorage({ pool, schema });
      await storage.migrate();
      schemas.set(storage, { pool, schema });
      return storage;
    },
    destroyStorage: async (storage) => {
      const { pool, schema } = schemas.get(storage)!;
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await pool.end();
    },
  });
});

describe.runIf(databaseUrl)('the pool postgresStorage({ connectionString }) opens, on a real PostgreSQL server', () => {
  // README: `poolSize` connections (10 by default) and `statementTimeoutMs` (10 s by default) per statement.
  it('sets statement_timeout to 10 s, or to statementTimeoutMs', async () => {
    const timeoutOf = async (options: { statementTimeoutMs?: number }) => {
      const storage = postgresStorage({ connectionString: databaseUrl!, ...options });
      try {
        return (await storage.database.query<{ statement_timeout: string }>('SHOW statement_timeout'))[0]!.statement_timeout;
      } finally {
        await storage.close();
      }
    };
    expect([await timeoutOf({}), await timeoutOf({ statementTimeoutMs: 2_500 })]).toEqual(['10s', '2500ms']);
  });

  it('opens 10 connections at most by default: an 11th transaction waits for one of them', async () => {
    const storage = postgresStorage({ connectionString: databaseUrl! });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const sessions: number[] = [];
    try {
      const transactions = Array.from({ length: 11 }, () =>
        storage.database.transaction(async (transaction) => {
          sessions.push((await transaction.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid);
          await gate;
        }),
      );
      await expect.poll(() => sessions.length).toBe(10);
      expect(new Set(sessions).size).toBe(10);
      open();
      await Promise.all(transactions);
      expect(new Set(sessions).size).toBe(10);
      expect(sessions).toHaveLength(11);
    } finally {
      open();
      await storage.close();
    }
  });
});

// Through PgBouncer in transaction pooling mode whenever PGBOUNCER_DATABASE_URL is set (.ci/run always sets it, from
// scripts/start-pgbouncer.sh): each transaction, and each statement outside one, may run on another server session,
// so byokit's named statements, prepared on one session, are missing from or already on the next.
const pgbouncerUrl = process.env.PGBOUNCER_DATABASE_URL;
describe.runIf(pgbouncerUrl)('through PgBouncer in transaction pooling mode', () => {
  const schemas = new Map<Storage, { pool: pg.Pool; schema: string }>();
  const openOnPgBouncer = async (schema: string, preparedStatements?: boolean) => {
    const pool = new pg.Pool({ connectionString: pgbouncerUrl, max: 8 });
    const storage = postgresStorage({ pool, schema, preparedStatements });
    await storage.migrate();
    schemas.set(storage, { pool, schema });
    return storage;
  };
  const drop = async (storage: Storage) => {
    const { pool, schema } = schemas.get(storage)!;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  };

  describeStorageConformance('PostgreSQL through PgBouncer, preparedStatements: false', {
    createStorage: () => openOnPgBouncer(`pgbouncer_${randomBytes(6).toString('hex')}`, false),
    destroyStorage: drop,
  });

  // What a host sees without the option, and the proof that the suite above runs through a pooler in that mode: a
  // second node's first read is prepared again, on the server session the first node's pool left it on.
  it("fails without preparedStatements: false: a second node's read finds the first node's statement already prepared", async () => {
    const schema = `pgbouncer_${randomBytes(6).toString('hex')}`;
    const first = await openOnPgBouncer(schema);
    const secondPool = new pg.Pool({ connectionString: pgbouncerUrl, max: 1 });
    try {
      await first.getBudget('user-1');
      await expect(postgresStorage({ pool: secondPool, schema }).getBudget('user-1')).rejects.toThrow(
        /^prepared statement "byokit_\w+" already exists$/,
      );
    } finally {
      await secondPool.end();
      await drop(first);
    }
  });

  // docs/architecture.md: byokit's own pool sends statementTimeoutMs as the session's statement_timeout when it
  // connects, which PgBouncer refuses unless told to ignore it (ignore_startup_parameters): behind it, a pool of yours.
  it("refuses byokit's own pool (connectionString) at connect, for its statement_timeout: 503 storage_unavailable", async () => {
    const storage = postgresStorage({ connectionString: pgbouncerUrl!, preparedStatements: false });
    try {
      await expect(storage.listModels()).rejects.toMatchObject({
        code: 'storage_unavailable',
        cause: { message: 'unsupported startup parameter: statement_timeout' },
      });
    } finally {
      await storage.close();
    }
  });
});
