import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postgresStorage, type PostgresStorage, type TableOptions } from './index.js';
import { migrationChecksum } from './migrate.js';
import { usageRecordOf } from './test-helpers.js';

/** Every migration the package ships, e.g. `['0001_initial']`: what a first run must apply, in order. */
const SHIPPED = readdirSync(new URL('../migrations/', import.meta.url))
  .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
  .sort()
  .map((file) => file.replace(/\.sql$/, ''));
const LATEST_VERSION = Number(SHIPPED.at(-1)!.slice(0, 4));

/** The tables of byokit's schema, unprefixed. */
const TABLES = ['budget_reservations', 'budgets', 'key_audit', 'migrations', 'models', 'monthly_spend', 'provider_keys', 'usage_events'];

/** One database as the tests see it: PGlite in memory, or a pool on the real server. */
interface Backend {
  storage(options?: TableOptions): PostgresStorage;
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

const freshName = () => `test_${randomBytes(6).toString('hex')}`;

/** Every relation (table, index, sequence) in a schema, by name. */
async function relationsIn(backend: Backend, schema: string): Promise<string[]> {
  const rows = await backend.query<{ relname: string }>(
    'SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY c.relname',
    [schema],
  );
  return rows.map((row) => row.relname);
}

async function tablesIn(backend: Backend, schema: string): Promise<string[]> {
  const rows = await backend.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
    [schema],
  );
  return rows.map((row) => row.table_name);
}

async function migrationRows(backend: Backend, schema: string, prefix = 'byokit_') {
  const rows = await backend.query<{ version: number; name: string }>(
    `SELECT version, name FROM "${schema}"."${prefix}migrations" ORDER BY version`,
  );
  return rows.map((row) => ({ version: Number(row.version), name: row.name }));
}

/** The suite both databases must pass. Each test works in schemas of its own, dropped afterwards. */
function describeMigrations(open: () => Promise<Backend>) {
  let backend: Backend;
  const schemas: string[] = [];
  const freshSchema = () => {
    const schema = freshName();
    schemas.push(schema);
    return schema;
  };

  beforeAll(async () => {
    backend = await open();
  });
  afterEach(async () => {
    for (const schema of schemas.splice(0)) await backend.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  afterAll(async () => {
    await backend?.close();
  });

  it("creates byokit's tables on an empty database; a second run applies nothing and reports the same version", async () => {
    const schema = freshSchema();
    const storage = backend.storage({ schema });

    const first = await storage.migrate();
    expect(first).toEqual({ applied: SHIPPED, version: LATEST_VERSION });
    expect(await tablesIn(backend, schema)).toEqual(TABLES.map((table) => `byokit_${table}`));

    const relationsAfterFirst = await relationsIn(backend, schema);
    const second = await storage.migrate();
    expect(second).toEqual({ applied: [], version: LATEST_VERSION });
    expect(await relationsIn(backend, schema)).toEqual(relationsAfterFirst);
    expect((await migrationRows(backend, schema)).map((row) => row.name)).toEqual(SHIPPED);
    // And the tables are usable: the storage answers on them.
    expect(await storage.listKeys({ type: 'user', id: 'alice' })).toEqual([]);
  });

  it('refuses a schema a newer byokit migrated, naming both versions, and changes nothing in it', async () => {
    const schema = freshSchema();
    const storage = backend.storage({ schema });
    await storage.migrate();
    // What a node running a later release leaves behind: a migration this code does not ship.
    const future = LATEST_VERSION + 1;
    await backend.query(`INSERT INTO "${schema}".byokit_migrations (version, name) VALUES ($1, $2)`, [future, `${future}_from_the_future`]);
    const relationsBefore = await relationsIn(backend, schema);

    const error = await storage.migrate().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`version ${future}`);
    expect((error as Error).message).toContain(`version ${LATEST_VERSION}`);
    expect(await relationsIn(backend, schema)).toEqual(relationsBefore);
    expect((await migrationRows(backend, schema)).map((row) => row.version).at(-1)).toBe(future);
  });

  it('refuses a schema that had other SQL applied under a version this release ships (its file edited since), naming it, and changes nothing', async () => {
    const schema = freshSchema();
    const storage = backend.storage({ schema });
    await storage.migrate();
    // What an edited file looks like from the database: what was applied as version 6 is not the file shipped now.
    await backend.query(`UPDATE "${schema}".byokit_migrations SET checksum = $1 WHERE version = 6`, ['0'.repeat(64)]);
    const ledgerBefore = await backend.query(`SELECT * FROM "${schema}".byokit_migrations ORDER BY version`);
    const relationsBefore = await relationsIn(backend, schema);

    const error = await storage.migrate().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `Migration 0006_hold_counts_until_it_ends is not what the schema ${schema}.byokit_* applied as version 6 (0006_hold_counts_until_it_ends, other SQL): ` +
        "a migration never changes once applied, so its file was edited or is another release's under the same number. " +
        'Install this release unchanged; nothing was changed.',
    );
    expect(await backend.query(`SELECT * FROM "${schema}".byokit_migrations ORDER BY version`)).toEqual(ledgerBefore);
    expect(await relationsIn(backend, schema)).toEqual(relationsBefore);
  });

  it("refuses a schema that applied another release's migration under a version this release ships", async () => {
    const schema = freshSchema();
    const storage = backend.storage({ schema });
    await storage.migrate();
    // Two releases that each added their own 0007 (branches merged late): the schema has the other one.
    await backend.query(`UPDATE "${schema}".byokit_migrations SET name = '0007_something_else' WHERE version = 7`);
    await expect(storage.migrate()).rejects.toThrow(
      /^Migration 0007_\w+ is not what the schema \S+ applied as version 7 \(0007_something_else, other SQL\)/,
    );
  });

  it('records what each migration applied was in a ledger kept before it held that, and checks it from then on', async () => {
    const schema = freshSchema();
    const storage = backend.storage({ schema });
    await storage.migrate();
    // The ledger as releases before it kept it: the version and name of each migration, nothing of its SQL.
    await backend.query(`ALTER TABLE "${schema}".byokit_migrations DROP COLUMN checksum`);
    expect(await storage.migrate()).toEqual({ applied: [], version: LATEST_VERSION });
    const recorded = await backend.query<{ checksum: string | null }>(`SELECT checksum FROM "${schema}".byokit_migrations`);
    expect(recorded.map((row) => row.checksum)).toEqual(SHIPPED.map(() => expect.stringMatching(/^[0-9a-f]{64}$/)));

    await backend.query(`UPDATE "${schema}".byokit_migrations SET checksum = $1 WHERE version = 1`, ['0'.repeat(64)]);
    await expect(storage.migrate()).rejects.toThrow(/^Migration 0001_initial is not what the schema/);
  });

  it('fills the monthly spend from the usage recorded before it existed, so budgets count the whole month', async () => {
    const schema = freshSchema();
    const storage = backend.storage({ schema });
    await storage.migrate();
    const record = (userId: string, createdAt: Date, keySource: 'user' | 'system', costUsd: string) =>
      usageRecordOf({ userId, createdAt, keySource, costUsd });
    await storage.recordUsage([
      record('ada', new Date('2027-02-28T23:59:59.999Z'), 'system', '1'),
      record('ada', new Date('2027-03-01T00:00:00.000Z'), 'system', '0.25'),
      record('ada', new Date('2027-03-31T23:59:59.999Z'), 'user', '0.000000000001'),
      record('bob', new Date('2027-03-10T00:00:00.000Z'), 'user', '2'),
    ]);
    // As a database of version 2 had it: records, and no monthly spend.
    await backend.query(`DROP TABLE "${schema}".byokit_monthly_spend`);
    await backend.query(`DELETE FROM "${schema}".byokit_migrations WHERE version = 3`);
    expect((await backend.storage({ schema }).migrate()).applied).toEqual(['0003_monthly_spend']);

    const march = { start: new Date('2027-03-01T00:00:00Z'), end: new Date('2027-04-01T00:00:00Z') };
    const at = new Date('2027-03-15T00:00:00Z');
    expect(await storage.budgetUse('ada', march, 'all', at)).toEqual({ spentUsd: '0.250000000001', heldUsd: '0' });
    expect(await storage.budgetUse('ada', march, 'system', at)).toEqual({ spentUsd: '0.25', heldUsd: '0' });
    expect(await storage.budgetUse('bob', march, 'system', at)).toEqual({ spentUsd: '0', heldUsd: '0' });
    expect(await storage.budgetUse('bob', march, 'all', at)).toEqual({ spentUsd: '2', heldUsd: '0' });
  });

  it("puts only byokit_* tables beside the host's own and leaves the host's tables as they were", async () => {
    const schema = freshSchema();
    await backend.query(`CREATE SCHEMA "${schema}"`);
    // Host tables named like byokit's unprefixed ones: a migrate that forgot the prefix would collide with
    // them, or take the host's `migrations` (which already says version 1) for its own and skip its work.
    await backend.query(`CREATE TABLE "${schema}".users (id serial PRIMARY KEY, email text NOT NULL UNIQUE)`);
    await backend.query(`CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, name text)`);
    await backend.query(`CREATE TABLE "${schema}".provider_keys (id integer)`);
    await backend.query(`INSERT INTO "${schema}".users (email) VALUES ('ada@example.com')`);
    await backend.query(`INSERT INTO "${schema}".migrations VALUES (1, 'the host''s own')`);
    const hostColumns = () =>
      backend.query(
        `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
         WHERE table_schema = $1 AND table_name IN ('users', 'migrations', 'provider_keys') ORDER BY table_name, ordinal_position`,
        [schema],
      );
    const hostRows = async () => ({
      users: await backend.query(`SELECT * FROM "${schema}".users`),
      migrations: await backend.query(`SELECT * FROM "${schema}".migrations`),
      providerKeys: await backend.query(`SELECT * FROM "${schema}".provider_keys`),
    });
    const columnsBefore = await hostColumns();
    const rowsBefore = await hostRows();
    const relationsBefore = await relationsIn(backend, schema);

    expect(await backend.storage({ schema }).migrate()).toEqual({ applied: SHIPPED, version: LATEST_VERSION });

    const relationsAfter = await relationsIn(backend, schema);
    expect(relationsAfter).toEqual(expect.arrayContaining(relationsBefore));
    const added = relationsAfter.filter((name) => !relationsBefore.includes(name));
    expect(added.length).toBeGreaterThan(TABLES.length);
    expect(added.filter((name) => !name.startsWith('byokit_'))).toEqual([]);
    expect(await hostColumns()).toEqual(columnsBefore);
    expect(await hostRows()).toEqual(rowsBefore);
  });

  it('creates a custom schema when it is missing and names everything with a custom prefix', async () => {
    const schema = freshSchema();
    const prefix = `p${randomBytes(4).toString('hex')}_`;
    expect(await backend.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);

    const storage = backend.storage({ schema, tablePrefix: prefix });
    expect(await storage.migrate()).toEqual({ applied: SHIPPED, version: LATEST_VERSION });

    expect(await tablesIn(backend, schema)).toEqual(TABLES.map((table) => `${prefix}${table}`));
    expect((await relationsIn(backend, schema)).filter((name) => !name.startsWith(prefix))).toEqual([]);
    // Nothing of it landed anywhere else (the default schema included).
    const elsewhere = await backend.query(
      `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE starts_with(c.relname, $1) AND n.nspname <> $2`,
      [prefix, schema],
    );
    expect(elsewhere).toEqual([]);
    expect(await migrationRows(backend, schema, prefix)).toEqual(SHIPPED.map((name) => ({ version: Number(name.slice(0, 4)), name })));
    expect(await storage.listKeys({ type: 'user', id: 'alice' })).toEqual([]);
  });

  it('keeps two prefixes in one schema apart: each gets its own tables and migration history', async () => {
    const schema = freshSchema();
    expect((await backend.storage({ schema }).migrate()).applied).toEqual(SHIPPED);
    // The second prefix must not take the first one's migrations table as its own and skip its tables.
    expect((await backend.storage({ schema, tablePrefix: 'second_' }).migrate()).applied).toEqual(SHIPPED);
    expect(await tablesIn(backend, schema)).toEqual(
      [...TABLES.map((table) => `byokit_${table}`), ...TABLES.map((table) => `second_${table}`)].sort(),
    );
  });

  it('migrates with the longest schema name and table prefix it accepts', async () => {
    const schema = `test_${randomBytes(29).toString('hex')}`;
    expect(schema).toHaveLength(63); // PostgreSQL's identifier limit (NAMEDATALEN - 1)
    schemas.push(schema);
    const prefix = `p${'x'.repeat(29)}_`;
    expect(prefix).toHaveLength(31);
    expect((await backend.storage({ schema, tablePrefix: prefix }).migrate()).applied).toEqual(SHIPPED);
    // No name was cut short by PostgreSQL (it truncates silently past 63 bytes).
    expect(await tablesIn(backend, schema)).toEqual(TABLES.map((table) => `${prefix}${table}`));
  });

  it('applies each migration once when several nodes migrate at the same time', async () => {
    // On PGlite this is one connection whose transactions queue; on a server, see the two-pool test below.
    const schema = freshSchema();
    const results = await Promise.all([1, 2, 3].map(() => backend.storage({ schema }).migrate()));
    expect(results.flatMap((result) => result.applied)).toEqual(SHIPPED);
    expect(results.map((result) => result.version)).toEqual([LATEST_VERSION, LATEST_VERSION, LATEST_VERSION]);
    expect(await migrationRows(backend, schema)).toHaveLength(SHIPPED.length);
  });

  it('indexes the master key id column, so rotation progress is an index scan', async () => {
    const schema = freshSchema();
    await backend.storage({ schema }).migrate();
    const indexes = await backend.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [
      schema,
      'byokit_provider_keys',
    ]);
    // Leading an index of the keys in their owners' order (0009), which also serves key-owners' pages of one id.
    expect(indexes.map((index) => index.indexdef)).toContainEqual(
      expect.stringMatching(/\(master_key_id, owner_type, owner_id, provider\)$/),
    );
  });

  describe('the database itself refuses bad rows, whatever code writes them', () => {
    const schema = freshName();
    const table = (name: string) => `"${schema}"."byokit_${name}"`;

    beforeAll(async () => {
      await backend.storage({ schema }).migrate();
    });
    afterAll(async () => {
      await backend.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });

    async function insert(name: string, row: Record<string, unknown>): Promise<void> {
      const columns = Object.keys(row);
      await backend.query(
        `INSERT INTO ${table(name)} (${columns.join(', ')}) VALUES (${columns.map((_, index) => `$${index + 1}`).join(', ')})`,
        Object.values(row),
      );
    }

    /** A row each table accepts; every case below changes one thing in it. */
    const valid: Record<string, () => Record<string, unknown>> = {
      provider_keys: () => ({
        owner_type: 'user',
        owner_id: `user-${randomUUID()}`,
        provider: 'openai',
        envelope: new Uint8Array([1, 2, 3]),
        master_key_id: 'k1',
        hint: '…abcd',
        verification: 'unverified',
        created_at: new Date(),
        updated_at: new Date(),
      }),
      key_audit: () => ({
        id: randomUUID(),
        at: new Date(),
        actor_id: 'alice',
        owner_type: 'user',
        owner_id: 'alice',
        provider: 'openai',
        action: 'set',
        hint: '…abcd',
        request_id: 'request-1',
      }),
      usage_events: () => ({
        id: randomUUID(),
        created_at: new Date(),
        user_id: 'alice',
        model_id: randomUUID(),
        model: 'gpt-test',
        provider: 'openai',
        key_source: 'user',
        status: 'ok',
        cost_usd: '0.0125',
        latency_ms: 42,
        request_id: 'request-1',
      }),
      budgets: () => ({ user_id: `user-${randomUUID()}`, monthly_limit_usd: '10', applies_to: 'all', updated_at: new Date() }),
    };

    it.each(Object.keys(valid))('accepts a well-formed %s row (the baseline the refusals below change)', async (name) => {
      await expect(insert(name, valid[name]!())).resolves.toBeUndefined();
    });

    it('accepts a system key row owned by "system"', async () => {
      await expect(
        insert('provider_keys', { ...valid.provider_keys!(), owner_type: 'system', owner_id: 'system' }),
      ).resolves.toBeUndefined();
    });

    // 23514 check_violation; the constraint names are PostgreSQL's defaults for the migration's CHECKs.
    it.each([
      [
        'provider_keys',
        'an owner_type other than user/system',
        { owner_type: 'admin', owner_id: 'system' },
        'byokit_provider_keys_owner_type_check',
      ],
      ['provider_keys', 'an unknown provider', { provider: 'mistral' }, 'byokit_provider_keys_provider_check'],
      ['provider_keys', 'an unknown verification state', { verification: 'maybe' }, 'byokit_provider_keys_verification_check'],
      [
        'provider_keys',
        "a system key whose owner_id is not 'system'",
        { owner_type: 'system', owner_id: 'alice' },
        'byokit_provider_keys_check',
      ],
      // The hint column can never hold a key: every provider's keys are far longer than 16 characters.
      ['provider_keys', 'a hint of 17 characters', { hint: `…${'a'.repeat(16)}` }, 'byokit_provider_keys_hint_check'],
      ['key_audit', 'an action other than set/delete', { action: 'update' }, 'byokit_key_audit_action_check'],
      ['key_audit', 'a hint of 17 characters', { hint: `…${'a'.repeat(16)}` }, 'byokit_key_audit_hint_check'],
      ['usage_events', 'an unknown status', { status: 'done' }, 'byokit_usage_events_status_check'],
      ['usage_events', 'an unknown key_source', { key_source: 'environment' }, 'byokit_usage_events_key_source_check'],
      ['budgets', 'a negative monthly limit', { monthly_limit_usd: '-0.01' }, 'byokit_budgets_monthly_limit_usd_check'],
      ['budgets', 'an applies_to other than system/all', { applies_to: 'personal' }, 'byokit_budgets_applies_to_check'],
    ])('refuses a %s row with %s', async (name, _what, change, constraint) => {
      await expect(insert(name, { ...valid[name]!(), ...change })).rejects.toMatchObject({ code: '23514', constraint });
    });

    it('refuses a second key for the same owner and provider', async () => {
      const row = valid.provider_keys!();
      await insert('provider_keys', row);
      await expect(insert('provider_keys', { ...row, envelope: new Uint8Array([9]), master_key_id: 'k2' })).rejects.toMatchObject({
        code: '23505',
        constraint: 'byokit_provider_keys_pkey',
      });
      const rows = await backend.query(`SELECT master_key_id FROM ${table('provider_keys')} WHERE owner_id = $1`, [row.owner_id]);
      expect(rows).toEqual([{ master_key_id: 'k1' }]);
    });
  });
}

describe('migrations on PGlite', () => {
  let pglite: PGlite;
  describeMigrations(async () => {
    pglite = await PGlite.create();
    return {
      storage: (options = {}) => postgresStorage({ pglite, ...options }),
      query: async (text, params) => (await pglite.query<any>(text, params)).rows,
      close: () => pglite.close(),
    };
  });

  it('puts byokit_* tables in public on a brand-new database with default options', async () => {
    const storage = postgresStorage({ pglite });
    expect(await storage.migrate()).toEqual({ applied: SHIPPED, version: LATEST_VERSION });
    const rows = await pglite.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(rows.rows.map((row) => row.table_name)).toEqual(TABLES.map((table) => `byokit_${table}`));
    expect(await storage.migrate()).toEqual({ applied: [], version: LATEST_VERSION });
  });

  // Hosts that migrate with the tables' owner (`byokit migrate`) and run their nodes as a role with rights on the rows
  // only: a node's start after the upgrade has nothing to apply, and must not need the owner to add the ledger's column.
  it("starts a node whose role does not own the ledger of an earlier release, checking names only, and leaves the column to the owner's run", async () => {
    const owner = postgresStorage({ pglite });
    await owner.migrate();
    await pglite.exec(`
      ALTER TABLE byokit_migrations DROP COLUMN checksum;
      CREATE ROLE byokit_node;
      GRANT CREATE, USAGE ON SCHEMA public TO byokit_node;
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO byokit_node;
      SET ROLE byokit_node;
    `);
    expect(await postgresStorage({ pglite }).migrate()).toEqual({ applied: [], version: LATEST_VERSION });
    await pglite.exec(`UPDATE byokit_migrations SET name = '0007_something_else' WHERE version = 7`);
    await expect(postgresStorage({ pglite }).migrate()).rejects.toThrow(/^Migration 0007_\w+ is not what the schema/);
    await pglite.exec(`UPDATE byokit_migrations SET name = '${SHIPPED[6]}' WHERE version = 7; RESET ROLE;`);
    expect(await owner.migrate()).toEqual({ applied: [], version: LATEST_VERSION });
    const recorded = await pglite.query<{ checksum: string | null }>('SELECT checksum FROM byokit_migrations');
    expect(recorded.rows.map((row) => row.checksum)).toEqual(SHIPPED.map(() => expect.stringMatching(/^[0-9a-f]{64}$/)));
  });
});

const databaseUrl = process.env.DATABASE_URL;
describe.runIf(databaseUrl)('migrations on a real PostgreSQL server', () => {
  let pool: pg.Pool;
  describeMigrations(async () => {
    pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    return {
      storage: (options = {}) => postgresStorage({ pool, ...options }),
      query: async (text, params) => (await pool.query(text, params)).rows,
      close: () => pool.end(),
    };
  });

  it('applies each migration exactly once when two nodes with pools of their own migrate a fresh schema at once', async () => {
    // Two pools stand for two processes: nothing in node-postgres serialises their transactions, only the
    // advisory lock in the database does. Several rounds, as a race does not lose every time.
    const nodes = [new pg.Pool({ connectionString: databaseUrl, max: 2 }), new pg.Pool({ connectionString: databaseUrl, max: 2 })];
    const schemas: string[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const schema = freshName();
        schemas.push(schema);
        const runs = [0, 1, 0, 1].map((node) => postgresStorage({ pool: nodes[node]!, schema }).migrate());
        const results = await Promise.all(runs);
        expect(results.flatMap((result) => result.applied)).toEqual(SHIPPED);
        expect(new Set(results.map((result) => result.version))).toEqual(new Set([LATEST_VERSION]));
        const rows = await pool.query(
          `SELECT version, count(*)::int AS times FROM "${schema}".byokit_migrations GROUP BY version ORDER BY version`,
        );
        expect(rows.rows).toEqual(SHIPPED.map((name) => ({ version: Number(name.slice(0, 4)), times: 1 })));
      }
    } finally {
      for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(nodes.map((node) => node.end()));
    }
  });
});

describe.runIf(databaseUrl)("migrations on byokit's own pool, whose statements have a timeout", () => {
  it('wait for another node migrating and run however long they take, past the statement timeout', async () => {
    const schema = freshName();
    const admin = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const storage = postgresStorage({ connectionString: databaseUrl!, schema, statementTimeoutMs: 200 });
    try {
      // Another node holds the migration lock for longer than a statement may run, as a long migration would.
      const other = await admin.connect();
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`byokit:migrate:${schema}.byokit_`]);
      const migrating = storage.migrate();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await other.query('COMMIT');
      other.release();
      expect(await migrating).toEqual({ applied: SHIPPED, version: LATEST_VERSION });
    } finally {
      await storage.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
});

describe('the migrations this package ships', () => {
  const textOf = (name: string) => readFileSync(new URL(`../migrations/${name}.sql`, import.meta.url), 'utf8');

  it('are numbered 1, 2, 3, … one file each: a second file of one version would be skipped wherever the first was applied', () => {
    expect(SHIPPED.map((name) => Number(name.slice(0, 4)))).toEqual(SHIPPED.map((_, index) => index + 1));
  });

  // A deployment that applied a migration refuses a release whose file of it differs (migrate's ledger check): a
  // released migration is never edited. Change what a schema holds with a new migration, and add its checksum here.
  it('are each the SQL released under its version', () => {
    expect(Object.fromEntries(SHIPPED.map((name) => [name, migrationChecksum(textOf(name))]))).toEqual({
      '0001_initial': '52408788ea5006d641abc6364358e834e26da65962dd5e539f796fd6d10e7f56',
      '0002_model_prices_and_parameters': '707f2185d35c6e5f72097cf4858d0d55a7a64413ae7410cabbc212f98fe4994b',
      '0003_monthly_spend': '16478b6f74a1c91232a382696b437c71c776f76f1ce3cd182883c449feafeb34',
      '0004_hold_budget_function': '221dc479cccac988bd8279cff78141f1dced41a18358133a821bde4f3ea35365',
      '0005_usage_cache_writes': '37062bb6b83df53374ec7857a223d76511325f96fcc9cea4366b670b4537de0d',
      '0006_hold_counts_until_it_ends': '032a0ae1d83d59d4be412ebdc8f083ea11646956da3b226954b06afa22aa199c',
      '0007_expired_holds_of_every_user': '0657cb8ef716a09b9f46e4ba35f028c96021932c5c5de126e5a43324747dabce',
      '0008_usage_time_of_every_user': 'b9b966e114037e95d075bb557aeaed237691beaed8f28f51f25da76af2e8e12d',
      '0009_key_owners_by_master_key': '3b6bbbdf3be5c3f24cc6c37018ad069334d161eaec7fda1e0ae033175a5701cb',
      '0010_key_audit_by_time': '2bc846949e6c8366637f0a3e18e95b3a423034091def8374f6ea5a9210ed41a8',
    });
  });

  it('keep their checksum through an edited comment, other spacing and CRLF line ends, and not through a changed statement', () => {
    const text = textOf('0005_usage_cache_writes');
    const checksum = migrationChecksum(text);
    expect(migrationChecksum(text.replace('-- Prompt tokens', '-- The prompt tokens'))).toBe(checksum);
    expect(migrationChecksum(text.replaceAll('\n', '\r\n').replace('ADD COLUMN', 'ADD   COLUMN'))).toBe(checksum);
    expect(migrationChecksum(text.replace('integer', 'bigint'))).not.toBe(checksum);
  });
});

describe('schema and prefix names', () => {
  // Names go into SQL text unescaped (see sql-names.ts): anything but a plain lower-case identifier that
  // fits PostgreSQL's 63-byte limit must be refused when the storage is made, before a query is sent.
  const badSchemas = ['Public', 'byokit"; DROP TABLE users; --', 'a"b', 'a;b', 'a b', 'a-b', '1abc', 'é', '', `s${'x'.repeat(63)}`];
  const badPrefixes = ['Byokit_', 'a"', 'x;', 'a b', 'a-b', '9_', `p${'x'.repeat(31)}`];

  /** A pool and a PGlite stand-in that record every query they are asked to run. */
  function recordingDatabases() {
    const sent: unknown[] = [];
    const record = async (...args: unknown[]) => {
      sent.push(args);
      return { rows: [] };
    };
    const pool = { query: record, connect: record, on: record, end: record } as unknown as pg.Pool;
    const pglite = { query: record, exec: record, transaction: record, close: record } as unknown as PGlite;
    return { sent, pool, pglite };
  }

  it.each(badSchemas)('refuses the schema %j before running any SQL', (schema) => {
    const { sent, pool, pglite } = recordingDatabases();
    expect(() => postgresStorage({ pool, schema })).toThrow(TypeError);
    expect(() => postgresStorage({ pglite, schema })).toThrow(/schema must match/);
    expect(() => postgresStorage({ connectionString: 'postgres://nobody@127.0.0.1:1/none', schema })).toThrow(TypeError);
    expect(sent).toEqual([]);
  });

  it.each([Number.NaN, 0, -1, 2.5, Number.POSITIVE_INFINITY])('refuses a pool size of %s before opening any connection', (poolSize) => {
    expect(() => postgresStorage({ connectionString: 'postgres://nobody@127.0.0.1:1/none', poolSize })).toThrow(
      new TypeError(`poolSize must be a whole number from 1 up, got ${poolSize}`),
    );
  });

  it.each([Number.NaN, 0, -1, 2.5, Number.POSITIVE_INFINITY])(
    'refuses a statement timeout of %s before opening any connection',
    (statementTimeoutMs) => {
      expect(() => postgresStorage({ connectionString: 'postgres://nobody@127.0.0.1:1/none', statementTimeoutMs })).toThrow(
        /^statementTimeoutMs must be a whole number from 1 to \d+, got /,
      );
    },
  );

  it('says a pool size or statement timeout read from the environment as text is text, rather than "got 5" for "5"', () => {
    const connectionString = 'postgres://nobody@127.0.0.1:1/none';
    expect(() => postgresStorage({ connectionString, poolSize: '5' as unknown as number })).toThrow(
      new TypeError('poolSize must be a whole number from 1 up, got a string'),
    );
    expect(() => postgresStorage({ connectionString, statementTimeoutMs: '5000' as unknown as number })).toThrow(
      /^statementTimeoutMs must be a whole number from 1 to \d+, got a string$/,
    );
  });

  it.each(['host=db.internal user=app password=hunter2-secret dbname=app', 'db.internal:5432/app', '', undefined])(
    'refuses the connection string %j (node-postgres reads text that is no URL as a path on a host named "base", and none as localhost), without echoing it',
    (connectionString) => {
      const error = (() => {
        try {
          postgresStorage({ connectionString: connectionString as string });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/^connectionString must be a postgres:\/\/ URL/);
      expect((error as Error).message).not.toContain('hunter2');
    },
  );

  // Before, such a URL was taken, and the first query failed with node-postgres's bare 'Invalid URL', naming no setting.
  it.each(['postgres://app:pa#ss-secret@db/app', 'postgres://app:pa/ss-secret@db/app', 'postgres://app:pa?ss-secret@db/app'])(
    'refuses the connection string %j, whose password holds a character a URL reserves, saying to percent-encode it, without echoing it',
    (connectionString) => {
      const error = (() => {
        try {
          postgresStorage({ connectionString });
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/^connectionString is not a URL node-postgres can read: percent-encode/);
      expect((error as Error).message).not.toContain('ss-secret');
    },
  );

  it.each([
    'postgres://app:pw@db/app',
    'postgresql://db/app?sslmode=require',
    'socket:/var/run/postgresql?db=app',
    '/var/run/postgresql app',
    // node-postgres reads these: the last @ ends the password, a space or a stray % is encoded for it.
    'postgres://app:p@ss@db/app',
    'postgres://app:pa ss%zz@db/app',
    'postgres://app:pw@/app',
  ])('accepts the connection string %j without connecting', (connectionString) => {
    expect(() => postgresStorage({ connectionString })).not.toThrow();
  });

  it.each(badPrefixes)('refuses the table prefix %j before running any SQL', (tablePrefix) => {
    const { sent, pool, pglite } = recordingDatabases();
    expect(() => postgresStorage({ pool, tablePrefix })).toThrow(TypeError);
    expect(() => postgresStorage({ pglite, tablePrefix })).toThrow(/tablePrefix must match/);
    expect(sent).toEqual([]);
  });
});
