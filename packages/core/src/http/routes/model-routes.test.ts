import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { memoryStorage } from '../../storage/memory-storage.js';
import { admin, alice, call, testByokit } from '../test-helpers.js';

const newModel = {
  provider: 'openai',
  model: 'gpt-test-local',
  display_name: 'GPT Test (local)',
  context_window: 128_000,
  max_output_tokens: 16_384,
  pricing: { input_per_mtok_usd: '0.15', output_per_mtok_usd: '0.6', cached_input_per_mtok_usd: '0.075' },
};

describe('the model catalog (admins manage it)', () => {
  it('answers an id no model has alike on every route, saying where the ids are listed', async () => {
    const { byokit } = await testByokit();
    const id = '00000000-0000-4000-8000-000000000000';
    const answers = [
      await call(byokit, 'GET', `/llm-models/${id}`, { principal: alice }),
      await call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { is_active: false } }),
      await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: { model_id: id, messages: [{ role: 'user', content: 'Hi' }] },
      }),
    ];
    // GET and PATCH said "No model has this id." only.
    const message = 'No model has this id: list the models you can use with GET /llm-models/.';
    expect(answers.map((answer) => [answer!.status, answer!.json.error.code, answer!.json.error.message])).toEqual(
      Array(3).fill([404, 'model_not_found', message]),
    );
  });

  it('refuses a model whose output limit is over its context window, its issue worded as its message', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'POST', '/llm-models/', {
      principal: admin,
      body: { ...newModel, context_window: 1000, max_output_tokens: 2000 },
    });
    // The issue read "must be at most context_window", no sentence, where every other issue is one.
    const message = 'max_output_tokens cannot be larger than context_window.';
    expect([response!.status, response!.json.error]).toEqual([
      422,
      expect.objectContaining({ code: 'validation_failed', message, issues: [{ path: 'max_output_tokens', message }] }),
    ]);
  });

  it("refuses a PATCH that would put a model's output limit over its context window, either way, and keeps the model as it was", async () => {
    const { byokit } = await testByokit();
    const created = await call(byokit, 'POST', '/llm-models', {
      principal: admin,
      body: { ...newModel, context_window: 1000, max_output_tokens: 500 },
    });
    const id = created!.json.id as string;
    const message = 'max_output_tokens cannot be larger than context_window.';
    for (const body of [{ max_output_tokens: 1001 }, { context_window: 499 }]) {
      const refused = await call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body });
      expect([refused!.status, refused!.json.error]).toEqual([
        422,
        expect.objectContaining({ code: 'validation_failed', message, issues: [{ path: 'max_output_tokens', message }] }),
      ]);
    }
    const kept = await call(byokit, 'GET', `/llm-models/${id}`, { principal: admin });
    expect([kept!.json.context_window, kept!.json.max_output_tokens]).toEqual([1000, 500]);
  });

  it('takes an output limit as large as the context window, added or changed to it', async () => {
    const { byokit } = await testByokit();
    const created = await call(byokit, 'POST', '/llm-models', {
      principal: admin,
      body: { ...newModel, context_window: 1000, max_output_tokens: 1000 },
    });
    expect([created!.status, created!.json.max_output_tokens]).toEqual([201, 1000]);
    const patched = await call(byokit, 'PATCH', `/llm-models/${created!.json.id}`, {
      principal: admin,
      body: { context_window: 2000, max_output_tokens: 2000 },
    });
    expect([patched!.status, patched!.json.context_window, patched!.json.max_output_tokens]).toEqual([200, 2000, 2000]);
  });

  it('shows every built-in model to an admin with ?all=true, each with a UUID, limits and decimal prices', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin });
    expect(response!.status).toBe(200);
    const data = response!.json.data as Array<Record<string, any>>;
    expect(data.length).toBeGreaterThanOrEqual(6);
    expect(new Set(data.map((model) => model.provider))).toEqual(new Set(['anthropic', 'openai', 'google']));
    for (const model of data) {
      expect(model.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(model.max_output_tokens).toBeLessThanOrEqual(model.context_window);
      if (model.pricing) expect(model.pricing.input_per_mtok_usd).toMatch(/^\d+(\.\d+)?$/);
      expect(model.key_source).toBeNull();
    }
  });

  it("shows in one model's key_source whose key a call would use now: null without one, then system, then user", async () => {
    const { byokit } = await testByokit();
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const sources: unknown[] = [];
    sources.push((await call(byokit, 'GET', `/llm-models/${id}`, { principal: alice }))!.json.key_source);
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    sources.push((await call(byokit, 'GET', `/llm-models/${id}`, { principal: alice }))!.json.key_source);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    sources.push((await call(byokit, 'GET', `/llm-models/${id}`, { principal: alice }))!.json.key_source);
    expect(sources).toEqual([null, 'system', 'user']);
  });

  it('takes a model name and a display name of 200 characters, and refuses 201, or a name that begins with . or -', async () => {
    const { byokit } = await testByokit();
    const add = async (fields: object) =>
      (await call(byokit, 'POST', '/llm-models', { principal: admin, body: { ...newModel, ...fields } }))!.status;
    expect([
      await add({ model: 'm'.repeat(200) }),
      await add({ model: 'n'.repeat(201) }),
      await add({ model: '.hidden' }),
      await add({ model: '-flag' }),
      await add({ model: 'named', display_name: '😀'.repeat(200) }),
      await add({ model: 'named-too', display_name: 'd'.repeat(201) }),
    ]).toEqual([201, 422, 422, 422, 201, 422]);
  });

  it('takes limits up to 100,000,000 and prices of up to 6 digits each side of the point; a model added is active', async () => {
    const { byokit } = await testByokit();
    let names = 0;
    const add = async (fields: object) => {
      const body = { ...newModel, model: `limits-${names++}`, ...fields };
      const response = await call(byokit, 'POST', '/llm-models', { principal: admin, body });
      return response!.status === 201 ? response!.json.is_active : response!.status;
    };
    const price = (input: string) => ({ pricing: { input_per_mtok_usd: input, output_per_mtok_usd: '1' } });
    expect([
      await add({ context_window: 100_000_000, max_output_tokens: 100_000_000 }),
      await add({ context_window: 100_000_001 }),
      await add({ max_output_tokens: 0 }),
      await add(price('999999.999999')),
      await add(price('1000000')),
      await add(price('0.0000001')),
      await add({ pricing: null }),
    ]).toEqual([true, 422, 422, true, 422, 422, true]);
  });

  it('keeps model ids the same on every install', async () => {
    const first = await call((await testByokit()).byokit, 'GET', '/llm-models/?all=true', { principal: admin });
    const second = await call((await testByokit()).byokit, 'GET', '/llm-models/?all=true', { principal: admin });
    expect(first!.json.data.map((model: { id: string }) => model.id)).toEqual(second!.json.data.map((model: { id: string }) => model.id));
  });

  it("serves a model whose stored id has no RFC 9562 version (a seed script's 11111111-…) by its id, as it lists it", async () => {
    // Storage takes any 8-4-4-4-12 hex id (the catalog's check, PostgreSQL's uuid type); so must the routes.
    const storage = memoryStorage();
    const seeded = { ...newModel, id: '11111111-1111-1111-1111-111111111111' };
    await storage.saveModel(
      {
        id: seeded.id,
        provider: 'openai',
        model: 'gpt-seeded',
        displayName: 'Seeded',
        isActive: true,
        contextWindow: 1000,
        maxOutputTokens: 100,
        pricing: null,
      },
      new Date(),
    );
    const { byokit } = await testByokit({ storage });
    const listed = await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin });
    expect(listed!.json.data.map((model: { id: string }) => model.id)).toContain(seeded.id);
    const fetched = await call(byokit, 'GET', `/llm-models/${seeded.id}`, { principal: admin });
    expect([fetched!.status, fetched!.json.id]).toEqual([200, seeded.id]);
    const patched = await call(byokit, 'PATCH', `/llm-models/${seeded.id}`, { principal: admin, body: { is_active: false } });
    expect([patched!.status, patched!.json.is_active]).toEqual([200, false]);
    // A chat with it is refused as a chat with any inactive model is, not as a malformed model_id.
    const created = await call(byokit, 'POST', '/llm-models/', { principal: admin, body: { ...newModel, is_active: false } });
    const chat = (modelId: string) =>
      call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: { model_id: modelId, messages: [{ role: 'user', content: 'Hi' }] },
      }).then((answer) => [answer!.status, answer!.json.error.code]);
    expect(await chat(seeded.id)).toEqual(await chat(created!.json.id));
  });

  it('refuses ?all=true to a user that is not an admin', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/llm-models/?all=true', { principal: alice });
    expect(response!.status).toBe(403);
  });

  it('refuses a misspelt filter (?is_activ=true) rather than list every model unfiltered', async () => {
    const { byokit } = await testByokit();
    const response = await call(byokit, 'GET', '/llm-models/?is_activ=true', { principal: admin });
    expect([response!.status, response!.json.error.code, response!.json.error.issues[0].path]).toEqual([
      422,
      'validation_failed',
      'is_activ',
    ]);
  });

  it('adds a model (201), shows it, refuses the same provider and name twice (409)', async () => {
    const { byokit } = await testByokit({ environment: { OPENAI_API_KEY: fakeProviderKey('openai') } });
    const created = await call(byokit, 'POST', '/llm-models/', { principal: admin, body: newModel });
    expect(created!.status).toBe(201);
    expect(created!.json).toMatchObject({ ...newModel, is_active: true, key_source: 'system' });
    const fetched = await call(byokit, 'GET', `/llm-models/${created!.json.id}`, { principal: alice });
    expect(fetched!.json).toEqual(created!.json);
    const listed = await call(byokit, 'GET', '/llm-models?provider=openai', { principal: alice });
    expect(listed!.json.data.some((model: { id: string }) => model.id === created!.json.id)).toBe(true);
    const again = await call(byokit, 'POST', '/llm-models', { principal: admin, body: newModel });
    expect(again!.status).toBe(409);
    expect(again!.json.error.code).toBe('conflict');
  });

  it('deactivates, re-prices and renames a model; ?is_active filters', async () => {
    const { byokit } = await testByokit({ environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') } });
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const patched = await call(byokit, 'PATCH', `/llm-models/${id}`, {
      principal: admin,
      body: { is_active: false, display_name: 'Sonnet (paused)', pricing: { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' } },
    });
    expect(patched!.status).toBe(200);
    expect(patched!.json).toMatchObject({
      is_active: false,
      display_name: 'Sonnet (paused)',
      pricing: { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' },
    });
    const active = await call(byokit, 'GET', '/llm-models/?is_active=true', { principal: alice });
    expect(active!.json.data.some((model: { id: string }) => model.id === id)).toBe(false);
    const inactive = await call(byokit, 'GET', '/llm-models/?is_active=false', { principal: alice });
    expect(inactive!.json.data.map((model: { id: string }) => model.id)).toContain(id);
  });

  it('refuses, on POST and PATCH alike, a price that is not plain digits with at most 6 on each side of the point', async () => {
    const { byokit, storage } = await testByokit();
    const before = JSON.stringify(await storage.listModels());
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const refused = [
      ' 3',
      '3 ',
      '+3',
      '-0',
      '3.',
      '.5',
      '1e3',
      '0x10',
      '1_000',
      '３',
      '0.1234567',
      '0.1234567890123',
      '9'.repeat(40),
      3,
      null,
    ];
    for (const price of refused) {
      const pricing = { input_per_mtok_usd: price, output_per_mtok_usd: '1' };
      const added = await call(byokit, 'POST', '/llm-models', { principal: admin, body: { ...newModel, pricing } });
      const patched = await call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { pricing } });
      expect({ price, statuses: [added!.status, patched!.status], issue: added!.json.error.issues?.[0] }).toEqual({
        price,
        statuses: [422, 422],
        issue: {
          path: 'pricing.input_per_mtok_usd',
          message: 'A price is a decimal string of USD per million tokens, e.g. "3" or "0.075".',
        },
      });
    }
    expect(JSON.stringify(await storage.listModels())).toBe(before);
  });

  it('keeps and shows a price in its shortest spelling, the answer to the PATCH as every later read', async () => {
    const { byokit } = await testByokit();
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const pricing = { input_per_mtok_usd: '000001', output_per_mtok_usd: '2.500000', cached_input_per_mtok_usd: '0.000000' };
    const patched = await call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { pricing } });
    const shortest = { input_per_mtok_usd: '1', output_per_mtok_usd: '2.5', cached_input_per_mtok_usd: '0' };
    expect([patched!.status, patched!.json.pricing]).toEqual([200, shortest]);
    expect((await call(byokit, 'GET', `/llm-models/${id}`, { principal: admin }))!.json.pricing).toEqual(shortest);
    const created = await call(byokit, 'POST', '/llm-models', {
      principal: admin,
      body: { ...newModel, pricing: { ...pricing, cache_write_per_mtok_usd: '03.10' } },
    });
    expect(created!.json.pricing).toEqual({ ...shortest, cache_write_per_mtok_usd: '3.1' });
  });

  it('lists the models admins added by name, on the node that added them as on any other, before and after a reload', async () => {
    // docs/http-api.md, "Order of the model list": built-ins in the catalog's order, then additions by name in
    // code-point order, whichever node answers.
    const storage = memoryStorage();
    const { byokit } = await testByokit({ storage });
    for (const model of ['zeta', 'Alpha', 'alpha']) {
      expect((await call(byokit, 'POST', '/llm-models', { principal: admin, body: { ...newModel, model } }))!.status).toBe(201);
    }
    const names = async (node: typeof byokit) =>
      (await call(node, 'GET', '/llm-models/?all=true&provider=openai', { principal: admin }))!.json.data
        .map((model: { model: string }) => model.model)
        .slice(-3);
    expect(await names(byokit)).toEqual(['Alpha', 'alpha', 'zeta']);
    expect(await names((await testByokit({ storage })).byokit)).toEqual(['Alpha', 'alpha', 'zeta']);
  });

  it('shows a model an admin added once, as the admin left it, after an upgrade whose catalog ships it built in', async () => {
    // What the database holds after an admin added Claude Sonnet 5.5 on a release whose catalog lacked it.
    const storage = memoryStorage();
    const added = {
      id: '5a1d2b3c-0000-4000-8000-000000000001',
      provider: 'anthropic' as const,
      model: 'claude-sonnet-5-5',
      displayName: 'Sonnet 5.5 (ours)',
      isActive: true,
      contextWindow: 1_000_000,
      maxOutputTokens: 64_000,
      pricing: { inputPerMTokUsd: '2.2', outputPerMTokUsd: '11' },
    };
    await storage.saveModel(added, new Date());
    const { byokit } = await testByokit({ storage, environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') } });
    const builtInId = 'f8249082-e6ae-5964-b84f-719fa94f6a67';

    const listed = (await call(byokit, 'GET', '/llm-models?provider=anthropic', { principal: alice }))!.json.data;
    const sonnets = listed.filter((model: { model: string }) => model.model === 'claude-sonnet-5-5');
    expect(sonnets.map((model: Record<string, unknown>) => [model.id, model.display_name, model.pricing])).toEqual([
      [added.id, added.displayName, { input_per_mtok_usd: '2.2', output_per_mtok_usd: '11' }],
    ]);
    const openAiNames = (await call(byokit, 'GET', '/openai/v1/models', { principal: alice }))!.json.data.map(
      (model: { id: string }) => model.id,
    );
    expect(openAiNames.filter((name: string) => name.endsWith('claude-sonnet-5-5'))).toEqual(['claude-sonnet-5-5']);
    // The built-in's id is no model here: not shown, and not a second model to change (it was 409 conflict).
    expect((await call(byokit, 'GET', `/llm-models/${builtInId}`, { principal: admin }))!.status).toBe(404);
    const patched = await call(byokit, 'PATCH', `/llm-models/${builtInId}`, { principal: admin, body: { is_active: false } });
    expect([patched!.status, patched!.json.error.code]).toEqual([404, 'model_not_found']);
    expect(await storage.listModels()).toEqual([added]);
    const deactivated = await call(byokit, 'PATCH', `/llm-models/${added.id}`, { principal: admin, body: { is_active: false } });
    expect([deactivated!.status, deactivated!.json.is_active]).toEqual([200, false]);
  });

  it("keeps another node's change to a model when this node, whose catalog has not reloaded yet, changes another field", async () => {
    // Two nodes on one database, each with a catalog up to catalogTtlMs (30 s) old.
    const storage = memoryStorage();
    const nodeA = (await testByokit({ storage })).byokit;
    const nodeB = (await testByokit({ storage })).byokit;
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const pricing = { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' };
    expect((await call(nodeA, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { is_active: false } }))!.json.is_active).toBe(false);
    const repriced = await call(nodeB, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { pricing } });
    expect([repriced!.status, repriced!.json.is_active, repriced!.json.pricing]).toEqual([200, false, pricing]);
    const afterRestart = (await testByokit({ storage })).byokit;
    const model = (await call(afterRestart, 'GET', `/llm-models/${id}`, { principal: admin }))!.json;
    expect([model.is_active, model.pricing]).toEqual([false, pricing]);
  });

  it("shows another node's change to a model 30 s after this node's catalog was read, when the host sets no catalogTtlMs", async () => {
    const storage = memoryStorage();
    let clock = Date.parse('2026-11-25T12:00:00Z');
    const now = () => new Date(clock);
    const nodeA = (await testByokit({ storage, now })).byokit;
    const nodeB = (await testByokit({ storage, now })).byokit;
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const activeOnB = async () =>
      (await call(nodeB, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data.find((model: { id: string }) => model.id === id)
        .is_active;
    expect(await activeOnB()).toBe(true);
    await call(nodeA, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { is_active: false } });
    const seen: boolean[] = [];
    for (const at of [29_999, 30_000]) {
      clock = Date.parse('2026-11-25T12:00:00Z') + at;
      seen.push(await activeOnB());
    }
    expect(seen).toEqual([true, false]);
  });

  it("changes a model that another node added moments ago, rather than answer 404 until this node's catalog reloads", async () => {
    const storage = memoryStorage();
    const nodeA = (await testByokit({ storage })).byokit;
    const nodeB = (await testByokit({ storage })).byokit;
    const created = await call(nodeA, 'POST', '/llm-models', { principal: admin, body: newModel });
    const renamed = await call(nodeB, 'PATCH', `/llm-models/${created!.json.id}`, { principal: admin, body: { display_name: 'GPT Test' } });
    expect([renamed!.status, renamed!.json.display_name, renamed!.json.model]).toEqual([200, 'GPT Test', newModel.model]);
  });

  it("refuses a model another node added 404 for its chat and its view until this node's catalog reloads, and adding it again 409", async () => {
    // docs/architecture.md, "Many nodes share one PostgreSQL": unknown to node B until B reloads, within catalogTtlMs.
    const storage = memoryStorage();
    let clock = Date.parse('2026-11-25T12:00:00Z');
    const now = () => new Date(clock);
    const nodeA = (await testByokit({ storage, now, environment: { OPENAI_API_KEY: fakeProviderKey('openai') } })).byokit;
    const nodeB = (await testByokit({ storage, now, environment: { OPENAI_API_KEY: fakeProviderKey('openai') } })).byokit;
    const created = await call(nodeA, 'POST', '/llm-models', { principal: admin, body: newModel });
    expect(created!.status).toBe(201);
    const id = created!.json.id as string;
    const onB = async () => {
      const view = await call(nodeB, 'GET', `/llm-models/${id}`, { principal: alice });
      const chat = await call(nodeB, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: { model_id: id, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 },
      });
      return [view!.status, chat!.status, chat!.json.error?.code];
    };

    expect(await onB()).toEqual([404, 404, 'model_not_found']);
    expect((await call(nodeB, 'POST', '/llm-models', { principal: admin, body: newModel }))!.status).toBe(409);
    clock += 30_000;
    expect((await call(nodeB, 'GET', `/llm-models/${id}`, { principal: alice }))!.status).toBe(200);
  });

  it("applies two admins' changes to different fields of one model, made at the same moment, both", async () => {
    // A database that answers a save slowly, so that the two PATCHes overlap.
    const stored = memoryStorage();
    const storage = {
      ...stored,
      saveModel: async (...args: Parameters<typeof stored.saveModel>) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return stored.saveModel(...args);
      },
    };
    const { byokit } = await testByokit({ storage });
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const pricing = { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' };
    const answers = await Promise.all([
      call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { is_active: false } }),
      call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { pricing } }),
    ]);
    expect(answers.map((answer) => answer!.status)).toEqual([200, 200]);
    const afterRestart = (await testByokit({ storage })).byokit;
    const model = (await call(afterRestart, 'GET', `/llm-models/${id}`, { principal: admin }))!.json;
    expect([model.is_active, model.pricing]).toEqual([false, pricing]);
  });

  // The parameters byokit leaves out of every call to a model an admin adds, by its provider's rule for that name
  // (anthropic-limits.ts, openai-limits.ts), are the model's ignored_parameters, as a built-in model's are. top_p beside
  // temperature, which Claude 4 models refuse together only, is not one: either alone is sent.
  it.each([
    ['anthropic', 'claude-opus-4-7', ['temperature', 'top_p']],
    ['anthropic', 'claude-sonnet-4-6', []],
    ['openai', 'o4-mini', ['temperature', 'top_p', 'stop']],
    ['openai', 'gpt-6-astra', ['temperature', 'top_p']],
    ['openai', 'gpt-4.1', []],
    ['google', 'gemini-3.6-flash', []],
  ] as const)(
    'shows what byokit leaves out of every call to %s %s, added by an admin, as its ignored_parameters',
    async (provider, model, ignored) => {
      const { byokit } = await testByokit({ environment: { [`${provider.toUpperCase()}_API_KEY`]: fakeProviderKey(provider) } });
      const created = await call(byokit, 'POST', '/llm-models', { principal: admin, body: { ...newModel, provider, model } });
      const fetched = await call(byokit, 'GET', `/llm-models/${created!.json.id}`, { principal: alice });
      const listed = await call(byokit, 'GET', `/llm-models?provider=${provider}`, { principal: alice });
      const inList = listed!.json.data.find((entry: { id: string }) => entry.id === created!.json.id);
      expect([created, fetched].map((answer) => answer!.json.ignored_parameters).concat([inList.ignored_parameters])).toEqual([
        ignored,
        ignored,
        ignored,
      ]);
    },
  );

  it.each(['anthropic', 'openai', 'google'] as const)(
    "refuses a %s key pasted as a model's name or display name, stores nothing and echoes none of it",
    async (provider) => {
      const { byokit, storage } = await testByokit({ environment: { OPENAI_API_KEY: fakeProviderKey('openai') } });
      const key = fakeProviderKey(provider);
      const attempts = [
        { method: 'POST', url: '/llm-models', body: { ...newModel, model: key }, path: 'model' },
        { method: 'POST', url: '/llm-models', body: { ...newModel, display_name: key }, path: 'display_name' },
        { method: 'POST', url: '/llm-models', body: { ...newModel, display_name: `GPT Test ${key}` }, path: 'display_name' },
        { method: 'PATCH', url: '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82', body: { display_name: key }, path: 'display_name' },
      ];
      for (const { method, url, body, path } of attempts) {
        const response = await call(byokit, method, url, { principal: admin, body });
        expect([
          response!.status,
          response!.json.error?.code,
          response!.json.error?.issues?.map((issue: { path: string }) => issue.path),
        ]).toEqual([422, 'validation_failed', [path]]);
        expect(response!.text).not.toContain(key.slice(8, 24));
      }
      expect(await storage.listModels()).toEqual([]);
      const listed = await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin });
      expect(listed!.text).not.toContain(key.slice(8, 24));
    },
  );

  it.each([
    ['a user who is not an admin adding a model', 'POST', '/llm-models/', newModel, alice, 403],
    ['a display name with a lone surrogate', 'POST', '/llm-models', { ...newModel, display_name: 'GPT \ud83d' }, admin, 422],
    ['a display name of spaces only', 'POST', '/llm-models', { ...newModel, display_name: ' \u00a0\t ' }, admin, 422],
    ['a rename to spaces only', 'PATCH', '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82', { display_name: '   ' }, admin, 422],
    [
      'a rename to a lone surrogate',
      'PATCH',
      '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82',
      { display_name: '\udc00 Sonnet' },
      admin,
      422,
    ],
    [
      'a user who is not an admin changing a model',
      'PATCH',
      '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82',
      { is_active: false },
      alice,
      403,
    ],
    ['an id that is not a UUID', 'PATCH', '/llm-models/not-a-uuid', { is_active: false }, admin, 422],
    ['an id with ../', 'GET', '/llm-models/..%2F..%2Fetc', undefined, alice, 422],
    ['an unknown id', 'GET', '/llm-models/00000000-0000-4000-8000-000000000000', undefined, alice, 404],
    ['a model name with a path in it', 'POST', '/llm-models', { ...newModel, model: '../v1/steal' }, admin, 422],
    // spec/security.md, hostile inputs: names with `../`, `?`, `:` or CRLF, and `@` or `#`, which would change a URL they
    // went into unencoded. The name above is refused for its first character alone; these for the characters.
    ['a model name with a path inside', 'POST', '/llm-models', { ...newModel, model: 'gemini-2.5-flash/../../v1/files' }, admin, 422],
    ['a model name with a query', 'POST', '/llm-models', { ...newModel, model: 'gemini-2.5-flash?alt=json' }, admin, 422],
    ['a model name with a colon', 'POST', '/llm-models', { ...newModel, model: 'gemini-2.5-flash:generateContent' }, admin, 422],
    ['a model name with CRLF', 'POST', '/llm-models', { ...newModel, model: 'gpt-5\r\nx-forwarded-host: evil.example' }, admin, 422],
    ['a model name with an @', 'POST', '/llm-models', { ...newModel, model: 'gpt-5@evil.example' }, admin, 422],
    ['a model name with a #', 'POST', '/llm-models', { ...newModel, model: 'gpt-5#fragment' }, admin, 422],
    [
      'a price with an exponent',
      'POST',
      '/llm-models',
      { ...newModel, pricing: { input_per_mtok_usd: '1e3', output_per_mtok_usd: '1' } },
      admin,
      422,
    ],
    [
      'a negative price',
      'POST',
      '/llm-models',
      { ...newModel, pricing: { input_per_mtok_usd: '-1', output_per_mtok_usd: '1' } },
      admin,
      422,
    ],
    ['output over the context window', 'POST', '/llm-models', { ...newModel, max_output_tokens: 200_000 }, admin, 422],
    ['an unknown field', 'POST', '/llm-models', { ...newModel, base_url: 'http://127.0.0.1' }, admin, 422],
    ['an empty change', 'PATCH', '/llm-models/564e8710-43a9-406f-b0ab-e8d651a33e82', {}, admin, 422],
  ])('refuses %s', async (_name, method, url, body, principal, status) => {
    const { byokit, storage } = await testByokit();
    const before = JSON.stringify(await storage.listModels());
    const response = await call(byokit, method, url, { principal, ...(body !== undefined && { body }) });
    expect(response!.status).toBe(status);
    expect(JSON.stringify(await storage.listModels())).toBe(before);
  });
});
