import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describe } from 'vitest';
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
