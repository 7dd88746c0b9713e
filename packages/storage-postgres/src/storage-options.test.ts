import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { embeddedPostgresStorage, postgresStorage, type EmbeddedStorageOptions, type PostgresStorageOptions } from './index.js';

// A setting byokit does not read was ignored without a word: `ssl` left the connection without TLS, `max` left the
// pool at 10, and a misspelt `dataDir` kept every key in memory, to be lost at the next restart.
const connectionString = 'postgres://nobody@127.0.0.1:1/none';
const asOptions = (options: object) => options as PostgresStorageOptions;

describe('postgresStorage settings', () => {
  it.each<[string, object, string]>([
    [
      'TLS settings, which only a pool of your own takes',
      { connectionString, ssl: { rejectUnauthorized: true } },
      'postgresStorage({ connectionString }) has no setting ssl: it takes connectionString, poolSize, statementTimeoutMs, schema, tablePrefix (other node-postgres settings, ssl among them, go on a pool of your own: postgresStorage({ pool: new pg.Pool({ connectionString, ssl }) }); or put sslmode in the connection string)',
    ],
    [
      "node-postgres's name for the pool's size",
      { connectionString, max: 20 },
      'postgresStorage({ connectionString }) has no setting max: it takes connectionString, poolSize, statementTimeoutMs, schema, tablePrefix (other node-postgres settings, ssl among them, go on a pool of your own: postgresStorage({ pool: new pg.Pool({ connectionString, ssl }) }); or put sslmode in the connection string)',
    ],
    [
      'a pool size beside a pool of your own, which byokit does not size',
      { pool: new pg.Pool(), poolSize: 20 },
      'postgresStorage({ pool }) has no setting poolSize: it takes pool, schema, tablePrefix (set max on your pool)',
    ],
    [
      'both a pool and a connection string',
      { pool: new pg.Pool(), connectionString },
      'postgresStorage takes one of pool, connectionString and pglite, got pool and connectionString',
    ],
    [
      'a table prefix spelt in the wrong case',
      { pglite: {} as PGlite, tableprefix: 'app_' },
      'postgresStorage({ pglite }) has no setting tableprefix (did you mean tablePrefix?): it takes pglite, schema, tablePrefix',
    ],
  ])('refuses %s, naming the setting', (_what, options, message) => {
    expect(() => postgresStorage(asOptions(options))).toThrow(new TypeError(message));
  });
});

describe('embeddedPostgresStorage settings', () => {
  it('refuses a data folder under another name, rather than keeping every key in memory only', async () => {
    const folder = join(await mkdtemp(join(tmpdir(), 'byokit-options-')), 'data');
    const options = { dataDirectory: folder } as unknown as EmbeddedStorageOptions;
    await expect(embeddedPostgresStorage(options)).rejects.toThrow(
      new TypeError('embeddedPostgresStorage has no setting dataDirectory: it takes dataDir, migrate, schema, tablePrefix'),
    );
    expect(existsSync(folder)).toBe(false);
  });
});
