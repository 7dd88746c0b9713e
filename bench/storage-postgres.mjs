// Key status and key resolution against a real PostgreSQL server, as ratios to a bare `SELECT 1` round
// trip on the same pool in the same run: how much byokit adds on top of the database it waits for.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createByokit, Keyring } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { postgresStorage } from '@byokit/storage-postgres';
import { databaseUrl } from './database.mjs';
import { measure, row } from './measure.mjs';

export async function runStoragePostgres() {
  const url = databaseUrl();
  if (!url) {
    console.log(
      '\nstorage-postgres: skipped, no PostgreSQL server (set DATABASE_URL, or run as root so scripts/start-postgres.sh can start one)',
    );
    return;
  }
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const storage = postgresStorage({ pool, schema });
  await storage.migrate();
  try {
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const cached = await createByokit({ storage, keyring, environment: {}, keyCache: { ttlMs: 60_000 } });
    const uncached = await createByokit({ storage, keyring, environment: {}, keyCache: { ttlMs: 0 } });
    const alice = { userId: 'alice', isAdmin: false };
    const body = new TextEncoder().encode(JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }));
    await cached.handle({
      method: 'PATCH',
      url: '/users/me/api-key',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'stream', stream: [body] },
      authenticate: () => alice,
    });
    const status = { method: 'GET', url: '/users/me/api-key-status', headers: {}, body: { kind: 'none' }, authenticate: () => alice };

    const cases = [
      ['floor: SELECT 1 round trip', () => pool.query('SELECT 1')],
      ['GET /users/me/api-key-status (2 queries, in parallel)', () => cached.handle(status)],
      ['resolveKey, no cache (1 query + decrypt)', () => uncached.resolveKey(alice, 'anthropic')],
      ['resolveKey, cached', () => cached.resolveKey(alice, 'anthropic')],
    ];
    for (const concurrency of [1, 16]) {
      const results = await measure(cases, { concurrency, budgetMs: 500 });
      const floor = results['floor: SELECT 1 round trip'].median;
      console.log(
        `\nstorage-postgres on PostgreSQL ${(await pool.query('SHOW server_version')).rows[0].server_version}, ${concurrency === 1 ? 'one request at a time (latency)' : `${concurrency} in flight (throughput)`}; 3 rounds, rotated order`,
      );
      console.table(Object.entries(results).map(([name, result]) => row(name, result, floor)));
    }
  } finally {
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  }
}
