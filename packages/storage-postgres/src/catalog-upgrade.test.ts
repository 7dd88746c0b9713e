// The built-in catalog across upgrades, on the database: what an admin did under an earlier release (added a model a
// later release ships built in; changed a built-in before the release knew which parameters it refuses) is read by
// this release's nodes as the admin left it, with the release's knowledge of the provider's model.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createByokit, Keyring, type CatalogModel, type Principal } from '@byokit/core';
import { callAs, testDatabases } from './test-helpers.js';

const admin: Principal = { userId: 'user-admin', isAdmin: true };
const SONNET_5_5_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const OPUS_5_5_ID = 'e6616f4a-d5ba-5009-9d5e-eadeb729ad57';

describe.each(testDatabases('catalog_upgrade'))('the catalog an earlier release left, on %s', (_name, openStorage) => {
  it("shows a model an admin added before the release shipped it once, as the admin left it, and a changed built-in with the release's refused parameters", async () => {
    const { storage } = await openStorage();
    await storage.migrate();
    // As an earlier release saved them: Claude Sonnet 5.5 added by an admin (a random id), Opus 5.5 re-priced.
    const added: CatalogModel = {
      id: '5a1d2b3c-0000-4000-8000-000000000001',
      provider: 'anthropic',
      model: 'claude-sonnet-5-5',
      displayName: 'Sonnet 5.5 (ours)',
      isActive: true,
      contextWindow: 1_000_000,
      maxOutputTokens: 64_000,
      pricing: { inputPerMTokUsd: '2.2', outputPerMTokUsd: '11' },
    };
    const repriced: CatalogModel = { ...added, id: OPUS_5_5_ID, model: 'claude-opus-5-5', displayName: 'Claude Opus 5.5' };
    await storage.saveModel(added, new Date());
    await storage.saveModel(repriced, new Date());
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {} });
    onTestFinished(() => byokit.close());

    const listed = (await callAs(admin, byokit, 'GET', '/llm-models/?all=true&provider=anthropic')).json.data;
    const shown = (model: string) =>
      listed
        .filter((entry: { model: string }) => entry.model === model)
        .map((entry: Record<string, unknown>) => [entry.id, entry.display_name, entry.pricing, entry.ignored_parameters]);
    const pricing = { input_per_mtok_usd: '2.2', output_per_mtok_usd: '11' };
    expect(shown('claude-sonnet-5-5')).toEqual([[added.id, 'Sonnet 5.5 (ours)', pricing, ['temperature', 'top_p']]]);
    expect(shown('claude-opus-5-5')).toEqual([[OPUS_5_5_ID, 'Claude Opus 5.5', pricing, ['temperature', 'top_p']]]);

    const patched = await callAs(admin, byokit, 'PATCH', `/llm-models/${SONNET_5_5_ID}`, { is_active: false });
    expect([patched.status, patched.json.error.code]).toEqual([404, 'model_not_found']);
    expect((await storage.listModels()).map((model) => model.id).sort()).toEqual([added.id, OPUS_5_5_ID].sort());
  });
});
