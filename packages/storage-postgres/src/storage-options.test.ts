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
      'postgresStorage({ connectionString }) has no setting ssl: it takes connectionString, poolSize, statementTimeoutMs, preparedStatements, schema, tablePrefix (other node-postgres settings, ssl among them, go on a pool of your own: postgresStorage({ pool: new pg.Pool({ connectionString, ssl }) }); or put sslmode in the connection string)',
    ],
    [
      "node-postgres's name for the pool's size",
      { connectionString, max: 20 },
      'postgresStorage({ connectionString }) has no setting max: it takes connectionString, poolSize, statementTimeoutMs, preparedStatements, schema, tablePrefix (other node-postgres settings, ssl among them, go on a pool of your own: postgresStorage({ pool: new pg.Pool({ connectionString, ssl }) }); or put sslmode in the connection string)',
    ],
    [
      'a pool size beside a pool of your own, which byokit does not size',
      { pool: new pg.Pool(), poolSize: 20 },
      'postgresStorage({ pool }) has no setting poolSize: it takes pool, preparedStatements, schema, tablePrefix (set max on your pool)',
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

describe('postgresStorage preparedStatements', () => {
  // Read from an environment variable, 'false' is a string, and a string is true: the statements stayed named behind a
  // pooler in transaction mode, and failed there.
  it.each<[string, unknown, string]>([
    ['a string', 'false', 'preparedStatements must be true or false, got a string'],
    ['a number', 0, 'preparedStatements must be true or false, got 0'],
  ])('refuses %s, naming the setting', (_what, preparedStatements, message) => {
    expect(() => postgresStorage(asOptions({ connectionString, preparedStatements }))).toThrow(new TypeError(message));
    expect(() => postgresStorage(asOptions({ pool: new pg.Pool(), preparedStatements }))).toThrow(TypeError);
  });

  it('is not a setting of PGlite, which is one session in the process', () => {
    expect(() => postgresStorage(asOptions({ pglite: {} as PGlite, preparedStatements: false }))).toThrow(
      new TypeError('postgresStorage({ pglite }) has no setting preparedStatements: it takes pglite, schema, tablePrefix'),
    );
  });
});

describe('postgresStorage({ pool }) given a client, not a pool', () => {
  // In plain JavaScript nothing stops it: a Client's connect() connects itself and hands back no client, so the
  // first transaction (a migration, a key write, a budget hold) failed with "Client has already been connected" or
  // a TypeError, and one connection shared by concurrent requests would share their transactions.
  const message =
    'postgresStorage({ pool }) takes a pool (new pg.Pool(…)), got a single client (a pg.Client, or one checked out of a pool): byokit runs each transaction on a client of its own from the pool';
  it('refuses a pg.Client, at once, naming the mistake', () => {
    expect(() => postgresStorage(asOptions({ pool: new pg.Client(connectionString) }))).toThrow(new TypeError(message));
  });

  it("refuses a client checked out of a pool, and still takes the pool and a host's own pool-shaped object", () => {
    const pool = new pg.Pool({ connectionString });
    // What pool.connect() hands back: a Client with release().
    const checkedOut = Object.assign(new pg.Client(connectionString), { release: () => {} });
    expect(() => postgresStorage(asOptions({ pool: checkedOut }))).toThrow(new TypeError(message));
    expect(() => postgresStorage({ pool })).not.toThrow();
    const wrapper = { connect: () => pool.connect(), query: (text: string) => pool.query(text) };
    expect(() => postgresStorage(asOptions({ pool: wrapper }))).not.toThrow();
  });
});

describe('postgresStorage settings left undefined', () => {
  // A host's configuration object names every setting, those not set being undefined (an unset environment variable):
  // nothing there is ignored, so nothing is refused, and the way to the database is the one given.
  it('takes a PGlite instance beside a connection string, pool, pool size and schema that are undefined, and runs on it', async () => {
    const pglite = new PGlite();
    const storage = postgresStorage(
      asOptions({ pglite, connectionString: undefined, pool: undefined, poolSize: undefined, schema: undefined }),
    );
    await storage.migrate();
    expect(await storage.listModels()).toEqual([]);
    await storage.close();
    await pglite.close();
  });

  it('takes a connection string beside a pool that is undefined, and opens a pool of its own', async () => {
    const storage = postgresStorage(asOptions({ connectionString, pool: undefined, pglite: undefined, statementTimeoutMs: undefined }));
    await expect(storage.listModels()).rejects.toMatchObject({ code: 'storage_unavailable' });
    await storage.close();
  });

  it('still refuses two ways to the database given both, and a setting it does not read given a value', () => {
    expect(() => postgresStorage(asOptions({ pool: new pg.Pool(), connectionString, schema: undefined }))).toThrow(
      'postgresStorage takes one of pool, connectionString and pglite, got pool and connectionString',
    );
    expect(() => postgresStorage(asOptions({ connectionString, pool: undefined, max: 20 }))).toThrow(
      'postgresStorage({ connectionString }) has no setting max',
    );
  });

  it('refuses a name it reads nowhere even when undefined: a typo unset in development is set in production', async () => {
    expect(() => postgresStorage(asOptions({ connectionString, ssl: undefined }))).toThrow(
      'postgresStorage({ connectionString }) has no setting ssl',
    );
    await expect(embeddedPostgresStorage({ dataDirectory: undefined } as unknown as EmbeddedStorageOptions)).rejects.toThrow(
      'embeddedPostgresStorage has no setting dataDirectory',
    );
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
