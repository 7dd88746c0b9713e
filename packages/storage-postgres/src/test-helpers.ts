// Helpers for this package's tests (not built: tsup builds only the entries it names).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, onTestFinished } from 'vitest';
import type { Byokit, Principal, UsageRecord } from '@byokit/core';
import { createNodeHandler } from '@byokit/core/node';
import { postgresStorage } from './postgres-storage-factory.js';
import type { PostgresStorage } from './postgres-storage.js';

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
