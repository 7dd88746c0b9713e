// Storage.listModels lists admin models in code-point order, which the catalog keeps: on a database that sorts
// text by another collation (en_US is common; it ignores "-" and letter case at first), the order of the models
// users see must not change. Simulated on the real server by giving the name column an ICU collation.
import { describe, expect, it } from 'vitest';
import type { CatalogModel } from '@byokit/core';
import { testDatabases } from './test-helpers.js';

// PGlite has no ICU collations: a real server only (DATABASE_URL; .ci/run always sets it).
const server = testDatabases('model_order').find(([name]) => name !== 'PGlite');

describe.runIf(server)('admin models on a real PostgreSQL server, with a name column sorted by en-x-icu', () => {
  it('are listed by provider and name in code-point order all the same', async () => {
    const { storage, schema } = await server![1]();
    await storage.migrate();
    await storage.database.query(`ALTER TABLE "${schema}"."byokit_models" ALTER COLUMN model TYPE text COLLATE "en-x-icu"`);
    const names = ['b', 'B', 'a-b', 'aa', 'a_b', 'a.b', 'A9', 'a'];
    const at = new Date('2026-12-04T00:00:00Z');
    for (const name of names) {
      const model: CatalogModel = {
        id: crypto.randomUUID(),
        provider: 'openai',
        model: `m${name}`,
        displayName: name,
        isActive: true,
        contextWindow: 1000,
        maxOutputTokens: 100,
        pricing: null,
      };
      await storage.saveModel(model, at);
    }
    const listed = (await storage.listModels()).map((model) => model.model);
    expect(listed).toEqual(['mA9', 'mB', 'ma', 'ma-b', 'ma.b', 'ma_b', 'maa', 'mb']);
  });
});
