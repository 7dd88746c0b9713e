// What metering costs (issue: usage metering): chat throughput through byokit on PostgreSQL with usage
// records written vs dropped, and with a budget held per call on top, in the same run (wrk, 3 rounds,
// rotated), the records written per second while it lasts; and the usage queries over one million records,
// as ratios to `SELECT 1` on the same pool.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { fakeProviderKey } from '@byokit/core/testing';
import { postgresStorage } from '@byokit/storage-postgres';
import { ChildProcesses } from './chat/processes.mjs';
import { requestFor } from './chat/targets.mjs';
import { findWrk, parseWrk, writeLuaScript } from './chat/wrk.mjs';
import { databaseUrl } from './database.mjs';
import { measure, median, row } from './measure.mjs';

const ROUNDS = 3;
/** Records dropped; a record per call; a record and a budget hold per call. */
const ARMS = ['off', 'on', 'budget'];
const LOAD = { threads: 2, connections: 50, seconds: 5 };
const MILLION = 1_000_000;
const node = process.execPath;
const MOCK_CLI = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));
const BYOKIT_SERVER = fileURLToPath(new URL('./chat/servers/byokit-server.mjs', import.meta.url));

export async function runMetering() {
  const url = databaseUrl();
  const wrk = findWrk();
  if (!url || !wrk) {
    console.log(`\nmetering: skipped (${url ? 'no wrk' : 'no PostgreSQL server: set DATABASE_URL'})`);
    return;
  }
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const schemas = Object.fromEntries(ARMS.map((arm) => [arm, `bench_${randomBytes(5).toString('hex')}`]));
  try {
    await chatThroughput(url, wrk, pool, schemas);
    await usageQueries(pool, schemas.on);
  } finally {
    for (const schema of Object.values(schemas)) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

/**
 * byokit on PostgreSQL, usage records dropped (off), written (on), or written with a budget hold before each
 * call (budget), the same mock behind all three. Each arm has its own schema, so counts do not mix.
 */
async function chatThroughput(url, wrk, pool, schemas) {
  const processes = new ChildProcesses();
  const directory = mkdtempSync(join(tmpdir(), 'byokit-bench-metering-'));
  const secrets = { token: randomBytes(24).toString('base64url'), anthropicKey: fakeProviderKey('anthropic') };
  try {
    const mock = await processes.start(node, [MOCK_CLI, '--port', '0'], { label: 'mock providers' });
    const servers = {};
    for (const arm of ARMS) {
      const env = {
        BENCH_TOKEN: secrets.token,
        BENCH_ANTHROPIC_KEY: secrets.anthropicKey,
        BENCH_DATABASE_URL: url,
        BENCH_SCHEMA: schemas[arm],
      };
      const args = [
        BYOKIT_SERVER,
        '--anthropic-base-url',
        mock.info.anthropic,
        '--storage=postgres',
        `--metering=${arm === 'off' ? 'off' : 'on'}`,
        `--budget=${arm === 'budget' ? 'on' : 'off'}`,
      ];
      servers[arm] = await processes.start(node, args, { env, label: `byokit (metering ${arm})` });
    }
    const request = requestFor('byokit', { ...secrets, stream: false });
    const script = writeLuaScript(directory, 'metering', request);
    const load = async (arm, seconds) => {
      const target = `http://127.0.0.1:${servers[arm].info.port}${request.path}`;
      const output = await processes.run(wrk, [`-t${LOAD.threads}`, `-c${LOAD.connections}`, `-d${seconds}s`, '-s', script, target], {
        timeoutMs: (seconds + 20) * 1000,
        label: `wrk (metering ${arm})`,
      });
      return parseWrk(output);
    };
    const records = async (arm) => Number((await pool.query(`SELECT count(*) FROM "${schemas[arm]}".byokit_usage_events`)).rows[0].count);
    for (const arm of ARMS) await load(arm, 1);
    const rates = Object.fromEntries(ARMS.map((arm) => [arm, []]));
    const written = { on: [], budget: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Rotated: each arm runs first, second and third once.
      const order = ARMS.map((_, index) => ARMS[(index + round) % ARMS.length]);
      for (const arm of order) {
        const before = arm === 'off' ? 0 : await records(arm);
        const result = await load(arm, LOAD.seconds);
        if (result.non2xx + result.socketErrors > 0)
          throw new Error(`metering ${arm}: ${result.non2xx + result.socketErrors} failed responses`);
        rates[arm].push(result.requestsPerSecond);
        // Records land just after their answers: wait for the last ones before counting.
        if (arm !== 'off') {
          await new Promise((resolve) => setTimeout(resolve, 500));
          written[arm].push((await records(arm)) - before);
        }
      }
    }
    const off = median(rates.off);
    const line = (label, arm) => ({
      metering: label,
      'req/s (median)': median(rates[arm]).toFixed(0),
      'min–max': `${Math.min(...rates[arm]).toFixed(0)}–${Math.max(...rates[arm]).toFixed(0)}`,
      ...(arm !== 'off' && {
        'records/s sustained': (median(written[arm]) / LOAD.seconds).toFixed(0),
        '× off': (median(rates[arm]) / off).toFixed(2),
      }),
    });
    console.log(
      `\nMetering on the chat path: byokit on PostgreSQL, wrk -t${LOAD.threads} -c${LOAD.connections} -d${LOAD.seconds}s, ${ROUNDS} rounds, plain chat requests`,
    );
    console.table([
      line('off (records dropped)', 'off'),
      line('on (a record per call, written in batches)', 'on'),
      line('on, and a budget held before each call', 'budget'),
    ]);
  } finally {
    await processes.stopAll();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The usage routes' queries over a million records (10,000 users, 60 days), against `SELECT 1` on the same pool. */
async function usageQueries(pool, schema) {
  const storage = postgresStorage({ pool, schema });
  await storage.migrate();
  const table = `"${schema}".byokit_usage_events`;
  const started = performance.now();
  await pool.query(
    `INSERT INTO ${table} (id, created_at, user_id, model_id, model, provider, key_source, status, input_tokens, output_tokens,
       cached_input_tokens, reasoning_tokens, cost_usd, input_per_mtok_usd, output_per_mtok_usd, latency_ms, request_id)
     SELECT gen_random_uuid(), timestamptz '2026-10-01' + (i % 5184000) * interval '1 second', 'user-' || (i % 10000),
       '564e8710-43a9-406f-b0ab-e8d651a33e82', 'claude-sonnet-4-5', (ARRAY['anthropic','openai','google'])[1 + i % 3],
       (ARRAY['user','system'])[1 + i % 2], 'ok', 12 + i % 500, 30 + i % 900, 0, 0, ((12 + i % 500) * 3 + (30 + i % 900) * 15) / 1000000.0,
       3, 15, 200 + i % 800, 'bench-' || i
     FROM generate_series(1, $1) AS i`,
    [MILLION],
  );
  await pool.query(`ANALYZE ${table}`);
  const loadedIn = ((performance.now() - started) / 1000).toFixed(1);
  const november = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };
  const cases = [
    ['floor: SELECT 1 round trip', () => pool.query('SELECT 1')],
    [
      "one user's month by day (GET /llm/usage/me?group_by=day)",
      () => storage.summarizeUsage({ userId: 'user-42', ...november, groupBy: 'day' }),
    ],
    ["one user's latest 20 records (GET /llm/usage/me/events)", () => storage.listUsage({ userId: 'user-42', limit: 20 })],
    [
      "everyone's month by provider (GET /admin/usage?group_by=provider)",
      () => storage.summarizeUsage({ ...november, groupBy: 'provider' }),
    ],
  ];
  const results = await measure(cases, { budgetMs: 1500 });
  const floor = results['floor: SELECT 1 round trip'].median;
  console.log(
    `\nUsage queries over ${MILLION.toLocaleString('en')} records (10,000 users, 60 days; loaded in ${loadedIn} s), one at a time`,
  );
  console.table(Object.entries(results).map(([name, result]) => row(name, result, floor)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runMetering();
