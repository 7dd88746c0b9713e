import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByokit, Keyring, keyringFromEnv, type AuditRecord, type KeyRowCursor, type Provider, type Storage } from '@byokit/core';
import { fakeProviderKey, findKeyLeaks } from '@byokit/core/testing';
import { embeddedPostgresStorage, postgresStorage, type PostgresStorage } from './index.js';
import { migrate } from './migrate.js';
import { sqlNames } from './sql-names.js';

// The built command, as npm installs it (turbo builds before tests; by hand: npx tsup).
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const ROWS = 300;

/** Every secret the tests handed out; each run's output is checked against all of them. */
const secrets: string[] = [];

function masterKey(id: string): string {
  const encoded = randomBytes(32).toString('base64url');
  secrets.push(encoded);
  return `${id}:${encoded}`;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of the shell running the tests, without anything that would pick a database or keyring. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL' && !name.startsWith('BYOKIT_')));
}

/**
 * Runs `node dist/cli.js ...args`; `onStdout` sees the output as it comes (to send a signal mid-run). Fails the
 * test if the output holds any key handed out, or a piece of one.
 */
function byokit(
  args: string[],
  environment: Record<string, string> = {},
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnvironment(), ...environment } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  }).then((run) => {
    expect(
      findKeyLeaks(secrets, [
        ['stdout', run.stdout],
        ['stderr', run.stderr],
      ]),
    ).toEqual([]);
    return run;
  });
}

/** A line of the key-ids table: `  <id>  <rows>  <state>`, numbers right-aligned. */
/**
 * Runs `node dist/cli.js ...args` with its stdout's reader gone before the first line is written (`| head`): every
 * write meets a closed pipe. Its exit code and stderr.
 */
async function readerGone(args: string[], environment: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...cleanEnvironment(), ...environment } });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const code = await new Promise((resolve) => child.on('close', resolve));
  return { code, stderr };
}

/** `--json` output: one JSON value a line. */
function jsonLines(stdout: string): unknown[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((text) => JSON.parse(text));
}

function countLine(id: string, rows: number, state?: string): RegExp {
  return new RegExp(`^ {2}${id} +${rows}${state === undefined ? '' : ` {2}${state}`}$`, 'm');
}

/** A key a test saved: whose, as key-owners names its owner, and under which master key id, when. */
interface SavedKey {
  owner: string;
  ownerType: 'user' | 'system';
  provider: Provider;
  key: string;
  masterKeyId: string;
  updatedAt: string;
}

/** A fresh database: the arguments that select it, and the library's storage on it, in-process. */
interface TestDatabase {
  args: string[];
  openStorage(): Promise<Storage>;
  destroy(): Promise<void>;
}

interface Target {
  name: string;
  /** A fresh database, empty or with byokit's schema already applied. */
  create(state: 'empty' | 'migrated'): Promise<TestDatabase>;
  /** Work done once, before the tests. */
  setUp?(): Promise<void>;
  tearDown?(): Promise<void>;
  /** Text the output must never hold (the database password). */
  forbidden: string[];
}

// Creating and migrating a PGlite folder takes seconds (several times that on a busy host), so it is done once
// and each migrated database is a copy of that folder. The migrate test alone starts from an empty one.
let pgliteTemplate: string | undefined;
const pglite: Target = {
  name: 'embedded PGlite folder',
  forbidden: [],
  setUp: async () => {
    pgliteTemplate = mkdtempSync(join(tmpdir(), 'byokit-cli-template-'));
    await (await embeddedPostgresStorage({ dataDir: join(pgliteTemplate, 'pgdata') })).close();
  },
  tearDown: async () => {
    if (pgliteTemplate !== undefined) rmSync(pgliteTemplate, { recursive: true, force: true });
  },
  create: async (state) => {
    const directory = mkdtempSync(join(tmpdir(), 'byokit-cli-'));
    // Where the example server keeps it, and where the command looks.
    const dataDir = join(directory, 'pgdata');
    if (state === 'migrated') cpSync(join(pgliteTemplate!, 'pgdata'), dataDir, { recursive: true });
    return {
      args: ['--data-dir', directory],
      openStorage: () => embeddedPostgresStorage({ dataDir }),
      destroy: async () => rmSync(directory, { recursive: true, force: true }),
    };
  },
};

const databaseUrl = process.env.DATABASE_URL;
const server: Target | undefined =
  databaseUrl === undefined
    ? undefined
    : {
        name: 'PostgreSQL server',
        forbidden: [new URL(databaseUrl).password].filter((password) => password !== ''),
        // A schema of its own per database, dropped afterwards, so runs never see each other's rows.
        create: async (state) => {
          const schema = `cli_${randomBytes(6).toString('hex')}`;
          if (state === 'migrated') {
            const storage = postgresStorage({ connectionString: databaseUrl, schema });
            await storage.migrate().finally(() => storage.close());
          }
          return {
            args: ['--database-url', databaseUrl, '--schema', schema],
            openStorage: async () => {
              const storage = postgresStorage({ connectionString: databaseUrl, schema });
              await storage.migrate();
              return storage;
            },
            destroy: async () => {
              const pool = new pg.Pool({ connectionString: databaseUrl });
              await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
              await pool.end();
            },
          };
        },
      };

/** Stores `count` users' OpenAI keys through byokit itself, sealed with `keyring`, then lets the database go. */
async function storeKeys(storage: Storage, keyring: string, count = ROWS): Promise<void> {
  const [id, encoded] = keyring.split(':') as [string, string];
  const byokitInProcess = await createByokit({
    storage,
    keyring: Keyring.from([{ id, key: Buffer.from(encoded, 'base64url') }]),
    environment: {},
  });
  try {
    for (let index = 0; index < count; index++) {
      const key = fakeProviderKey('openai');
      secrets.push(key);
      const response = await byokitInProcess.handle({
        method: 'PATCH',
        url: '/users/me/api-key',
        headers: { 'content-type': 'application/json' },
        body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify({ openai_api_key: key }))] },
        authenticate: () => ({ userId: `u${index}`, isAdmin: false }),
      });
      expect(response?.status).toBe(200);
    }
  } finally {
    // PGlite allows one process per folder: close before the command opens it.
    await byokitInProcess.close();
  }
}

describe.each([pglite, ...(server ? [server] : [])])('byokit on a $name', (target) => {
  const databases: TestDatabase[] = [];
  async function freshDatabase(state: 'empty' | 'migrated'): Promise<TestDatabase> {
    const database = await target.create(state);
    databases.push(database);
    return database;
  }
  beforeAll(async () => target.setUp?.());
  afterAll(async () => {
    for (const database of databases) await database.destroy();
    await target.tearDown?.();
  });

  function expectNothingForbidden(run: Run): void {
    for (const text of target.forbidden) expect(run.stdout + run.stderr).not.toContain(text);
  }

  it('migrate applies the schema, and says it is current the second time', async () => {
    const { args } = await freshDatabase('empty');
    const first = await byokit(['migrate', ...args]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    // Every migration the package ships, in order, and the version of the last one.
    const shipped = readdirSync(new URL('../migrations/', import.meta.url))
      .filter((file) => file.endsWith('.sql'))
      .sort();
    const version = Number(shipped.at(-1)!.slice(0, 4));
    expect(first.stdout).toContain(`Applied ${shipped.map((file) => file.replace(/\.sql$/, '')).join(', ')} `);
    expect(first.stdout).toContain(`version ${version}.`);
    expectNothingForbidden(first);

    const second = await byokit(['migrate', ...args]);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toContain(`is current (version ${version})`);
  });

  /** Runs `sql` on the database in-process, then lets it go (PGlite allows one process per folder). */
  async function runSql(database: TestDatabase, ...statements: string[]): Promise<void> {
    const storage = (await database.openStorage()) as PostgresStorage;
    try {
      for (const sql of statements) await storage.database.query(sql);
    } finally {
      await storage.close();
    }
  }
  const schemaOf = (args: string[]) => (args.includes('--schema') ? args[args.indexOf('--schema') + 1]! : 'public');

  it('migrate exits 1 on a schema a later release migrated, saying so each time it is run', async () => {
    const database = await freshDatabase('migrated');
    const schema = schemaOf(database.args);
    await runSql(database, `INSERT INTO "${schema}".byokit_migrations (version, name) VALUES (9999, '9999_from_the_future')`);
    const latest = Number(
      readdirSync(new URL('../migrations/', import.meta.url))
        .sort()
        .at(-1)!
        .slice(0, 4),
    );

    for (let run = 0; run < 2; run++) {
      expect(await byokit(['migrate', ...database.args])).toEqual({
        code: 1,
        stdout: '',
        stderr: `byokit: The schema ${schema}.byokit_* is at version 9999, newer than this byokit knows (version ${latest}): a later release migrated it. Run that release (or newer) here; a schema is never downgraded.\n`,
      });
    }
  });

  it('migrate exits 1 when a migration fails, naming it and its database error once, and applies nothing of the run', async () => {
    const database = await freshDatabase('migrated');
    const schema = schemaOf(database.args);
    // The schema as release 4 left it, but for a column 0005 adds (a stand-in for any statement failing): 0005's
    // first statement runs, its second fails.
    await runSql(
      database,
      `DELETE FROM "${schema}".byokit_migrations WHERE version >= 5`,
      `ALTER TABLE "${schema}".byokit_usage_events DROP COLUMN cache_write_tokens`,
    );
    const failure =
      `byokit: Migration 0005_usage_cache_writes failed and nothing of this run was applied (the schema ${schema}.byokit_* is still at version 4): ` +
      'column "cache_write_per_mtok_usd" of relation "byokit_usage_events" already exists\n';
    // The second run fails the same way: the first left the schema at version 4, its 0005 undone.
    for (let run = 0; run < 2; run++) {
      const result = await byokit(['migrate', ...database.args]);
      expect(result).toEqual({ code: 1, stdout: '', stderr: failure });
      expectNothingForbidden(result);
    }
  });

  it('key-ids on an empty database says there are no stored keys, with or without a keyring', async () => {
    const { args } = await freshDatabase('migrated');

    const withoutKeyring = await byokit(['key-ids', ...args]);
    expect(withoutKeyring).toMatchObject({ code: 0, stderr: '' });
    expect(withoutKeyring.stdout).toContain('(no stored keys)');
    expect(withoutKeyring.stdout).toContain('No keyring given');
    expectNothingForbidden(withoutKeyring);

    const withKeyring = await byokit(['key-ids', ...args], { BYOKIT_KEYRING: masterKey('k1') });
    expect(withKeyring).toMatchObject({ code: 0, stderr: '' });
    expect(withKeyring.stdout).toMatch(countLine('k1', 0, 'primary'));
  });

  it("refuses to run when the keyring's key for 'old' is not the one that sealed its rows, saying to put it back, and changes nothing", async () => {
    const database = await freshDatabase('migrated');
    await storeKeys(await database.openStorage(), masterKey('old'), 3);
    // The right id with the wrong bytes: the start-up check tries the rows, and none opens.
    const run = await byokit(['rotate-keys', ...database.args], { BYOKIT_KEYRING: `${masterKey('new')},${masterKey('old')}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "byokit: The keyring's master key 'old' is not the key that sealed the stored keys under 'old': none of the 3 tried opens with it",
    );
    expect(run.stderr).toContain("Put back the key 'old' had when they were sealed");
    expect(run.stdout).not.toContain('Finished');
    const ids = await byokit(['key-ids', ...database.args]);
    expect(ids.stdout).toMatch(countLine('old', 3));
    expectNothingForbidden(run);
  });

  it('exits 1 when the only stored key under an id does not open, naming its owner, and leaves it as it was', async () => {
    const database = await freshDatabase('migrated');
    await storeKeys(await database.openStorage(), masterKey('old'), 1);
    // The right id with the wrong bytes, but one row is no proof of a wrong key: it starts, and that row fails.
    const run = await byokit(['rotate-keys', ...database.args], { BYOKIT_KEYRING: `${masterKey('new')},${masterKey('old')}` });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Finished: resealed 0 / skipped 0 / failed 1 / scanned 1.');
    expect(run.stdout).toMatch(countLine('old', 1));
    expect(run.stderr).toContain('"ownerId":"u0"');
    expect(run.stderr).toContain('byokit: 1 stored key(s) could not be opened');
    // None opened: the likeliest cause is the keyring, and the output says which key to check.
    expect(run.stderr).toContain("None opened: check that the keyring's key for 'old' is the one that sealed them");
    expect(run.stderr).toContain("'old' cannot be retired while any is left");
  });

  // As a terminal shows them, stdout and stderr on one pipe (2>&1): the advice says "see above" of the summary.
  it('prints the advice on keys that did not open after the summary it points to, as a terminal shows both', async () => {
    const database = await freshDatabase('migrated');
    await storeKeys(await database.openStorage(), masterKey('old'), 1);
    const child = spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', process.execPath, CLI, 'rotate-keys', ...database.args], {
      env: { ...cleanEnvironment(), BYOKIT_KEYRING: `${masterKey('new')},${masterKey('old')}` },
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(1);
    const lines = output.trimEnd().split('\n');
    expect(lines.findIndex((line) => line.startsWith('byokit: 1 stored key(s) could not be opened (see above)'))).toBeGreaterThan(
      lines.indexOf('  old  1'),
    );
    expect(lines.at(-1)).toMatch(/^byokit: A key that alone does not open is lost/);
  });

  it('says what to do about a single stored key that does not open, which keeps its old master key id from being retired', async () => {
    const database = await freshDatabase('migrated');
    const oldKey = masterKey('old');
    await storeKeys(await database.openStorage(), oldKey, 3);
    // One row altered in storage: the last byte of its ciphertext flipped.
    const storage = await database.openStorage();
    try {
      const row = (await storage.getKey({ type: 'user', id: 'u1' }, 'openai'))!;
      const altered = row.envelope.slice();
      altered[altered.length - 1]! ^= 0x01;
      expect(
        await storage.replaceKeyEnvelope({ type: 'user', id: 'u1' }, 'openai', row.envelope, { envelope: altered, keyId: 'old' }),
      ).toBe(true);
    } finally {
      await storage.close?.();
    }
    const run = await byokit(['rotate-keys', ...database.args], { BYOKIT_KEYRING: `${masterKey('new')},${oldKey}` });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Finished: resealed 2 / skipped 0 / failed 1 / scanned 3.');
    expect(run.stderr).toContain('"ownerId":"u1"');
    expect(run.stderr).toContain(
      "byokit: 1 stored key(s) could not be opened (see above); they stay sealed as they were, and 'old' cannot be retired while any is left.",
    );
    expect(run.stderr).toContain('A key that alone does not open is lost');
    expect(run.stderr).toContain('DELETE /users/me/api-key');
    expect(run.stderr).not.toContain('None opened');
    expectNothingForbidden(run);
  });

  // The list an operator needs after a master key leak (docs/security.md, "When something goes wrong").
  describe("key-owners on keys sealed under 'old' and 'new'", () => {
    const oldKey = masterKey('old');
    const newKey = masterKey('new');
    let args: string[];
    let database: TestDatabase;
    /** Each stored key as key-owners should list it, in its order: system first, then users by id, then provider. */
    const stored: SavedKey[] = [];
    /** What saveKeys takes for the system key's owner: no user id (`system` is a user id like any other). */
    const SYSTEM = '';
    const header = 'owner\tprovider\thint\tmaster_key_id\tupdated_at';
    const line = (row: SavedKey) => `${row.owner}\t${row.provider}\t…${row.key.slice(-4)}\t${row.masterKeyId}\t${row.updatedAt}`;

    beforeAll(async () => {
      database = await freshDatabase('migrated');
      args = database.args;
      // u1 has two keys, so that a page can end between them.
      stored.push(
        ...(await saveKeys(database, oldKey, [
          ['u2', 'openai'],
          ['u1', 'anthropic'],
          [SYSTEM, 'google'],
          ['u1', 'openai'],
        ])),
        ...(await saveKeys(database, `${newKey},${oldKey}`, [
          ['u3', 'google'],
          ['u0', 'openai'],
        ])),
      );
      const order = (row: SavedKey) => [row.ownerType, row.owner, row.provider].join('\0');
      stored.sort((a, b) => (order(a) < order(b) ? -1 : 1));
    });

    /**
     * Saves a fake key for each [owner, provider] through byokit itself (the system key as an admin), sealed under the
     * keyring's primary; returns them with the update time the database holds.
     */
    async function saveKeys(target: TestDatabase, keyring: string, saves: Array<[owner: string, provider: Provider]>): Promise<SavedKey[]> {
      const storage = await target.openStorage();
      const byokitInProcess = await createByokit({ storage, keyring: keyringFromEnv({ BYOKIT_KEYRING: keyring }), environment: {} });
      const saved: SavedKey[] = [];
      try {
        for (const [owner, provider] of saves) {
          const key = fakeProviderKey(provider);
          secrets.push(key);
          const system = owner === SYSTEM;
          const response = await byokitInProcess.handle({
            method: 'PATCH',
            url: system ? '/admin/api-key' : '/users/me/api-key',
            headers: { 'content-type': 'application/json' },
            body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify({ [`${provider}_api_key`]: key }))] },
            authenticate: () => ({ userId: system ? 'admin' : owner, isAdmin: system }),
          });
          expect(response?.status).toBe(200);
          const row = await storage.getKey(system ? { type: 'system', id: 'system' } : { type: 'user', id: owner }, provider);
          saved.push({
            owner: system ? 'system' : owner,
            ownerType: system ? 'system' : 'user',
            provider,
            key,
            masterKeyId: keyring.split(':')[0]!,
            updatedAt: row!.updatedAt.toISOString(),
          });
        }
      } finally {
        await byokitInProcess.close();
      }
      return saved;
    }

    /** Fails if the output holds the first 24 characters of a stored key (findKeyLeaks, run on every run, looks for any 8). */
    function expectNoKeyStart(run: Run): void {
      for (const { key } of stored) expect(run.stdout + run.stderr).not.toContain(key.slice(0, 24));
    }

    it('lists every stored key, the system keys first, then users by id and provider, with its hint, master key id and update time', async () => {
      const expected = [header, ...stored.map(line)].join('\n') + '\n';
      // Pages of 1 and of 3 (one ends between u1's two keys, the last is empty) list the same as one page of the default 500.
      for (const pageSize of [[], ['--batch-size', '1'], ['--batch-size', '3']]) {
        const run = await byokit(['key-owners', ...pageSize, ...args]);
        expect(run).toEqual({ code: 0, stdout: expected, stderr: '' });
        expectNoKeyStart(run);
        expectNothingForbidden(run);
      }
    });

    it("--master-key-id old lists only the keys 'old' seals, over several pages", async () => {
      const run = await byokit(['key-owners', '--master-key-id', 'old', '--batch-size', '1', ...args]);
      const expected = [header, ...stored.filter((row) => row.masterKeyId === 'old').map(line)];
      expect(expected).toHaveLength(5);
      expect(run).toEqual({ code: 0, stdout: expected.join('\n') + '\n', stderr: '' });
      expectNoKeyStart(run);
    });

    it('--master-key-id of an id that seals nothing prints the header and says so, naming the database, and exits 0', async () => {
      const run = await byokit(['key-owners', '--master-key-id', 'gone', ...args]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      // The database named, as the other commands name it: an empty list from the wrong schema or folder must not pass
      // for "nobody to tell".
      const database = args.includes('--schema') ? `(schema ${schemaOf(args)})` : `the embedded database in ${join(args[1]!, 'pgdata')}`;
      const lines = run.stdout.split('\n');
      expect(lines).toHaveLength(3);
      expect(lines.slice(0, 2).join('\n')).toMatch(new RegExp(`^${header}\n\\(no stored key is sealed under 'gone' in .+\\)$`));
      expect(lines[1]!.endsWith(`${database})`)).toBe(true);
    });

    // After a leak, whose keys does the leaked master key seal? Given the key itself rather than its id, the list was
    // empty and said so: "no stored key is sealed under '<the master key>'", on stdout, past errorMessage's redaction.
    it('--master-key-id given a master key itself, not its id, exits 2 without printing it', async () => {
      const run = await byokit(['key-owners', '--master-key-id', oldKey.slice('old:'.length), ...args]);
      expect(run).toMatchObject({
        code: 2,
        stdout: '',
        stderr: expect.stringMatching(/^byokit: --master-key-id must name a master key id/),
      });
    });

    it('--json prints one JSON object a line, as key-audit does, for scripts; nothing when none matches', async () => {
      const run = await byokit(['key-owners', '--json', '--batch-size', '2', ...args]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout.endsWith('\n')).toBe(true);
      expect(jsonLines(run.stdout)).toEqual(
        stored.map((row) => ({
          owner_type: row.ownerType,
          owner: row.owner,
          provider: row.provider,
          hint: `…${row.key.slice(-4)}`,
          master_key_id: row.masterKeyId,
          updated_at: row.updatedAt,
        })),
      );
      expectNoKeyStart(run);
      const none = await byokit(['key-owners', '--json', '--master-key-id', 'gone', ...args]);
      expect(none).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('quotes, as a JSON string, an owner id a line or a terminal could misread: a user named system, a space, a control character', async () => {
      const odd = await freshDatabase('migrated');
      const ids = ['plain', 'system', 'with space', 'two\nlines', '\u001b[31mred', 'csi\u009b2J', 'bidi\u202eevil', 'quote"d'];
      const rows = await saveKeys(odd, oldKey, [[SYSTEM, 'openai'], ...ids.map((id): [string, Provider] => [id, 'openai'])]);
      const run = await byokit(['key-owners', ...odd.args]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const printed = [
        'system',
        'plain',
        '"system"',
        '"with space"',
        '"two\\nlines"',
        '"\\u001b[31mred"',
        '"csi\\u009b2J"',
        '"bidi\\u202eevil"',
        '"quote\\"d"',
      ];
      // Sorted here: the database's collation orders these ids (PGlite and a server may differ); the order is tested above.
      expect(run.stdout.split('\n').slice(1, -1).sort()).toEqual(rows.map((row, index) => line({ ...row, owner: printed[index]! })).sort());
      // Each printed id is its JSON string, so a script reads it back exactly.
      expect(printed.slice(2).map((text) => JSON.parse(text))).toEqual(ids.slice(1));
    });

    it('prints nothing but the failure on tables that are not there (another --table-prefix), and exits 1', async () => {
      const run = await byokit(['key-owners', '--table-prefix', 'other_', ...args]);
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr).toMatch(/^byokit: relation "\S+other_provider_keys" does not exist: run byokit migrate first\n$/);
    });

    it('stops without a word when its reader goes away (key-owners | head), exiting 141 as a process SIGPIPE ended', async () => {
      expect(await readerGone(['key-owners', '--batch-size', '1', ...args])).toEqual({ code: 141, stderr: '' });
    });

    it('listKeyOwners pages through the rows: at most `limit` a page, each page after the cursor, none twice, no key bytes', async () => {
      const storage = (await database.openStorage()) as PostgresStorage;
      try {
        const pages: Array<Awaited<ReturnType<PostgresStorage['listKeyOwners']>>> = [];
        let after: KeyRowCursor | undefined;
        for (;;) {
          const page = await storage.listKeyOwners({ limit: 4, after });
          pages.push(page);
          if (page.length < 4) break;
          const last = page.at(-1)!;
          after = { ownerType: last.owner.type, ownerId: last.owner.id, provider: last.provider };
        }
        expect(pages.map((page) => page.length)).toEqual([4, 2]);
        expect(pages.flat().map((row) => `${row.owner.type}:${row.owner.id}:${row.provider}:${row.keyId}`)).toEqual(
          stored.map((row) => `${row.ownerType}:${row.ownerType === 'system' ? 'system' : row.owner}:${row.provider}:${row.masterKeyId}`),
        );
        for (const row of pages.flat()) expect(Object.keys(row).sort()).toEqual(['hint', 'keyId', 'owner', 'provider', 'updatedAt']);
      } finally {
        await storage.close();
      }
    });
  });

  // Who changed whose key, and when: the runbook's trail after a master key leak or a restored backup
  // (docs/security.md, "When something goes wrong"), read without SQL.
  describe('key-audit on a trail of key changes', () => {
    const keyring = masterKey('k1');
    let args: string[];
    let database: TestDatabase;
    /** Each change as key-audit should print it, newest first. */
    const trail: AuditLine[] = [];
    const header = 'at\taction\towner\tprovider\thint\tactor\trequest_id';
    const line = (row: AuditLine) => [row.at, row.action, row.owner, row.provider, row.hint, row.actor, row.requestId].join('\t');
    /** The day the clock moves to before the last three changes: `--since` that day lists those three only. */
    const LATER = '2026-12-05';

    interface AuditLine {
      at: string;
      action: 'set' | 'delete';
      /** As printed: `system`, or the user id (a user named system quoted, as key-owners does). */
      owner: string;
      ownerType: 'user' | 'system';
      ownerId: string;
      provider: Provider;
      hint: string;
      actor: string;
      requestId: string;
    }

    beforeAll(async () => {
      database = await freshDatabase('migrated');
      args = database.args;
      const storage = await database.openStorage();
      let clock = new Date('2026-12-01T09:00:00.000Z');
      const byokitInProcess = await createByokit({
        storage,
        keyring: keyringFromEnv({ BYOKIT_KEYRING: keyring }),
        environment: {},
        now: () => clock,
      });
      // [user id, or '' for the system keys, provider, set or remove]; a user literally named `system` among them.
      const changes: Array<[owner: string, provider: Provider, action: 'set' | 'delete']> = [
        ['u1', 'openai', 'set'],
        ['', 'anthropic', 'set'],
        ['system', 'google', 'set'],
        ['u2', 'openai', 'set'],
        ['u1', 'openai', 'delete'],
        ['u1', 'anthropic', 'set'],
        ['', 'anthropic', 'delete'],
      ];
      try {
        const hints = new Map<string, string>();
        for (const [index, [owner, provider, action]] of changes.entries()) {
          if (index === changes.length - 3) clock = new Date(`${LATER}T08:00:00.000Z`);
          clock = new Date(clock.getTime() + 60_000);
          const system = owner === '';
          let key: string | null = null;
          if (action === 'set') {
            key = fakeProviderKey(provider);
            secrets.push(key);
            hints.set(`${owner}/${provider}`, `…${key.slice(-4)}`);
          }
          const requestId = `req-${index}`;
          const response = await byokitInProcess.handle({
            method: 'PATCH',
            url: system ? '/admin/api-key' : '/users/me/api-key',
            headers: { 'content-type': 'application/json', 'x-request-id': requestId },
            body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify({ [`${provider}_api_key`]: key }))] },
            authenticate: () => ({ userId: system ? 'admin' : owner, isAdmin: system }),
          });
          expect(response?.status).toBe(200);
          trail.unshift({
            at: clock.toISOString(),
            action,
            owner: system ? 'system' : owner === 'system' ? '"system"' : owner,
            ownerType: system ? 'system' : 'user',
            ownerId: system ? 'system' : owner,
            provider,
            hint: hints.get(`${owner}/${provider}`)!,
            actor: system ? 'admin' : owner,
            requestId,
          });
        }
      } finally {
        await byokitInProcess.close();
      }
    });

    it('lists every change newest first, one line each: when, action, owner, provider, hint, actor and request id', async () => {
      const expected = [header, ...trail.map(line)].join('\n') + '\n';
      // Pages of 2 (seven records: four pages, the last one short) and of 7 (a full page, then an empty one) list the
      // same as one page of the default 500.
      for (const pageSize of [[], ['--batch-size', '2'], ['--batch-size', '7']]) {
        const run = await byokit(['key-audit', ...pageSize, ...args]);
        expect(run).toEqual({ code: 0, stdout: expected, stderr: '' });
        expectNothingForbidden(run);
      }
    });

    it("--owner ID lists that user's changes only, --owner system the user named system, --system the system keys", async () => {
      const cases: Array<[string[], (row: AuditLine) => boolean]> = [
        [['--owner', 'u1'], (row) => row.ownerType === 'user' && row.ownerId === 'u1'],
        [['--owner', 'system'], (row) => row.ownerType === 'user' && row.ownerId === 'system'],
        [['--system'], (row) => row.ownerType === 'system'],
      ];
      for (const [filter, matches] of cases) {
        const run = await byokit(['key-audit', ...filter, '--batch-size', '1', ...args]);
        const expected = trail.filter(matches);
        expect(expected.length).toBeGreaterThan(0);
        expect(run).toEqual({ code: 0, stdout: [header, ...expected.map(line)].join('\n') + '\n', stderr: '' });
      }
    });

    it('--since DATE lists the changes from that time on, with --owner too', async () => {
      const since = await byokit(['key-audit', '--since', LATER, '--batch-size', '2', ...args]);
      expect(since).toEqual({ code: 0, stdout: [header, ...trail.slice(0, 3).map(line)].join('\n') + '\n', stderr: '' });
      const both = await byokit(['key-audit', '--since', `${LATER}T00:00:00Z`, '--owner', 'u1', ...args]);
      expect(both).toEqual({ code: 0, stdout: [header, line(trail[1]!), line(trail[2]!)].join('\n') + '\n', stderr: '' });
    });

    it('says when nothing matches, naming the database it read, and exits 0', async () => {
      const run = await byokit(['key-audit', '--owner', 'nobody', ...args]);
      // As key-owners names it: the folder, or the server's URL (password hidden) and schema.
      const database = args.includes('--schema') ? ` (schema ${schemaOf(args)})` : `the embedded database in ${join(args[1]!, 'pgdata')}`;
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(new RegExp(`^${header}\n\\(no audit records of user "nobody" in .+\\)\n$`));
      expect(run.stdout.endsWith(`${database})\n`)).toBe(true);
      expect(await byokit(['key-audit', '--json', '--since', '2999-01-01', ...args])).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('--json prints one JSON object a line, for scripts', async () => {
      const run = await byokit(['key-audit', '--json', '--batch-size', '3', ...args]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout.endsWith('\n')).toBe(true);
      expect(jsonLines(run.stdout)).toEqual(
        trail.map((row) => ({
          at: row.at,
          action: row.action,
          owner_type: row.ownerType,
          owner: row.ownerId,
          provider: row.provider,
          hint: row.hint,
          actor: row.actor,
          request_id: row.requestId,
        })),
      );
    });

    it('stops without a word when its reader goes away (key-audit | head), exiting 141 as a process SIGPIPE ended', async () => {
      expect(await readerGone(['key-audit', '--batch-size', '1', ...args])).toEqual({ code: 141, stderr: '' });
    });

    it('listKeyAudit pages through the trail newest first: at most `limit` a page, each after the cursor, none twice', async () => {
      const storage = (await database.openStorage()) as PostgresStorage;
      try {
        const pages: AuditRecord[][] = [];
        let after: string | undefined;
        for (;;) {
          const page = await storage.listKeyAudit({ limit: 3, after });
          pages.push(page);
          if (page.length < 3) break;
          after = page.at(-1)!.id;
        }
        expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
        expect(pages.flat()).toEqual(await storage.listAudit({ limit: 100 }));
        expect(pages.flat().map((record) => record.requestId)).toEqual(trail.map((row) => row.requestId));
      } finally {
        await storage.close();
      }
    });

    it('listKeyAudit lists a change by its time, not by when it was written (a node whose write of an earlier change came last)', async () => {
      const storage = (await (await freshDatabase('migrated')).openStorage()) as PostgresStorage;
      try {
        const owner = { type: 'user', id: 'u1' } as const;
        const set = {
          action: 'set',
          provider: 'openai',
          envelope: new Uint8Array([1]),
          keyId: 'k1',
          hint: '…abcd',
          verification: 'unverified',
        } as const;
        const later = new Date('2026-12-01T10:00:00.000Z');
        const earlier = new Date('2026-12-01T09:59:59.000Z');
        await storage.writeKeys(owner, [set], { actorId: 'u1', requestId: 'later' }, later);
        await storage.writeKeys(owner, [set], { actorId: 'u1', requestId: 'earlier, written last' }, earlier);
        for (const query of [{}, { owner }, { since: earlier }]) {
          const first = await storage.listKeyAudit({ limit: 1, ...query });
          const second = await storage.listKeyAudit({ limit: 1, after: first[0]!.id, ...query });
          expect([...first, ...second].map((record) => record.requestId)).toEqual(['later', 'earlier, written last']);
        }
        expect(await storage.listKeyAudit({ limit: 10, since: later })).toMatchObject([{ requestId: 'later' }]);
      } finally {
        await storage.close();
      }
    });
  });

  // One database through a whole rotation: each step starts where the one before left it.
  // As key-owners and key-audit do (their tests above): every command writes through one writer, and a reader gone
  // (`| head`) ends it without a word. console.log swallowed the first EPIPE and threw the next as an unhandled 'error'.
  describe('a command whose reader goes away (| head)', () => {
    const oldKey = masterKey('old');
    const newKey = masterKey('new');
    let args: string[];
    beforeAll(async () => {
      const database = await freshDatabase('migrated');
      args = database.args;
      await storeKeys(await database.openStorage(), oldKey, 5);
    });

    it('key-ids stops without a word, exiting 141 as a process SIGPIPE ended', async () => {
      expect(await readerGone(['key-ids', ...args], { BYOKIT_KEYRING: oldKey })).toEqual({ code: 141, stderr: '' });
    });

    it('migrate stops without a word, exiting 141, its schema current', async () => {
      expect(await readerGone(['migrate', ...args])).toEqual({ code: 141, stderr: '' });
      expect((await byokit(['migrate', ...args])).stdout).toMatch(/^The schema of .+ is current \(version \d+\)\.\n$/);
    });

    it('rotate-keys stops after the current row without a word, exiting 141, and a run after it finishes the rotation', async () => {
      const keyring = { BYOKIT_KEYRING: `${newKey},${oldKey}` };
      expect(await readerGone(['rotate-keys', '--batch-size', '1', ...args], keyring)).toEqual({ code: 141, stderr: '' });
      const run = await byokit(['rotate-keys', ...args], keyring);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      // Some left for it: the first run stopped rather than rotating on unheard.
      expect(run.stdout).toMatch(/^Finished: resealed [1-5] \/ skipped 0 \/ failed 0 \/ scanned [1-5]\.$/m);
      expect(run.stdout).toMatch(countLine('new', 5, 'primary'));
      expect(run.stdout).toMatch(countLine('old', 0));
    });
  });

  describe(`a rotation of ${ROWS} stored keys from 'old' to 'new'`, () => {
    const oldKey = masterKey('old');
    const newKey = masterKey('new');
    let args: string[];
    let resealedBeforeStop = 0;

    beforeAll(async () => {
      const database = await freshDatabase('migrated');
      args = database.args;
      await storeKeys(await database.openStorage(), oldKey);
    });

    it("refuses a keyring without 'old', naming the id and how many rows need it, and changes nothing", async () => {
      const run = await byokit(['rotate-keys', ...args], { BYOKIT_KEYRING: newKey });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`byokit: ${ROWS} stored key(s) are sealed with master key id 'old', which the keyring lacks.`);

      const ids = await byokit(['key-ids', ...args]);
      expect(ids.stdout).toMatch(countLine('old', ROWS));
    });

    it('stops after the current row on SIGINT, and says to run it again to resume', async () => {
      const run = await byokit(
        ['rotate-keys', '--batch-size', '1', ...args],
        { BYOKIT_KEYRING: `${newKey},${oldKey}` },
        (stdout, child) => {
          if (/resealed \d+ \//.test(stdout) && !child.killed) child.kill('SIGINT');
        },
      );
      expect(run.code).toBe(130);
      expect(run.stderr).toContain('SIGINT: stopping after the current row');
      expect(run.stdout).toContain('Run byokit rotate-keys again to resume');
      const stopped = /^Stopped: resealed (\d+) \/ skipped 0 \/ failed 0 \/ scanned \1\.$/m.exec(run.stdout);
      expect(stopped).not.toBeNull();
      resealedBeforeStop = Number(stopped![1]);
      expect(resealedBeforeStop).toBeGreaterThan(0);
      expect(resealedBeforeStop).toBeLessThan(ROWS);
      expect(run.stdout).toMatch(countLine('old', ROWS - resealedBeforeStop));
    });

    it("reseals every remaining key under 'new', printing progress per page, and leaves 0 on 'old'", async () => {
      const remaining = ROWS - resealedBeforeStop;
      const run = await byokit(['rotate-keys', '--batch-size', '100', ...args], { BYOKIT_KEYRING: `${newKey},${oldKey}` });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout.match(/^resealed \d+ \/ skipped 0 \/ failed 0 \/ scanned \d+$/gm)).toHaveLength(Math.ceil(remaining / 100));
      expect(run.stdout).toContain(`Finished: resealed ${remaining} / skipped 0 / failed 0 / scanned ${remaining}.`);
      expect(run.stdout).toContain("Every stored key is sealed by 'new'");
      expectNothingForbidden(run);

      // The keyring from a file, as the example server keeps it in its data folder.
      const keyringFolder = mkdtempSync(join(tmpdir(), 'byokit-keyring-'));
      writeFileSync(join(keyringFolder, 'keyring'), `${newKey},${oldKey}\n`, { mode: 0o600 });
      const ids = await byokit(['key-ids', '--keyring-file', join(keyringFolder, 'keyring'), ...args]).finally(() =>
        rmSync(keyringFolder, { recursive: true, force: true }),
      );
      expect(ids).toMatchObject({ code: 0, stderr: '' });
      expect(ids.stdout).toMatch(countLine('new', ROWS, 'primary'));
      expect(ids.stdout).toMatch(countLine('old', 0));
    });

    it('reseals nothing when run again', async () => {
      const run = await byokit(['rotate-keys', ...args], { BYOKIT_KEYRING: `${newKey},${oldKey}` });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('Finished: resealed 0 / skipped 0 / failed 0 / scanned 0.');
    });
  });
});

describe.runIf(databaseUrl)('byokit given a URL with its password as a query parameter, which node-postgres reads', () => {
  it('migrate names the server without the password', async () => {
    const url = new URL(databaseUrl!);
    const password = decodeURIComponent(url.password);
    expect(password).not.toBe('');
    url.password = '';
    url.searchParams.set('password', password);
    const schema = `cli_${randomBytes(6).toString('hex')}`;
    try {
      const run = await byokit(['migrate', '--database-url', url.href, '--schema', schema]);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toContain('password=***');
      expect(run.stdout).not.toContain(password);
    } finally {
      const pool = new pg.Pool({ connectionString: databaseUrl });
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});

describe.runIf(databaseUrl)('byokit migrate meeting a long transaction on a table a migration changes', () => {
  it('says each time it gives way to the other session and tries again, and applies the migrations once that session ends', async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const schema = `cli_${randomBytes(6).toString('hex')}`;
    const reader = await pool.connect();
    try {
      const storage = postgresStorage({ pool, schema });
      // The schema as release 4 left it; a report reading the usage records, which 0005 alters.
      await migrate(storage.database, sqlNames(schema), { through: 4 });
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM "${schema}".byokit_usage_events`);
      let readerEnded: Promise<unknown> | undefined;
      const run = await byokit(['migrate', '--database-url', databaseUrl!, '--schema', schema], {}, (stdout) => {
        if (stdout.includes('trying again') && readerEnded === undefined) readerEnded = reader.query('COMMIT');
      });
      await readerEnded;
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const lines = run.stdout.trimEnd().split('\n');
      const waited = (attempt: number, seconds: number) =>
        'Migration 0005_usage_cache_writes waits for a lock on a table it changes, held by another session (a long transaction, a report, a pg_dump: ' +
        `see pg_locks and pg_stat_activity): run ${attempt} of 10 undone, trying again in ${seconds} s.`;
      // The reader ends during the first pause, so the second run applies, unless that COMMIT came late.
      expect(lines.slice(0, -1)).toEqual(lines.slice(0, -1).map((_, index) => waited(index + 1, Math.min(2 * (index + 1), 5))));
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.at(-1)).toMatch(/^Applied 0005_usage_cache_writes, .* to .*; the schema is at version \d+\.$/);
    } finally {
      reader.release();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});

describe('byokit without a database', () => {
  it.each([{ args: ['--help'] }, { args: ['help'] }, { args: [] }])('prints the usage for $args and exits 0', async ({ args }) => {
    const run = await byokit(args);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: byokit <command> \[options\]/);
    for (const text of [
      'migrate',
      'key-ids',
      'rotate-keys',
      'key-owners',
      'key-audit',
      '--since',
      '--system',
      '--master-key-id',
      '--json',
      '--data-dir',
      '--database-url',
      'DATABASE_URL',
      'BYOKIT_KEYRING',
      'one process',
    ]) {
      expect(run.stdout).toContain(text);
    }
  });

  it('exits 2 on an unknown command, an unknown option or a bad batch size', async () => {
    expect(await byokit(['rotate'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringContaining("byokit: unknown command 'rotate'"),
    });
    expect(await byokit(['migrate', '--force'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--force'") });
    expect(await byokit(['rotate-keys', '--batch-size', '0'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--batch-size') });
  });

  it.each([
    [['key-owners', '--batch-size', '0'], '--batch-size must be a whole number from 1 to 10000'],
    [['key-owners', '--master-key-id'], "Option '--master-key-id <value>' argument missing"],
    [['key-owners', '--master-key-id', ''], '--master-key-id must name a master key id'],
    [['key-owners', '--keyring-file', 'keyring'], 'key-owners takes no --keyring-file'],
    [['key-ids', '--json'], 'key-ids takes no --json'],
    [['key-audit', '--master-key-id', 'k1'], 'key-audit takes no --master-key-id'],
    [['key-audit', '--user', 'u1'], "Unknown option '--user'"],
    [
      ['key-audit', '--since', 'yesterday'],
      "--since must be a date or a time in ISO 8601 (2026-12-01, 2026-12-01T09:30:00Z; got 'yesterday')",
    ],
    [
      ['key-audit', '--since', '2026-13-01'],
      "--since must be a date or a time in ISO 8601 (2026-12-01, 2026-12-01T09:30:00Z; got '2026-13-01')",
    ],
    [
      ['key-audit', '--since', '2026-02-30'],
      "--since must be a date or a time in ISO 8601 (2026-12-01, 2026-12-01T09:30:00Z; got '2026-02-30')",
    ],
    [
      ['key-audit', '--since', '2026-12-01T09:30'],
      "--since must be a date or a time in ISO 8601 (2026-12-01, 2026-12-01T09:30:00Z; got '2026-12-01T09:30')",
    ],
    [['key-audit', '--owner', ''], "--owner must name a user id (--system for the system keys; got '')"],
    [['key-audit', '--owner', 'u1', '--system'], 'give --owner or --system, not both'],
    [['key-owners', '--system'], 'key-owners takes no --system'],
  ])('exits 2 on %j, saying what is wrong', async (args, message) => {
    const run = await byokit(args);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toContain(`byokit: ${message}`);
  });

  // `--keyring-file "$BYOKIT_KEYRING"` is an easy slip, and a refusal quoting what it was given put the master key in
  // the terminal, a CI log or a support ticket (byokit's harness checks every run's output for the keys it handed out).
  it.each<[string, (entry: string) => string[], number]>([
    ['where the keyring file goes', (entry) => ['rotate-keys', '--keyring-file', entry], 1],
    ['as an argument after the command', (entry) => ['rotate-keys', entry], 2],
    ['as the command', (entry) => [entry], 2],
    ['as --since', (entry) => ['key-audit', '--since', entry], 2],
  ])('prints no piece of a master key given %s', async (_where, args, code) => {
    const run = await byokit(args(`${masterKey('k1')},${masterKey('k0')}`));
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(/^byokit: .*k1:\*\*\*,k0:\*\*\*/);
  });

  it('exits 2 when no database is given, naming the ways to give one', async () => {
    const run = await byokit(['key-ids']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/byokit: no database given: .*DATABASE_URL.*--data-dir/);
  });

  it('says a server cannot be reached in words left whole, whatever the password (a short one is no mask for every y)', async () => {
    const run = await byokit(['migrate', '--database-url', 'postgres://byokit:y@127.0.0.1:1/byokit']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('byokit: The database is unavailable; try again shortly. (connect ECONNREFUSED 127.0.0.1:1)\n');
  });

  it('key-ids refuses a folder without a database rather than creating an empty one', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'byokit-cli-'));
    try {
      const run = await byokit(['key-ids', '--data-dir', directory]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`there is no embedded database in ${directory} or in ${join(directory, 'pgdata')}`);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("byokit on a host's embedded database, given the folder embeddedPostgresStorage was given", () => {
  const directory = mkdtempSync(join(tmpdir(), 'byokit-cli-host-'));
  // A host's folder, not named pgdata: `embeddedPostgresStorage({ dataDir: './data/keys-db' })`.
  const dataDir = join(directory, 'keys-db');
  const oldKey = masterKey('k1');
  const newKey = masterKey('k2');
  beforeAll(async () => storeKeys(await embeddedPostgresStorage({ dataDir }), oldKey, 3));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('counts, migrates and rotates the keys in it, and never creates a database inside it', async () => {
    const ids = await byokit(['key-ids', '--data-dir', dataDir]);
    expect(ids).toMatchObject({ code: 0, stderr: '' });
    expect(ids.stdout).toContain(`the embedded database in ${dataDir}:`);
    expect(ids.stdout).toMatch(countLine('k1', 3));

    expect(await byokit(['migrate', '--data-dir', dataDir])).toMatchObject({ code: 0, stdout: expect.stringContaining('is current') });
    const rotated = await byokit(['rotate-keys', '--data-dir', dataDir], { BYOKIT_KEYRING: `${newKey},${oldKey}` });
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    expect(rotated.stdout).toContain('Finished: resealed 3 / skipped 0 / failed 0 / scanned 3.');
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
  });
});

describe('byokit as the README and docs run it', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const documents = ['README.md', ...readdirSync(join(root, 'docs')).flatMap((file) => (file.endsWith('.md') ? [join('docs', file)] : []))];

  it("gives every command as this repository's own CLI, never as npx byokit (a registry package of that name is not ours)", () => {
    for (const document of documents) {
      const text = readFileSync(join(root, document), 'utf8');
      expect(text, document).not.toMatch(/npx (--\S+ )*byokit (migrate|key-ids|key-owners|rotate-keys)/);
      // Every line of a shell block that runs a command of the CLI.
      const blocks = text.match(/^```(bash|sh|shell)\n[\s\S]*?^```/gm) ?? [];
      const commandLines = blocks
        .flatMap((block) => block.split('\n'))
        .filter((line) => /\bbyokit (migrate|key-ids|key-owners|rotate-keys)\b/.test(line));
      for (const line of commandLines)
        expect(line, document).toMatch(/^(\S+=\S+ )*npm run byokit -- (migrate|key-ids|key-owners|rotate-keys)\b/);
    }
  });

  it('npm run byokit at the repository root runs this CLI, after a plain npm install', async () => {
    const run = await new Promise<Run>((resolve, reject) => {
      const child = spawn('npm', ['run', '--silent', 'byokit', '--', '--help'], { cwd: root, env: cleanEnvironment() });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: byokit <command> \[options\]/);
  });
});
