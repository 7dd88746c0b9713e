// Admin models: saved, replaced and changed as stored, one per provider and name even when raced, reloaded as saved, in code-point order; no object shared with the caller.
import { beforeEach, expect, it } from 'vitest';
import { createByokit, type Byokit } from '../../byokit.js';
import type { CatalogModel } from '../../catalog/model.js';
import { Keyring } from '../../crypto/keyring.js';
import { ByokitError } from '../../errors.js';
import { PROVIDERS } from '../../keys/providers.js';
import type { Storage } from '../../storage/storage.js';
import { uniqueNumber } from './fixtures.js';
import type { StorageSuite } from './suite.js';

export function describeAdminModels(suite: StorageSuite): void {
  const { options, destroy, at, later } = suite;
  let storage: Storage;
  // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
  beforeEach(() => {
    storage = suite.storage;
  });

  it('keeps admin models: adds, replaces by id, refuses a second model of the same provider and name', async () => {
    const id = crypto.randomUUID();
    const name = `conformance-model-${uniqueNumber()}`;
    const model: CatalogModel = {
      id,
      provider: 'openai',
      model: name,
      displayName: 'Conformance model',
      isActive: true,
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      pricing: { inputPerMTokUsd: '0.15', outputPerMTokUsd: '0.6', cachedInputPerMTokUsd: '0.075', cacheWritePerMTokUsd: '0.1875' },
      ignoredParameters: ['temperature', 'top_p'],
    };
    await storage.saveModel(model, at);
    expect((await storage.listModels()).find((saved) => saved.id === id)).toEqual(model);
    const { ignoredParameters: _dropped, ...withoutIgnored } = model;
    const changed = { ...withoutIgnored, isActive: false, displayName: 'Renamed', pricing: null };
    await storage.saveModel(changed, later);
    // Strictly: the ignored parameters it was saved without are left out, not there as undefined (Storage's "Values").
    expect((await storage.listModels()).filter((saved) => saved.id === id)).toStrictEqual([changed]);
    // A ByokitError `conflict` (409): two admins adding the same model at once both pass the route's check.
    await expect(storage.saveModel({ ...model, id: crypto.randomUUID() }, later)).rejects.toMatchObject({ code: 'conflict' });
    expect((await storage.listModels()).filter((saved) => saved.model === name)).toHaveLength(1);
  });

  it('keeps an admin model of every provider byokit knows', async () => {
    const name = `conformance-every-provider-${uniqueNumber()}`;
    const models = PROVIDERS.map((provider): CatalogModel => ({
      id: crypto.randomUUID(),
      provider,
      model: name,
      displayName: `Conformance model of ${provider}`,
      isActive: true,
      contextWindow: 1_000,
      maxOutputTokens: 100,
      pricing: null,
    }));
    for (const model of models) await storage.saveModel(model, at);
    const saved = (await storage.listModels()).filter((model) => model.model === name);
    expect(saved.map((model) => model.provider).sort()).toEqual([...PROVIDERS].sort());
  });

  it('keeps one of two models of the same provider and name saved at once, and refuses the other as a conflict', async () => {
    // Checked and then inserted, both saves passed the check: two ids for one name, each admin told 201.
    const name = `conformance-raced-${uniqueNumber()}`;
    const raced = [crypto.randomUUID(), crypto.randomUUID()].map((id): CatalogModel => ({
      id,
      provider: 'google',
      model: name,
      displayName: 'Raced',
      isActive: true,
      contextWindow: 1000,
      maxOutputTokens: 100,
      pricing: null,
    }));
    const outcomes = await Promise.allSettled(raced.map((model) => storage.saveModel(model, at)));
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'conflict' });
    const kept = raced[outcomes.findIndex((outcome) => outcome.status === 'fulfilled')];
    expect((await storage.listModels()).filter((saved) => saved.model === name)).toEqual([kept]);
  });

  it("changes a model as stored: null for an id not stored, each change from the last one's model, nothing saved when it says so", async () => {
    expect(typeof storage.updateModel, 'updateModel: without it, two admins changing one model on two nodes at once may undo one').toBe(
      'function',
    );
    const update = storage.updateModel!.bind(storage);
    const id = crypto.randomUUID();
    const name = `conformance-update-${uniqueNumber()}`;
    const model: CatalogModel = {
      id,
      provider: 'anthropic',
      model: name,
      displayName: 'Conformance update',
      isActive: true,
      contextWindow: 200_000,
      maxOutputTokens: 8_192,
      pricing: { inputPerMTokUsd: '3', outputPerMTokUsd: '15' },
    };
    const seen: Array<CatalogModel | null> = [];
    // Not stored yet (a built-in model, to storage): the change is given null, and what it returns is saved.
    expect(await update(id, (stored) => (seen.push(stored), model), at)).toEqual(model);
    // Two at once: each is given the model as the other left it, and both apply.
    const [deactivated, repriced] = await Promise.all([
      update(id, (stored) => (seen.push(stored), { ...stored!, isActive: false }), later),
      update(id, (stored) => (seen.push(stored), { ...stored!, pricing: { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' } }), later),
    ]);
    expect(seen[0]).toBeNull();
    expect([deactivated?.isActive, repriced?.id]).toEqual([false, id]);
    const stored = (await storage.listModels()).filter((saved) => saved.id === id);
    expect(stored.map((saved) => [saved.isActive, saved.pricing])).toEqual([[false, { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' }]]);
    // Nothing saved when the change says so, or throws (what it throws is thrown).
    expect(await update(id, () => undefined, later)).toBeUndefined();
    await expect(
      update(
        id,
        () => {
          throw new ByokitError('validation_failed', 'refused');
        },
        later,
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect((await storage.listModels()).filter((saved) => saved.id === id)).toEqual(stored);
    // A provider and name another model has: `conflict`, as for saveModel, and nothing changed.
    const other = { ...model, id: crypto.randomUUID(), model: `${name}-other` };
    await storage.saveModel(other, later);
    await expect(update(other.id, (current) => ({ ...current!, model: name }), later)).rejects.toMatchObject({ code: 'conflict' });
    expect((await storage.listModels()).filter((saved) => saved.id === other.id)).toEqual([other]);
  });

  it('keeps none of the models it was given or handed out: changing one afterwards changes nothing stored', async () => {
    // Storage's TSDoc, "Copies". A model kept as given shared its prices and ignored parameters with the admin's
    // request, and one handed out shared them with the catalog byokit builds from it.
    const id = crypto.randomUUID();
    const model: CatalogModel = {
      id,
      provider: 'openai',
      model: `conformance-copies-${uniqueNumber()}`,
      displayName: 'Copies',
      isActive: true,
      contextWindow: 1000,
      maxOutputTokens: 100,
      pricing: { inputPerMTokUsd: '1', outputPerMTokUsd: '2' },
      ignoredParameters: ['temperature'],
    };
    const snapshot = structuredClone(model);
    const stored = async () => (await storage.listModels()).filter((saved) => saved.id === id);
    await storage.saveModel(model, at);
    model.displayName = 'Changed';
    model.pricing!.inputPerMTokUsd = '999';
    (model.ignoredParameters as string[]).push('top_p');
    expect(await stored()).toEqual([snapshot]);

    const [listed] = await stored();
    listed!.isActive = false;
    listed!.pricing!.outputPerMTokUsd = '0';
    (listed!.ignoredParameters as string[]).length = 0;
    expect(await stored()).toEqual([snapshot]);

    expect(typeof storage.updateModel, 'updateModel').toBe('function');
    // A change that alters the model it is given, then saves nothing: nothing is saved.
    const unsaved = await storage.updateModel!(
      id,
      (current) => {
        current!.isActive = false;
        current!.pricing!.inputPerMTokUsd = '0';
        return undefined;
      },
      later,
    );
    expect(unsaved).toBeUndefined();
    expect(await stored()).toEqual([snapshot]);
    // The model a change returns, and the one handed back, are the caller's to change once saved.
    const returned: CatalogModel = { ...structuredClone(snapshot), displayName: 'Updated' };
    const updated = await storage.updateModel!(id, () => returned, later);
    returned.pricing!.inputPerMTokUsd = '999';
    updated!.pricing!.outputPerMTokUsd = '999';
    updated!.displayName = 'Changed';
    expect(await stored()).toEqual([{ ...snapshot, displayName: 'Updated' }]);
  });

  it('shows a model after a reload as the answer to saving it did: prices in their shortest spelling, text as written', async () => {
    const own = await options.createStorage();
    try {
      const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
      const asAdmin = async (byokit: Byokit, method: string, url: string, body?: unknown) => {
        const answer = await byokit.handle({
          method,
          url,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? { kind: 'none' } : { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify(body))] },
          authenticate: () => ({ userId: 'conformance-admin', isAdmin: true }),
        });
        return { status: answer!.status, json: JSON.parse(answer!.body as string) };
      };
      const first = await createByokit({ storage: own, keyring, environment: {} });
      const created = await asAdmin(first, 'POST', '/llm-models', {
        provider: 'openai',
        model: `conformance-prices-${uniqueNumber()}`,
        display_name: 'Prices 🚀 naïve',
        context_window: 1000,
        max_output_tokens: 100,
        pricing: { input_per_mtok_usd: '000001', output_per_mtok_usd: '2.500000', cached_input_per_mtok_usd: '0.0' },
      });
      expect(created.status).toBe(201);
      expect(created.json.pricing).toEqual({ input_per_mtok_usd: '1', output_per_mtok_usd: '2.5', cached_input_per_mtok_usd: '0' });
      const patched = await asAdmin(first, 'PATCH', `/llm-models/${created.json.id}`, {
        pricing: { input_per_mtok_usd: '0100', output_per_mtok_usd: '0.500', cache_write_per_mtok_usd: '010.010' },
      });
      expect(patched.json.pricing).toEqual({ input_per_mtok_usd: '100', output_per_mtok_usd: '0.5', cache_write_per_mtok_usd: '10.01' });
      // A lone surrogate would be stored as U+FFFD by PostgreSQL, as written by memory storage: refused on both.
      expect((await asAdmin(first, 'PATCH', `/llm-models/${created.json.id}`, { display_name: 'Broken \ud83d' })).status).toBe(422);
      // Another byokit reads the catalog from the storage, as a restart or a second node does.
      const second = await createByokit({ storage: own, keyring, environment: {} });
      expect((await asAdmin(second, 'GET', `/llm-models/${created.json.id}`)).json).toEqual(patched.json);
    } finally {
      await destroy(own);
    }
  }, 60_000);

  it('lists admin models by provider, then name, in code-point order, whatever order they were added in', async () => {
    // Code-point order is the same on every storage and every database collation; en_US's ignores "-" and case.
    const suffix = `-${uniqueNumber()}`;
    const names = ['b', 'B', 'a-b', 'aa', 'a_b', 'a.b', 'A9', 'a'].map((name) => `order${suffix}${name}`);
    const saved = names.map((name, index) => ({
      id: crypto.randomUUID(),
      provider: index % 2 === 0 ? ('openai' as const) : ('anthropic' as const),
      model: name,
      displayName: name,
      isActive: true,
      contextWindow: 1000,
      maxOutputTokens: 100,
      pricing: null,
    }));
    for (const model of saved) await storage.saveModel(model, at);
    const listed = (await storage.listModels()).filter((model) => model.model.startsWith(`order${suffix}`));
    const codePointOrder = [...saved].sort((a, b) =>
      a.provider !== b.provider ? (a.provider < b.provider ? -1 : 1) : a.model < b.model ? -1 : a.model > b.model ? 1 : 0,
    );
    expect(listed.map((model) => `${model.provider} ${model.model}`)).toEqual(
      codePointOrder.map((model) => `${model.provider} ${model.model}`),
    );
  });
}
