// A host that shares its database with byokit often sets node-postgres' (or PGlite's) type parsers for its own
// rows: numeric parsed to a JS number is common (`types.setTypeParser(1700, parseFloat)`). byokit's money must
// stay exact whatever the host chose: every numeric column is read as text.
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { CatalogModel } from '@byokit/core';
import { postgresStorage } from './index.js';
import type { PostgresStorage } from './postgres-storage.js';
import { usageRecordOf } from './test-helpers.js';

const NUMERIC = 1700;
const model: CatalogModel = {
  id: crypto.randomUUID(),
  provider: 'openai',
  model: 'gpt-exact',
  displayName: 'Exact prices',
  isActive: true,
  contextWindow: 1000,
  maxOutputTokens: 100,
  // More digits than a double holds, and a price a float would print as 1.1e-17.
  pricing: {
    inputPerMTokUsd: '1.23456789012345678901',
    outputPerMTokUsd: '0.000000000000000011',
    cachedInputPerMTokUsd: '30',
    cacheWritePerMTokUsd: '3.75',
  },
};

const opened: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of opened.reverse()) await close();
});

const databases: Array<[string, () => Promise<PostgresStorage>]> = [
  [
    'PGlite created with a numeric parser',
    async () => {
      const pglite = await PGlite.create({ parsers: { [pgliteTypes.NUMERIC]: (text: string) => Number.parseFloat(text) } });
      opened.push(() => pglite.close());
      return postgresStorage({ pglite });
    },
  ],
];
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) {
  databases.push([
    'a node-postgres pool with a numeric parser',
    async () => {
      const parsers = {
        getTypeParser: (oid: number, format?: 'text') => (oid === NUMERIC ? Number.parseFloat : pg.types.getTypeParser(oid, format)),
      };
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, types: parsers as pg.CustomTypesConfig });
      const schema = `host_types_${crypto.randomUUID().slice(0, 8)}`;
      opened.push(async () => {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await pool.end();
      });
      return postgresStorage({ pool, schema });
    },
  ]);
}

describe.each(databases)('on %s', (_name, open) => {
  it("an admin model's prices read back exactly as saved, as decimal text", async () => {
    const storage = await open();
    await storage.migrate();
    await storage.saveModel(model, new Date('2026-12-04T00:00:00Z'));
    expect(await storage.listModels()).toEqual([model]);
  });

  it('usage costs, their sums, budgets and what a budget has used stay exact decimal text', async () => {
    const storage = await open();
    await storage.migrate();
    const at = new Date('2026-12-04T00:00:00Z');
    const december = { start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') };
    const record = usageRecordOf({
      createdAt: at,
      userId: 'user-exact',
      modelId: model.id,
      model: model.model,
      provider: model.provider,
      costUsd: '9007199254.740993000001',
      prices: { inputPerMTokUsd: '1.23456789012345678901', outputPerMTokUsd: '0.000000000000000011' },
    });
    await storage.recordUsage([record]);
    await storage.setBudget('user-exact', { monthlyLimitUsd: '9007199254.740993000002', appliesTo: 'all', updatedAt: at });
    expect((await storage.listUsage({ limit: 10 })).records).toEqual([record]);
    expect((await storage.summarizeUsage({ groupBy: 'user' })).totals.costUsd).toBe('9007199254.740993000001');
    expect((await storage.getBudget('user-exact'))?.monthlyLimitUsd).toBe('9007199254.740993000002');
    expect(await storage.budgetUse('user-exact', december, 'all', at)).toEqual({ spentUsd: '9007199254.740993000001', heldUsd: '0' });
  });
});
