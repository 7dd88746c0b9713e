// spec: "Tests that cut the database off mid-request (stop the connection, a failing query) get a clean
// 5xx in the contract's shape for that request only, the node keeps serving once the database is back,
// and no half-written key exists." Driven through byokit's framework-free handler, as an adapter would.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createByokit, isByokitError, Keyring, type Byokit, type Logger, type Principal } from '@byokit/core';
import { fakeProviderKey, startMockProviders } from '@byokit/core/testing';
import { pgliteDatabase, poolDatabase, type Database, type PgPool, type PgPoolClient, type SqlExecutor } from './database.js';
import { postgresStorage } from './index.js';
import { storageOn, type PostgresStorage } from './postgres-storage.js';
import { sqlNames } from './sql-names.js';
import { callAs } from './test-helpers.js';

const alice: Principal = { userId: 'user-alice', isAdmin: false };
const freshSchema = () => `test_${randomBytes(6).toString('hex')}`;

/** Opens byokit on `storage` as a host would, with no key cache so that every request reaches the database. */
function openByokit(storage: PostgresStorage, logger?: Logger): Promise<Byokit> {
  const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
  return createByokit({ storage, keyring, environment: {}, keyCache: { ttlMs: 0 }, ...(logger && { logger }) });
}

/** Calls byokit as an adapter would, as alice. */
const call = (byokit: Byokit, method: string, url: string, body?: unknown) => callAs(alice, byokit, method, url, body);

type Answer = Awaited<ReturnType<typeof call>>;

/**
 * byokit's error lines, kept: `endedBy(answer)` is what ended that request below byokit, the cause of the error it
 * logged for it. What proves that an answer came from a refusal, or from which timeout, where the clock cannot: a
 * loaded machine makes any duration long, and the wrong timeout could end a request within any bound.
 */
function errorLog() {
  const lines: Array<Record<string, unknown>> = [];
  const ignore = () => {};
  const logger: Logger = { debug: ignore, info: ignore, warn: ignore, error: (object) => lines.push(object) };
  return {
    logger,
    endedBy(answer: Answer): unknown {
      const line = lines.find((each) => each.requestId === answer.headers['x-request-id']);
      return (line?.err as Error | undefined)?.cause;
    },
  };
}
const setKey = (byokit: Byokit, key: string) => call(byokit, 'PATCH', '/users/me/api-key', { openai_api_key: key });
const keyStatus = (byokit: Byokit) => call(byokit, 'GET', '/users/me/api-key-status');

/**
 * The error in the contract's shape and nothing more: no SQL, no stack trace, no key, none of the text of
 * the error underneath (it may quote any of those).
 */
function expectCleanError(answer: Answer, status: number, code: string, secrets: string[] = []) {
  expect(answer.status).toBe(status);
  expect(answer.json).toEqual({ error: { code, message: expect.any(String), request_id: answer.headers['x-request-id'] } });
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(answer.text).not.toMatch(/INSERT|SELECT|key_audit|provider_keys|\bat .*:\d+:\d+|ECONN|terminat/i);
  for (const secret of secrets) expect(answer.text).not.toContain(secret);
}

/** A request that fails while the database is away, then succeeds once it is back, within a few tries. */
async function expectServingAgain(request: () => Promise<Answer>, tries = 5): Promise<Answer> {
  let answer: Answer | undefined;
  for (let attempt = 0; attempt < tries; attempt++) {
    answer = await request();
    if (answer.status === 200) return answer;
    // While the pool finds out its connections are gone, an answer may still be a clean 503, never a 500.
    expectCleanError(answer, 503, 'storage_unavailable');
    await sleep(50 * (attempt + 1));
  }
  throw new Error(`still failing after ${tries} tries: ${answer?.text}`);
}

/**
 * A database whose statements can be interfered with: `onNext(pattern, run)` runs `run` (once, or `times`) before
 * the next statement whose SQL matches, inside the same transaction; if `run` throws, that statement fails.
 */
function interceptable(database: Database) {
  let next: { pattern: RegExp; run: (executor: SqlExecutor) => Promise<void>; times: number } | undefined;
  let fired = 0;
  const before = async (sql: string, executor: SqlExecutor) => {
    if (!next?.pattern.test(sql)) return;
    const { run } = next;
    if (--next.times === 0) next = undefined;
    fired++;
    await run(executor);
  };
  const wrap = (executor: SqlExecutor): SqlExecutor => ({
    query: async <Row>(text: string, params?: readonly unknown[]) => {
      await before(text, executor);
      return executor.query<Row>(text, params);
    },
    exec: async (sql: string) => {
      await before(sql, executor);
      return executor.exec(sql);
    },
  });
  const wrapped: Database = {
    ...wrap(database),
    transaction: (work) => database.transaction((transaction) => work(wrap(transaction))),
    close: () => database.close(),
  };
  return {
    database: wrapped,
    /** `times`: before that many statements matching, one after another (default 1). */
    onNext(pattern: RegExp, run: (executor: SqlExecutor) => Promise<void>, times = 1) {
      next = { pattern, run, times };
    },
    /** How many times an interference ran: proof that the test exercised the path it names. */
    get fired() {
      return fired;
    },
  };
}

/** The audit INSERT inside writeKeys' transaction: the last statement before COMMIT of a key write. */
const AUDIT_INSERT = /^INSERT INTO "[a-z0-9_]+"\."byokit_key_audit"/;
/** The read of an owner's keys behind every status answer. */
const KEYS_SELECT = /^SELECT .* FROM "[a-z0-9_]+"\."byokit_provider_keys" WHERE owner_type = \$1 AND owner_id = \$2 ORDER BY/;

/** What alice has in the database, read directly: her key rows and her audit records. */
async function aliceRows(query: (text: string, params: unknown[]) => Promise<Record<string, unknown>[]>, schema: string) {
  const keys = await query(`SELECT hint, envelope, master_key_id FROM "${schema}".byokit_provider_keys WHERE owner_id = $1`, [
    alice.userId,
  ]);
  const audit = await query(`SELECT action, hint FROM "${schema}".byokit_key_audit WHERE owner_id = $1 ORDER BY seq`, [alice.userId]);
  // bytea is a Buffer from node-postgres and a Uint8Array from PGlite: compare plain bytes.
  return { keys: keys.map((row) => ({ ...row, envelope: [...(row.envelope as Uint8Array)] })), audit };
}

/** One database as these tests see it: PGlite in memory, or a pool on the real server. */
interface Backend {
  /** A Database for a storage; byokit does not own (close) what is under it. */
  database(): Database;
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** Failing queries: the same on PGlite and on a server, as the failure is made in the SQL path itself. */
function describeFailingQuery(open: () => Promise<Backend>) {
  let backend: Backend;
  const schemas: string[] = [];
  beforeAll(async () => {
    backend = await open();
  });
  afterEach(async () => {
    for (const schema of schemas.splice(0)) await backend.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  afterAll(async () => {
    await backend?.close();
  });

  async function setUp() {
    const schema = freshSchema();
    schemas.push(schema);
    const faults = interceptable(backend.database());
    const storage = storageOn(faults.database, sqlNames(schema));
    await storage.migrate();
    const byokit = await openByokit(storage);
    const rows = () => aliceRows((text, params) => backend.query(text, params), schema);
    return { faults, byokit, rows };
  }

  it('answers 503 storage_unavailable when a key write loses the database before commit, and saves neither key nor audit record', async () => {
    const { faults, byokit, rows } = await setUp();
    const key = fakeProviderKey('openai');
    faults.onNext(AUDIT_INSERT, async () => {
      // What node-postgres reports for a connection lost mid-statement (SQLSTATE 08006, connection_failure).
      throw Object.assign(new Error(`connection failure during INSERT INTO key_audit for ${key}`), { code: '08006' });
    });

    const failed = await setKey(byokit, key);
    expect(faults.fired).toBe(1);
    expectCleanError(failed, 503, 'storage_unavailable', [key, key.slice(-12)]);
    // The key row was inserted before the audit insert failed: the rollback took it back.
    expect(await rows()).toEqual({ keys: [], audit: [] });

    const next = await setKey(byokit, key);
    expect(next.status).toBe(200);
    expect(next.json.keys.openai).toMatchObject({ configured: true, hint: `…${key.slice(-4)}` });
    expect((await rows()).audit).toEqual([{ action: 'set', hint: `…${key.slice(-4)}` }]);
  });

  it('answers 500 internal_error, saying nothing of the cause, when a key write fails unexpectedly, and keeps the key there was', async () => {
    const { faults, byokit, rows } = await setUp();
    const first = fakeProviderKey('openai');
    expect((await setKey(byokit, first)).status).toBe(200);
    const before = await rows();

    const second = fakeProviderKey('openai');
    faults.onNext(AUDIT_INSERT, async () => {
      throw new Error(`syntax error at or near "INSERT" in INSERT INTO key_audit VALUES ('${second}')`);
    });
    const failed = await setKey(byokit, second);
    expect(faults.fired).toBe(1);
    expectCleanError(failed, 500, 'internal_error', [first, second, second.slice(-12)]);
    // All or nothing: the replacement was taken back, the first key (same envelope) and its one audit record stand.
    expect(await rows()).toEqual(before);

    const next = await setKey(byokit, second);
    expect(next.status).toBe(200);
    expect(next.json.keys.openai.hint).toBe(`…${second.slice(-4)}`);
    expect((await rows()).audit).toHaveLength(2);
  });

  // The database is there but cannot take the write now: a server made read-only (a primary demoted in a failover,
  // default_transaction_read_only), a full disk, no memory, or a transaction that lost to another one. Each is
  // PostgreSQL's own error, raised in the transaction as the server raises it; none is a bug of byokit's.
  it.each([
    ['read-only (25006)', 'SET TRANSACTION READ ONLY'],
    ['disk full (53100)', `DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$`],
    ['out of memory (53200)', `DO $$ BEGIN RAISE EXCEPTION 'out of memory' USING ERRCODE = '53200'; END $$`],
  ])('answers 503 storage_unavailable, not 500, when the database refuses a key write as %s, and saves nothing', async (_, sql) => {
    const { faults, byokit, rows } = await setUp();
    const key = fakeProviderKey('openai');
    faults.onNext(AUDIT_INSERT, (transaction) => transaction.exec(sql));

    const failed = await setKey(byokit, key);
    expect(faults.fired).toBe(1);
    expectCleanError(failed, 503, 'storage_unavailable', [key, key.slice(-12)]);
    expect(await rows()).toEqual({ keys: [], audit: [] });
    expect((await setKey(byokit, key)).status).toBe(200);
  });

  // PostgreSQL asks its clients to run such a transaction again: it lost to another one running at the same time
  // and did nothing. Both were a 500 internal_error.
  describe.each([
    ['a serialization failure (40001)', `DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$`],
    ['a deadlock (40P01)', `DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`],
  ])('a key write that fails as %s', (_, sql) => {
    it('is run again and saved once, with one audit record', async () => {
      const { faults, byokit, rows } = await setUp();
      const key = fakeProviderKey('openai');
      faults.onNext(AUDIT_INSERT, (transaction) => transaction.exec(sql));
      const saved = await setKey(byokit, key);
      expect(faults.fired).toBe(1);
      expect(saved.status).toBe(200);
      expect(saved.json.keys.openai.hint).toBe(`…${key.slice(-4)}`);
      expect((await rows()).audit).toEqual([{ action: 'set', hint: `…${key.slice(-4)}` }]);
    });

    it('answers 503 storage_unavailable, not 500, when it fails so every time, and saves nothing', async () => {
      const { faults, byokit, rows } = await setUp();
      const key = fakeProviderKey('openai');
      faults.onNext(AUDIT_INSERT, (transaction) => transaction.exec(sql), Number.POSITIVE_INFINITY);
      expectCleanError(await setKey(byokit, key), 503, 'storage_unavailable', [key, key.slice(-12)]);
      expect(faults.fired).toBe(5);
      expect(await rows()).toEqual({ keys: [], audit: [] });
    });
  });

  it('answers 503 storage_unavailable when a read loses the database, and the next read works', async () => {
    const { faults, byokit } = await setUp();
    expect((await setKey(byokit, fakeProviderKey('openai'))).status).toBe(200);
    faults.onNext(KEYS_SELECT, async () => {
      throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    });
    expectCleanError(await keyStatus(byokit), 503, 'storage_unavailable');
    expect(faults.fired).toBe(1);
    const next = await keyStatus(byokit);
    expect(next.status).toBe(200);
    expect(next.json.has_openai_key).toBe(true);
  });
}

describe('a failing query, on PGlite', () => {
  describeFailingQuery(async () => {
    const pglite = await PGlite.create();
    return {
      database: () => pgliteDatabase(pglite, false),
      query: async (text, params) => (await pglite.query<Record<string, unknown>>(text, params)).rows,
      close: () => pglite.close(),
    };
  });
});

describe('a PGlite database that has been closed', () => {
  it('answers a clean 503 storage_unavailable instead of crashing', async () => {
    const pglite = await PGlite.create();
    const storage = postgresStorage({ pglite });
    await storage.migrate();
    const byokit = await openByokit(storage);
    const key = fakeProviderKey('openai');
    expect((await setKey(byokit, key)).status).toBe(200);

    await pglite.close();
    expectCleanError(await keyStatus(byokit), 503, 'storage_unavailable');
    expectCleanError(await setKey(byokit, fakeProviderKey('openai')), 503, 'storage_unavailable', [key]);
  });
});

describe('a database that is not there at all', () => {
  it('stops byokit from starting with storage_unavailable, at the refusal itself, not at a timeout', async () => {
    // Port 1: nothing listens there, so the connection is refused at once (no server needed for this test).
    const storage = postgresStorage({ connectionString: 'postgres://byokit:x@127.0.0.1:1/none' });
    const error = await openByokit(storage).catch((caught: unknown) => caught);
    expect(isByokitError(error) && error.code).toBe('storage_unavailable');
    // The refusal ended the start, not the pool's 5 s connection timeout ("Connection terminated due to connection timeout").
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    await storage.close?.();
  });
});

const databaseUrl = process.env.DATABASE_URL;

describe.runIf(databaseUrl)('on a real PostgreSQL server', () => {
  /** A pool of our own for setting up, checking rows and ending other sessions (a role may end its own). */
  let admin: pg.Pool;
  const schemas: string[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  afterAll(async () => {
    await admin?.end();
  });

  const adminQuery = async (text: string, params?: unknown[]) => (await admin.query(text, params)).rows;

  /**
   * A connection string whose sessions carry an application_name of their own: other test files may use
   * this server at the same time, so sessions are ended by that name, never by role.
   */
  function taggedUrl() {
    const applicationName = `byokit_outage_${randomBytes(4).toString('hex')}`;
    const url = new URL(databaseUrl!);
    url.searchParams.set('application_name', applicationName);
    return { url: url.toString(), applicationName };
  }

  /** postgresStorage on its own pool (`{ connectionString }`) in a fresh, migrated schema. */
  async function storageOnOwnPool(connectionString: string, options: { statementTimeoutMs?: number } = {}) {
    const schema = freshSchema();
    schemas.push(schema);
    const storage = postgresStorage({ connectionString, schema, ...options });
    closers.push(async () => storage.close?.());
    await storage.migrate();
    return { schema, storage };
  }

  /** Opens byokit on its own pool (postgresStorage({ connectionString })) in a fresh, migrated schema. */
  async function byokitOnOwnPool(connectionString: string, options: { statementTimeoutMs?: number; logger?: Logger } = {}) {
    const { logger, ...storageOptions } = options;
    const { schema, storage } = await storageOnOwnPool(connectionString, storageOptions);
    return { schema, storage, byokit: await openByokit(storage, logger) };
  }

  /** byokit on its own pool in a fresh, migrated schema, every statement passing through `faults` on its way. */
  async function byokitWithFaults() {
    const { schema, storage } = await storageOnOwnPool(databaseUrl!);
    const faults = interceptable(storage.database);
    return { schema, faults, byokit: await openByokit(storageOn(faults.database, sqlNames(schema))) };
  }

  /** The key write the fault hit answers 503 and saves nothing, neither key nor audit; the next one is saved. */
  async function expectKeyWriteLostThenSaved(byokit: Byokit, schema: string, faults: { fired: number }, key: string) {
    const failed = await setKey(byokit, key);
    expect(faults.fired).toBe(1);
    expectCleanError(failed, 503, 'storage_unavailable', [key]);
    expect(await aliceRows(adminQuery, schema)).toEqual({ keys: [], audit: [] });

    const next = await expectServingAgain(() => setKey(byokit, key));
    expect(next.json.keys.openai.configured).toBe(true);
    expect((await aliceRows(adminQuery, schema)).audit).toHaveLength(1);
  }

  /** byokit on a pool of the host's own (which the host listens to for errors, as node-postgres asks). */
  async function byokitOnHostPool(poolOptions: pg.PoolConfig, logger?: Logger) {
    const pool = new pg.Pool({ connectionString: databaseUrl, ...poolOptions });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const schema = freshSchema();
    schemas.push(schema);
    const storage = postgresStorage({ pool, schema });
    await storage.migrate();
    return { pool, schema, storage, byokit: await openByokit(storage, logger) };
  }

  /**
   * Polls `condition` every 20 ms, for 10 s at least: what it waits for goes through a loaded database (a usage
   * record's write after the answer, a session's end).
   */
  async function waitUntil(condition: () => Promise<boolean>, what: string) {
    for (let attempt = 0; attempt < 500; attempt++) {
      if (await condition()) return;
      await sleep(20);
    }
    throw new Error(`timed out waiting until ${what}`);
  }

  async function endSessions(applicationName: string) {
    const ended = await adminQuery('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    await waitUntil(
      async () => (await adminQuery('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [applicationName])).length === 0,
      'the sessions are gone',
    );
    return ended.length;
  }

  // The server ends a session of its own accord, for a timeout a host's database or role sets: its goodbye (a FATAL
  // error) reaches node-postgres when its event loop next turns, which in a busy process may come after the next
  // statement was sent on that connection. That statement then fails with the server's own SQLSTATE.
  it("answers 503, not 500, when the server ends a key write's session for idling in its transaction, saves nothing, and keeps serving", async () => {
    const { schema, faults, byokit } = await byokitWithFaults();
    const key = fakeProviderKey('openai');

    faults.onNext(AUDIT_INSERT, async (transaction) => {
      // The timeout set last, the loop blocked at once: a statement after it could find the session ended already.
      const [session] = await transaction.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await transaction.query(`SET LOCAL idle_in_transaction_session_timeout = '20ms'`);
      blockUntilSessionEnds(session!.pid);
    });
    await expectKeyWriteLostThenSaved(byokit, schema, faults, key);
  });

  it("answers 503, not 500, when the server ends the pool's idle connection for its idle-session timeout, and serves on a new one", async () => {
    const { pool, byokit } = await byokitOnHostPool({ max: 1 });
    expect((await setKey(byokit, fakeProviderKey('openai'))).status).toBe(200);
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // The timeout set last and the client given back at once: a statement after it, or the server's goodbye while the
    // client was still held (no listener but the test's), could come 20 ms later on a loaded machine.
    await client.query(`SET idle_session_timeout = '20ms'`);
    client.release();

    blockUntilSessionEnds(rows[0]!.pid);
    expectCleanError(await keyStatus(byokit), 503, 'storage_unavailable');
    const next = await expectServingAgain(() => keyStatus(byokit));
    expect(next.json.has_openai_key).toBe(true);
  });

  it("answers 503, not 500, while the server refuses byokit's login (its password changed), and serves once it takes it again", async () => {
    // The password a host's pool reads for each new connection (pg takes a function): a rotation under way.
    const url = new URL(databaseUrl!);
    const rightPassword = decodeURIComponent(url.password);
    let password = rightPassword;
    const { pool, byokit } = await byokitOnHostPool({
      connectionString: undefined, // its password would be taken over the function's
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      database: url.pathname.slice(1),
      password: () => password,
      max: 1,
      idleTimeoutMillis: 1,
    });
    expect((await keyStatus(byokit)).status).toBe(200);

    password = 'not-the-password';
    // The pool closes its idle connection at once (idleTimeoutMillis), so the next request logs in anew.
    await waitUntil(async () => pool.totalCount === 0, 'the idle connection is closed');
    expectCleanError(await keyStatus(byokit), 503, 'storage_unavailable');
    password = rightPassword;
    expect((await keyStatus(byokit)).status).toBe(200);
  });

  describe('a failing query', () => {
    describeFailingQuery(async () => {
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
      return {
        database: () => poolDatabase(pool, false),
        query: async (text, params) => (await pool.query(text, params)).rows,
        close: () => pool.end(),
      };
    });
  });

  it('answers 503 when the server ends the connection in the middle of a key write, saves nothing, and keeps serving', async () => {
    const { schema, faults, byokit } = await byokitWithFaults();
    const key = fakeProviderKey('openai');

    faults.onNext(AUDIT_INSERT, async (transaction) => {
      // The server ends this very session while its transaction is open and no statement is running: the
      // client learns of it from the server's FATAL message between two statements of the transaction.
      const [session] = await transaction.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await adminQuery('SELECT pg_terminate_backend($1)', [session!.pid]);
      await waitUntil(
        async () => (await adminQuery('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [session!.pid])).length === 0,
        'ended',
      );
      await sleep(100);
    });
    await expectKeyWriteLostThenSaved(byokit, schema, faults, key);
  });

  it("keeps serving after the server ends byokit's idle connections, without an unhandled 'error' event", async () => {
    // postgresStorage({ connectionString }) owns its pool, so it must listen for the pool's 'error' event:
    // an idle connection ended by the server raises one, and unhandled it would end the process (vitest
    // reports it as an unhandled error and fails the run).
    const { url, applicationName } = taggedUrl();
    const { byokit } = await byokitOnOwnPool(url);
    expect((await setKey(byokit, fakeProviderKey('openai'))).status).toBe(200);
    expect((await keyStatus(byokit)).status).toBe(200);

    expect(await endSessions(applicationName)).toBeGreaterThan(0);
    await sleep(100); // let the pool read the server's goodbye on its idle connections

    const next = await expectServingAgain(() => keyStatus(byokit));
    expect(next.json.has_openai_key).toBe(true);
    // And again, now that the pool has connected anew.
    expect((await setKey(byokit, fakeProviderKey('openai'))).status).toBe(200);
  });

  it('answers 503 at the refusal while the database is down, not at a timeout, and serves again once it is back', async () => {
    const proxy = await startProxy(new URL(databaseUrl!));
    closers.push(() => proxy.close());
    const through = new URL(databaseUrl!);
    through.host = `127.0.0.1:${proxy.port}`;
    const log = errorLog();
    const { byokit } = await byokitOnOwnPool(through.toString(), { logger: log.logger });
    const key = fakeProviderKey('openai');
    expect((await setKey(byokit, key)).status).toBe(200);

    await proxy.refuse(); // every connection cut, new ones refused: the server is gone
    await sleep(100); // let the pool drop the connections just cut, so requests need new ones
    for (const request of [() => keyStatus(byokit), () => setKey(byokit, fakeProviderKey('openai'))]) {
      const answer = await request();
      expectCleanError(answer, 503, 'storage_unavailable', [key]);
      // The refused connection ended it, not the pool's 5 s connection timeout or its query timeout.
      expect(log.endedBy(answer)).toMatchObject({ code: 'ECONNREFUSED' });
    }

    await proxy.restore();
    const next = await expectServingAgain(() => keyStatus(byokit));
    expect(next.json.keys.openai.hint).toBe(`…${key.slice(-4)}`);
  });

  it('answers 503 within the connection timeout, not never, when the database accepts connections but does not answer', async () => {
    const proxy = await startProxy(new URL(databaseUrl!));
    closers.push(() => proxy.close());
    const through = new URL(databaseUrl!);
    through.host = `127.0.0.1:${proxy.port}`;
    const log = errorLog();
    const { byokit } = await byokitOnOwnPool(through.toString(), { logger: log.logger });
    expect((await keyStatus(byokit)).status).toBe(200);

    await proxy.hang();
    await sleep(200); // let the pool drop the connections just cut, so the request needs a new one
    const answer = await keyStatus(byokit);
    expectCleanError(answer, 503, 'storage_unavailable');
    // postgresStorage({ connectionString }) gives up on a new connection after 5 s: the answer came from that
    // timeout, not from a connection found dead at once (and the test's own limit is the "not never").
    expect(log.endedBy(answer)).toMatchObject({ message: 'Connection terminated due to connection timeout' });

    await proxy.restore();
    await expectServingAgain(() => keyStatus(byokit));
  }, 20_000);

  it('answers 503 within the statement timeout, not never, when the server stops answering on connections already open', async () => {
    // A network partition or a frozen server: the pool's connections stay open, and no answer and no error
    // ever comes on them. Without a timeout of its own each request waited for TCP to give up (about 15
    // minutes), and once every connection of the pool hung so did the node.
    const proxy = await startProxy(new URL(databaseUrl!));
    closers.push(() => proxy.close());
    const through = new URL(databaseUrl!);
    through.host = `127.0.0.1:${proxy.port}`;
    const log = errorLog();
    const { byokit } = await byokitOnOwnPool(through.toString(), { statementTimeoutMs: 1_000, logger: log.logger });
    expect((await keyStatus(byokit)).status).toBe(200);

    proxy.freeze();
    const answer = await keyStatus(byokit);
    expectCleanError(answer, 503, 'storage_unavailable');
    // No answer ever comes (the server never sees the statement, so its statement_timeout cannot end it): the
    // client's own query timeout, statementTimeoutMs and 2 s, did.
    expect(log.endedBy(answer)).toMatchObject({ message: 'Query read timeout' });

    proxy.restore();
    await expectServingAgain(() => keyStatus(byokit));
  }, 20_000);

  it("gives a key write up at the pool's query timeout, without waiting for a ROLLBACK too, when the server stops answering in its transaction", async () => {
    // A partition in the middle of a transaction: its statement has no answer within the pool's query_timeout. Asked to
    // ROLLBACK, the silent connection waited out the query_timeout a second time before the request had its 503.
    const proxy = await startProxy(new URL(databaseUrl!));
    closers.push(() => proxy.close());
    const through = new URL(databaseUrl!);
    through.host = `127.0.0.1:${proxy.port}`;
    const pool = new pg.Pool({ connectionString: through.toString(), max: 2, query_timeout: 1_000 });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    // What byokit says on a connection once the server has stopped answering.
    const sentWhileFrozen: string[] = [];
    const watched: PgPool = {
      connect: async () => {
        const client = await pool.connect();
        return {
          query: ((statement: string | { text: string }, values?: unknown[]) => {
            if (proxy.frozen) sentWhileFrozen.push(typeof statement === 'string' ? statement : statement.text);
            return client.query(statement as string, values);
          }) as PgPoolClient['query'],
          on: (event, listener) => client.on(event, listener),
          removeListener: (event, listener) => client.removeListener(event, listener),
          release: (error) => client.release(error),
        };
      },
      query: pool.query.bind(pool) as PgPool['query'],
      end: () => pool.end(),
    };
    const schema = freshSchema();
    schemas.push(schema);
    const storage = postgresStorage({ pool: watched, schema });
    await storage.migrate();
    const faults = interceptable(storage.database);
    const byokit = await openByokit(storageOn(faults.database, sqlNames(schema)));
    const key = fakeProviderKey('openai');

    faults.onNext(AUDIT_INSERT, async () => proxy.freeze());
    expectCleanError(await setKey(byokit, key), 503, 'storage_unavailable', [key]);
    expect(faults.fired).toBe(1);
    expect(sentWhileFrozen).toEqual([expect.stringMatching(AUDIT_INSERT)]);

    proxy.restore();
    expect(await aliceRows(adminQuery, schema)).toEqual({ keys: [], audit: [] });
    await expectServingAgain(() => setKey(byokit, key));
  });

  it('leaves nothing held against the budget after a call whose hold the server saved but whose answer was lost', async () => {
    const mock = await startMockProviders();
    closers.push(() => mock.close());
    const proxy = await startProxy(new URL(databaseUrl!));
    closers.push(() => proxy.close());
    const through = new URL(databaseUrl!);
    through.host = `127.0.0.1:${proxy.port}`;
    // One connection: the hold's is given up at the query_timeout, and nothing more reaches the server until it answers again.
    const pool = new pg.Pool({ connectionString: through.toString(), max: 1, query_timeout: 1_000, connectionTimeoutMillis: 1_000 });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const schema = freshSchema();
    schemas.push(schema);
    // Migrated on a pool without timeouts: under a whole suite's load a migration's DDL may take longer than this one's.
    await postgresStorage({ pool: admin, schema }).migrate();
    const storage = postgresStorage({ pool, schema });
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({
      storage,
      keyring,
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
      // The second call's first statement through the proxy must be its hold: with the key or the catalog read again
      // (their TTLs passed between the two calls on a loaded machine), that read's answer is what is lost.
      keyCache: { ttlMs: 3_600_000 },
      catalogTtlMs: 3_600_000,
    });
    await storage.setBudget(alice.userId, { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date() });
    // Claude Sonnet 5.5, an active model.
    const request = {
      model_id: 'f8249082-e6ae-5964-b84f-719fa94f6a67',
      messages: [{ role: 'user' as const, content: 'Hi' }],
      max_tokens: 1000,
    };
    await byokit.chat(alice, request);
    const holds = `"${schema}".byokit_budget_reservations`;
    await waitUntil(async () => (await adminQuery(`SELECT 1 FROM ${holds}`)).length === 0, "the first call's hold is ended");

    proxy.loseAnswers();
    const failed = await byokit.chat(alice, request).catch((error: unknown) => error);
    expect(isByokitError(failed) && failed.code).toBe('storage_unavailable');
    // The server saved the hold; its answer never came.
    await waitUntil(async () => (await adminQuery(`SELECT 1 FROM ${holds}`)).length === 1, 'the hold is saved');

    await proxy.restore();
    await byokit.close();
    expect(mock.requests).toHaveLength(1);
    expect(await adminQuery(`SELECT amount_usd FROM ${holds}`)).toEqual([]);
  });

  it.each(['statement_timeout', 'lock_timeout'])(
    "answers 503, not 500, when a statement runs past the host pool's %s, and serves once it does not",
    async (setting) => {
      // Far past what the statements it must let through may take on a loaded machine (300 ms is within their reach
      // there): only the one waiting on the lock below runs past it.
      const { schema, byokit } = await byokitOnHostPool({ max: 2, [setting]: 2_000 });
      expect((await keyStatus(byokit)).status).toBe(200);

      // Another session holds the keys table, as a long migration or a stuck transaction would.
      const locker = await admin.connect();
      try {
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${schema}".byokit_provider_keys IN ACCESS EXCLUSIVE MODE`);
        expectCleanError(await keyStatus(byokit), 503, 'storage_unavailable');
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      expect((await keyStatus(byokit)).status).toBe(200);
    },
  );

  it("answers 503, not 500, to key writes while the host's sessions are read-only, and still answers reads", async () => {
    // default_transaction_read_only, or a standby a failover left the pool on: every write refused with 25006.
    const schema = freshSchema();
    schemas.push(schema);
    await postgresStorage({ pool: admin, schema }).migrate();
    const writable = await openByokit(postgresStorage({ pool: admin, schema }));
    const key = fakeProviderKey('openai');
    expect((await setKey(writable, key)).status).toBe(200);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: '-c default_transaction_read_only=on' });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const byokit = await openByokit(postgresStorage({ pool, schema }));

    const other = fakeProviderKey('openai');
    expectCleanError(await setKey(byokit, other), 503, 'storage_unavailable', [key, other]);
    expectCleanError(await call(byokit, 'PATCH', '/users/me/api-key', { openai_api_key: null }), 503, 'storage_unavailable', [key]);
    const status = await keyStatus(byokit);
    expect(status.status).toBe(200);
    expect(status.json.keys.openai.hint).toBe(`…${key.slice(-4)}`);
    expect((await aliceRows(adminQuery, schema)).audit).toHaveLength(1);
  });

  it("answers 503 at the host's pool's timeout when it has no connection free within it, and serves once one is", async () => {
    const log = errorLog();
    const { pool, storage, byokit } = await byokitOnHostPool({ max: 1 }, log.logger);
    // Tight only from here, once the pool's one connection is open and idle: opening it (a new session's fork and its
    // SCRAM exchange) took over 300 ms on a loaded CI machine, and failed the set-up's migration. What this test is
    // about is waiting for a connection that is taken, which pg-pool bounds by the same setting, read at each wait.
    pool.options.connectionTimeoutMillis = 300;

    // Something else holds the pool's only connection.
    let release!: () => void;
    const held = storage.database.transaction(() => new Promise<void>((resolve) => (release = resolve)));
    await sleep(50);
    try {
      const answer = await keyStatus(byokit);
      expectCleanError(answer, 503, 'storage_unavailable');
      // pg-pool's own wait for a free connection ended it, not byokit waiting on (or a statement's timeout).
      expect(log.endedBy(answer)).toMatchObject({ message: 'timeout exceeded when trying to connect' });
    } finally {
      release();
      await held;
    }
    expect((await keyStatus(byokit)).status).toBe(200);
  });
});

const pgModule = createRequire(import.meta.url).resolve('pg');

/**
 * Waits until the server has ended session `pid`, with this process's event loop blocked meanwhile, as a busy
 * host's may be: node-postgres reads nothing until it turns, so the statement sent next goes to the connection the
 * server has already ended and fails with the server's own error. Asked from a child process (10 s at most).
 */
function blockUntilSessionEnds(pid: number) {
  const script = `const pg = require(process.env.PG_MODULE);
    const client = new pg.Client(process.env.DATABASE_URL);
    client.connect()
      .then(() => client.query("DO $$ BEGIN FOR i IN 1..1000 LOOP EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}); PERFORM pg_sleep(0.01); END LOOP; END $$"))
      .then(() => client.query('SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}'))
      .then(({ rowCount }) => client.end().then(() => process.exit(rowCount === 0 ? 0 : 1)));`;
  execFileSync(process.execPath, ['-e', script], { env: { ...process.env, PG_MODULE: pgModule } });
}

/**
 * A TCP proxy in front of the real server, so a test can take "the database" away and bring it back
 * without touching the server that other test files share: `refuse()` cuts every connection and stops
 * listening, `hang()` cuts every connection and then accepts new ones without ever answering, `freeze()` cuts
 * nothing but answers on no connection,
 * `loseAnswers()` forwards what clients send but none of the server's answers, `restore()` forwards again on the same port.
 */
async function startProxy(target: URL) {
  const sockets = new Set<Socket>();
  let mode: 'forward' | 'hang' = 'forward';
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  // Frozen: bytes on open connections are dropped both ways and nothing is closed, as in a network partition.
  let frozen = false;
  // Answers lost: what clients send reaches the server, which acts on it, and its answers are dropped.
  let answersLost = false;
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'hang') return;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (data) => frozen || upstream.write(data));
    upstream.on('data', (data) => frozen || answersLost || client.write(data));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const stopListening = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

  return {
    port,
    async refuse() {
      const closed = stopListening();
      cutAll();
      await closed;
    },
    async hang() {
      mode = 'hang';
      cutAll();
    },
    /** The server's answers on open connections are dropped from now on; what clients send still reaches it. */
    loseAnswers() {
      answersLost = true;
    },
    get frozen() {
      return frozen;
    },
    /** Every open connection stops answering (nothing is cut), and new ones are accepted and never answered. */
    freeze() {
      frozen = true;
      mode = 'hang';
    },
    async restore() {
      frozen = false;
      answersLost = false;
      mode = 'forward';
      if (!server.listening) await listen(port);
    },
    async close() {
      const closed = stopListening();
      cutAll();
      await closed;
    },
  };
}
