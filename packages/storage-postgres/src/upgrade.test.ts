// Upgrading a deployment: a schema that an earlier release made, full of its data, migrated by this one; a migration
// that fails; several nodes of this release starting at once on an older schema. Each earlier schema is built by the
// real migrations up to its version (migrate's `through`), as the release that shipped them left it.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createByokit, Keyring, sealProviderKey } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { migrate, type MigrationLockWait } from './migrate.js';
import { postgresStorage } from './postgres-storage-factory.js';
import { sqlNames } from './sql-names.js';
import { testDatabases } from './test-helpers.js';

/** Every migration the package ships, e.g. `['0001_initial']`, in order. */
const SHIPPED = readdirSync(new URL('../migrations/', import.meta.url))
  .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
  .sort()
  .map((file) => file.replace(/\.sql$/, ''));
const LATEST_VERSION = Number(SHIPPED.at(-1)!.slice(0, 4));
const after = (version: number) => SHIPPED.filter((name) => Number(name.slice(0, 4)) > version);

/** The calendar month (UTC) `at` falls in. */
function monthOf(at: Date) {
  return {
    start: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)),
    end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)),
  };
}

describe.each(testDatabases('upgrade'))('upgrading a schema on %s', (_name, openStorage) => {
  it('keeps what the first schema held readable and unchanged: keys open, usage totals, spend, holds, model prices and the audit', async () => {
    const { storage, schema } = await openStorage();
    await migrate(storage.database, sqlNames(schema), { through: 1 });
    const table = (name: string) => `"${schema}"."byokit_${name}"`;
    const insert = (name: string, row: Record<string, unknown>) =>
      storage.database.query(
        `INSERT INTO ${table(name)} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map((_, index) => `$${index + 1}`)})`,
        Object.values(row),
      );

    // What a node of the first release wrote, in that schema's columns.
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const adaKey = fakeProviderKey('openai');
    const systemKey = fakeProviderKey('anthropic');
    const written = new Date('2026-06-01T00:00:00Z');
    for (const [ownerType, ownerId, provider, plaintext] of [
      ['user', 'ada', 'openai', adaKey],
      ['system', 'system', 'anthropic', systemKey],
    ] as const) {
      const { envelope, keyId } = sealProviderKey(keyring, plaintext, { ownerType, ownerId, provider });
      const hint = `…${plaintext.slice(-4)}`;
      await insert('provider_keys', {
        owner_type: ownerType,
        owner_id: ownerId,
        provider,
        envelope,
        master_key_id: keyId,
        hint,
        created_at: written,
        updated_at: written,
      });
      await insert('key_audit', {
        id: randomUUID(),
        at: written,
        actor_id: 'admin',
        owner_type: ownerType,
        owner_id: ownerId,
        provider,
        action: 'set',
        hint,
        request_id: `set-${provider}`,
      });
    }
    const modelId = randomUUID();
    await insert('models', {
      id: modelId,
      provider: 'openai',
      model: 'gpt-old',
      display_name: 'GPT Old',
      is_active: true,
      context_window: 128000,
      max_output_tokens: 4096,
      input_per_mtok_usd: '1.25',
      output_per_mtok_usd: '10',
      cached_input_per_mtok_usd: '0.125',
      created_at: written,
      updated_at: written,
    });
    const now = new Date();
    const month = monthOf(now);
    const lastMonth = new Date(month.start.getTime() - 1);
    const usage = [
      { at: month.start, keySource: 'system', cost: '0.000000000001' },
      { at: now, keySource: 'user', cost: '2.5' },
      { at: now, keySource: 'system', cost: '0.3' },
      { at: lastMonth, keySource: 'system', cost: '7' },
    ];
    for (const { at, keySource, cost } of usage) {
      await insert('usage_events', {
        id: randomUUID(),
        created_at: at,
        user_id: 'ada',
        model_id: modelId,
        model: 'gpt-old',
        provider: 'openai',
        key_source: keySource,
        status: 'ok',
        input_tokens: 1000,
        output_tokens: 10,
        cached_input_tokens: 100,
        reasoning_tokens: null,
        cost_usd: cost,
        input_per_mtok_usd: '1.25',
        output_per_mtok_usd: '10',
        cached_input_per_mtok_usd: '0.125',
        latency_ms: 5,
        request_id: 'call',
      });
    }
    await insert('budgets', { user_id: 'ada', monthly_limit_usd: '5', applies_to: 'all', updated_at: written });
    // A call of that node still running: its hold counts until it ends.
    const holdId = randomUUID();
    await insert('budget_reservations', {
      id: holdId,
      user_id: 'ada',
      period_start: month.start,
      amount_usd: '1',
      created_at: now,
      expires_at: new Date(now.getTime() + 15 * 60_000),
    });

    expect((await storage.migrate()).applied).toEqual(after(1));

    // The keys open with the keyring that sealed them (createByokit's start-up check opens them too).
    const byokit = await createByokit({ storage, keyring, environment: {} });
    onTestFinished(() => byokit.close());
    const resolved = await byokit.resolveKey({ userId: 'ada' }, 'openai');
    expect([resolved.source, resolved.key.reveal()]).toEqual(['user', adaKey]);
    const system = await byokit.resolveKey({ userId: 'bob' }, 'anthropic');
    expect([system.source, system.key.reveal()]).toEqual(['system', systemKey]);
    expect((await storage.listAudit()).map((record) => record.requestId).sort()).toEqual(['set-anthropic', 'set-openai']);

    expect((await storage.listModels()).find((model) => model.id === modelId)).toEqual({
      id: modelId,
      provider: 'openai',
      model: 'gpt-old',
      displayName: 'GPT Old',
      isActive: true,
      contextWindow: 128000,
      maxOutputTokens: 4096,
      pricing: { inputPerMTokUsd: '1.25', outputPerMTokUsd: '10', cachedInputPerMTokUsd: '0.125' },
    });

    const { totals } = await storage.summarizeUsage({ userId: 'ada' });
    expect(totals).toMatchObject({
      requests: 4,
      inputTokens: 4000,
      cachedInputTokens: 400,
      cacheWriteTokens: 0,
      costUsd: '9.800000000001',
    });
    const page = await storage.listUsage({ userId: 'ada', limit: 10 });
    expect(page.records.map((record) => [record.costUsd, record.cacheWriteTokens, record.prices])).toContainEqual([
      '2.5',
      null,
      { inputPerMTokUsd: '1.25', outputPerMTokUsd: '10', cachedInputPerMTokUsd: '0.125' },
    ]);

    // This month's spend (0003 filled it from the records) and the running call's hold: 2.8 + 1 of 5.
    expect(await storage.budgetUse('ada', month, 'all', now)).toEqual({ spentUsd: '2.800000000001', heldUsd: '1' });
    const hold = (amountUsd: string) => ({
      id: randomUUID(),
      userId: 'ada',
      amountUsd,
      periodStart: month.start,
      periodEnd: month.end,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 15 * 60_000),
    });
    expect(await storage.holdBudget(hold('1.2'), 'user')).toBe('exceeded');
    expect(await storage.holdBudget(hold('1.199999999999'), 'user')).toBe('held');
  });

  it('a migration that fails midway applies nothing of its run, names itself and the version the schema is still at, and the next run applies it all', async () => {
    const { storage, schema } = await openStorage();
    await migrate(storage.database, sqlNames(schema), { through: 4 });
    // 0005 adds two columns to the usage records: one already there (a stand-in for any statement failing) fails
    // its second statement, after its first ran.
    await storage.database.query(`ALTER TABLE "${schema}".byokit_usage_events ADD COLUMN cache_write_per_mtok_usd numeric`);
    const columns = async () =>
      (
        await storage.database.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'byokit_usage_events'`,
          [schema],
        )
      ).map((row) => row.column_name);
    const versions = async () =>
      (await storage.database.query<{ version: number }>(`SELECT version FROM "${schema}".byokit_migrations ORDER BY version`)).map((row) =>
        Number(row.version),
      );

    const error = await storage.migrate().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      `Migration 0005_usage_cache_writes failed and nothing of this run was applied (the schema ${schema}.byokit_* is still at version 4): ` +
        'column "cache_write_per_mtok_usd" of relation "byokit_usage_events" already exists',
    );
    expect(await columns()).not.toContain('cache_write_tokens');
    expect(await versions()).toEqual([1, 2, 3, 4]);

    await storage.database.query(`ALTER TABLE "${schema}".byokit_usage_events DROP COLUMN cache_write_per_mtok_usd`);
    expect(await storage.migrate()).toEqual({ applied: after(4), version: LATEST_VERSION });
    expect(await columns()).toEqual(expect.arrayContaining(['cache_write_tokens', 'cache_write_per_mtok_usd']));
  });
});

const databaseUrl = process.env.DATABASE_URL;
describe.runIf(databaseUrl)('several nodes of this release starting at once on a real PostgreSQL server', () => {
  it('migrate a schema an earlier release left exactly once: one applies the later migrations, the others find them done', async () => {
    const nodes = [0, 1, 2].map(() => new pg.Pool({ connectionString: databaseUrl, max: 2 }));
    const schema = `upgrade_${randomBytes(6).toString('hex')}`;
    onTestFinished(async () => {
      await nodes[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all(nodes.map((node) => node.end()));
    });
    for (const through of [1, 4, LATEST_VERSION - 1]) {
      await nodes[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      const first = postgresStorage({ pool: nodes[0]!, schema });
      await migrate(first.database, sqlNames(schema), { through });

      const results = await Promise.all(nodes.map((pool) => postgresStorage({ pool, schema }).migrate()));
      expect(results.flatMap((result) => result.applied)).toEqual(after(through));
      expect(results.map((result) => result.version)).toEqual([LATEST_VERSION, LATEST_VERSION, LATEST_VERSION]);
      const rows = await nodes[0]!.query(
        `SELECT version, count(*)::int AS times FROM "${schema}".byokit_migrations GROUP BY version ORDER BY version`,
      );
      expect(rows.rows).toEqual(SHIPPED.map((name) => ({ version: Number(name.slice(0, 4)), times: 1 })));
    }
  });
});

describe.runIf(databaseUrl)('a migration meeting a long transaction on a table it changes, on a real PostgreSQL server', () => {
  /** A schema at version 4, and a session of its own holding a read lock on the usage records until it ends. */
  async function schemaWithAReader() {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    const schema = `upgrade_${randomBytes(6).toString('hex')}`;
    const storage = postgresStorage({ pool, schema });
    await migrate(storage.database, sqlNames(schema), { through: 4 });
    const reader = await pool.connect();
    await reader.query('BEGIN');
    await reader.query(`SELECT count(*) FROM "${schema}".byokit_usage_events`);
    let readerOpen = true;
    const endReader = async () => {
      if (!readerOpen) return;
      readerOpen = false;
      await reader.query('COMMIT');
      reader.release();
    };
    onTestFinished(async () => {
      await endReader();
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    });
    const versions = async () =>
      (await pool.query<{ version: number }>(`SELECT version FROM "${schema}".byokit_migrations ORDER BY version`)).rows.map((row) =>
        Number(row.version),
      );
    return { pool, schema, storage, endReader, versions };
  }

  it("gives way to it, so that byokit's statements on that table do not queue behind the migration, and applies it once it ends", async () => {
    const { pool, schema, storage, endReader, versions } = await schemaWithAReader();
    const migrating = migrate(storage.database, sqlNames(schema), { lockTimeoutMs: 200, lockAttempts: 1_000 });
    // 0005 alters the usage records: it waits for the reader's lock, and every statement on the table after it
    // would wait behind it, a user's usage read or the next usage record, until the reader ends.
    await expect
      .poll(
        async () =>
          (
            await pool.query(
              `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ALTER TABLE "${schema}"."byokit_usage_events"%'`,
            )
          ).rowCount,
        { timeout: 10_000 },
      )
      .toBe(1);
    const statement = await pool.connect();
    try {
      // Far longer than the migration's wait for its lock, far shorter than the reader's transaction.
      await statement.query("SET statement_timeout = '5s'");
      for (let read = 0; read < 3; read++) await statement.query(`SELECT count(*) FROM "${schema}".byokit_usage_events`);
    } finally {
      statement.release();
    }
    expect(await versions()).toEqual([1, 2, 3, 4]);
    await endReader();
    expect(await migrating).toEqual({ applied: after(4), version: LATEST_VERSION });
  });

  it('gives up after its attempts with an error that says what it waited for, and applies nothing', async () => {
    const { schema, storage, versions } = await schemaWithAReader();
    const waits: MigrationLockWait[] = [];
    const migrating = migrate(storage.database, sqlNames(schema), {
      lockTimeoutMs: 50,
      lockAttempts: 3,
      onLockWait: (wait) => waits.push(wait),
    });
    await expect(migrating).rejects.toThrow(
      `Migration ${after(4)[0]} waited 50 ms for a lock on a table it changes, 3 times: another session holds one (a long transaction, a report, a pg_dump: see pg_locks and pg_stat_activity). Nothing of this run was applied (the schema ${schema}.byokit_* is still at version 4); run it again once that session ends.`,
    );
    expect(await versions()).toEqual([1, 2, 3, 4]);
    // Each run that gave way and will start again is reported (the last one fails instead), its pause growing.
    expect(waits).toEqual([
      { migration: after(4)[0], run: 1, runs: 3, pauseMs: 50 },
      { migration: after(4)[0], run: 2, runs: 3, pauseMs: 100 },
    ]);
  });
});
