// Helpers for this package's tests (not built: tsup builds only the entries it names).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, onTestFinished } from 'vitest';
import type { Byokit, Principal, UsageRecord } from '@byokit/core';
import { createNodeHandler } from '@byokit/core/node';
import type { Database } from './database.js';
import { postgresStorage } from './postgres-storage-factory.js';
import { storageOn, type PostgresStorage } from './postgres-storage.js';
import { sqlNames } from './sql-names.js';

/** Calls byokit's framework-free handler as an adapter would, as `principal`; the answer must be whole (not streamed). */
export async function callAs(principal: Principal, byokit: Byokit, method: string, url: string, body?: unknown) {
  const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  const response = await byokit.handle({
    method,
    url,
    headers: bytes ? { 'content-type': 'application/json' } : {},
    body: bytes ? { kind: 'stream', stream: [bytes] } : { kind: 'none' },
    authenticate: () => principal,
  });
  if (!response || typeof response.body !== 'string') throw new Error(`byokit gave no complete response to ${method} ${url}`);
  return { status: response.status, headers: response.headers, text: response.body, json: JSON.parse(response.body) };
}

/** Where a test's storage lives: its name for the test title, and a fresh storage (not yet migrated) in its own schema. */
export type TestDatabase = [name: string, open: () => Promise<{ storage: PostgresStorage; schema: string }>];

/**
 * The databases a test runs on: always PGlite (one connection, so statements queue up); a real PostgreSQL
 * server too whenever DATABASE_URL is set (.ci/run always sets it), each storage on a schema of its own, dropped
 * after the file. Call at the top level of a test file; open storages inside tests.
 */
export function testDatabases(schemaPrefix: string): TestDatabase[] {
  const databases: TestDatabase[] = [
    [
      'PGlite',
      async () => {
        const pglite = await PGlite.create();
        onTestFinished(() => pglite.close());
        return { storage: postgresStorage({ pglite }), schema: 'public' };
      },
    ],
  ];
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) return databases;
  const servers: Array<{ pool: pg.Pool; schema: string }> = [];
  afterAll(async () => {
    for (const { pool, schema } of servers) {
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await pool.end();
    }
  });
  databases.push([
    'a real PostgreSQL server (DATABASE_URL)',
    async () => {
      const server = {
        pool: new pg.Pool({ connectionString: databaseUrl, max: 10 }),
        schema: `${schemaPrefix}_${randomBytes(6).toString('hex')}`,
      };
      servers.push(server);
      return { storage: postgresStorage(server), schema: server.schema };
    },
  ]);
  return databases;
}

/** A usage record of one input and one output token, none cached or reasoned, for tests that set what they check. */
export function usageRecordOf(changes: Partial<UsageRecord> & Pick<UsageRecord, 'userId' | 'createdAt' | 'costUsd'>): UsageRecord {
  return {
    id: crypto.randomUUID(),
    modelId: '564e8710-43a9-406f-b0ab-e8d651a33e82',
    model: 'claude-sonnet-4-5',
    provider: 'anthropic',
    keySource: 'system',
    status: 'ok',
    inputTokens: 1,
    outputTokens: 1,
    cachedInputTokens: null,
    cacheWriteTokens: null,
    reasoningTokens: null,
    prices: null,
    latencyMs: 1,
    requestId: 'req',
    ...changes,
  };
}

/**
 * Serves `byokit` at `<base>` (a free port of 127.0.0.1, mounted at /v2) as a host's node does, the auth
 * `Bearer <user id>` (`Bearer admin` the admin's). `close()` (once, however often called; also when the test ends)
 * ends its connections and then byokit.
 */
export async function servedOverHttp(byokit: Byokit): Promise<{ base: string; close: () => Promise<void> }> {
  const routes = createNodeHandler(byokit, { authenticate: bearerUser, prefix: '/v2' });
  const server = createServer((request, response) => {
    routes(request, response).then(
      (handled) => handled || response.writeHead(404).end(),
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await byokit.close();
    })());
  onTestFinished(close);
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`, close };
}

function bearerUser(request: IncomingMessage): Principal | null {
  const userId = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  return userId === undefined ? null : { userId, isAdmin: userId === 'admin' };
}

/** A node of a plan, as EXPLAIN (FORMAT JSON) gives it: what the plan tests read. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** A statement as byokit sends it: text with `$1`, `$2`, … and their values. */
export interface Statement {
  text: string;
  params: readonly unknown[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

/** A parameter as an SQL literal, for EXECUTE (test values only: text, numbers and Dates). */
const literal = (value: unknown) =>
  typeof value === 'number' ? String(value) : `'${(value instanceof Date ? value.toISOString() : String(value)).replaceAll("'", "''")}'`;

/**
 * Every node of the plan of `statement`, prepared as byokit prepares its statements, as the plan for its values
 * (`force_custom_plan`) or the generic plan a connection switches to after five runs (`force_generic_plan`), with
 * sequential scans priced out as on a table of millions: which index a question reads, with no data to load.
 */
export async function planOf(
  database: Database,
  statement: Statement,
  mode: 'force_custom_plan' | 'force_generic_plan',
): Promise<PlanNode[]> {
  return database.transaction(async (transaction) => {
    await transaction.query(`SET LOCAL enable_seqscan = off`);
    await transaction.query(`SET LOCAL plan_cache_mode = ${mode}`);
    await transaction.query(`PREPARE plan_of AS ${statement.text}`);
    try {
      const [row] = await transaction.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) EXECUTE plan_of(${statement.params.map(literal).join(', ')})`,
      );
      const json = row!['QUERY PLAN'];
      return nodesOf((typeof json === 'string' ? JSON.parse(json) : json)[0].Plan);
    } finally {
      await transaction.query('DEALLOCATE plan_of');
    }
  });
}

/** The indexes a plan reads, each once. */
export const indexesOf = (nodes: readonly PlanNode[]): string[] => [...new Set(nodes.flatMap((node) => node['Index Name'] ?? []))];

/** Which indexes one statement's plan reads, in one of the two modes of {@link planOf}, sorted. */
export interface PlanIndexes {
  page: number;
  mode: 'force_custom_plan' | 'force_generic_plan';
  indexes: string[];
}

/**
 * A migrated storage of `open` whose statements are kept as they are sent (`recorded`), and `indexesRead()`: for each
 * statement sent so far, in order, the indexes its custom and its generic plan read.
 */
export async function recordingStorage(
  open: TestDatabase[1],
): Promise<{ recorded: PostgresStorage; indexesRead(): Promise<PlanIndexes[]> }> {
  const { storage, schema } = await open();
  await storage.migrate();
  const statements: Statement[] = [];
  const database: Database = {
    ...storage.database,
    query: (text, params, options) => {
      statements.push({ text, params: params ?? [] });
      return storage.database.query(text, params, options);
    },
  };
  const indexesRead = async () => {
    const read: PlanIndexes[] = [];
    for (const [page, statement] of statements.entries()) {
      for (const mode of ['force_custom_plan', 'force_generic_plan'] as const) {
        read.push({ page, mode, indexes: indexesOf(await planOf(storage.database, statement, mode)).sort() });
      }
    }
    return read;
  };
  return { recorded: storageOn(database, sqlNames(schema)), indexesRead };
}

/** What {@link recordingStorage}'s `indexesRead()` should give: `indexes[page]` for each statement, in both modes. */
export const readingIndexes = (...indexes: string[][]): PlanIndexes[] =>
  indexes.flatMap((names, page) =>
    (['force_custom_plan', 'force_generic_plan'] as const).map((mode) => ({ page, mode, indexes: [...names].sort() })),
  );
