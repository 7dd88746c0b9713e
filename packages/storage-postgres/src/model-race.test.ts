// Two admins adding the same model at once: both pass the route's check of the catalog before either has saved,
// and the database's unique (provider, model) decides. The loser gets 409 conflict, as if it had come second,
// never the database's error as a 500. Found by racing the example server on a real PostgreSQL.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createByokit, Keyring, type Principal } from '@byokit/core';
import { callAs, testDatabases } from './test-helpers.js';

const admin: Principal = { userId: 'user-admin', isAdmin: true };

const databases = testDatabases('model_race');

describe.each(databases)('admins adding the same model at once, on %s', (_name, openStorage) => {
  it('one add succeeds with 201, every other gets 409 conflict, and the catalog holds the model once', async () => {
    const { storage } = await openStorage();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {} });
    onTestFinished(() => byokit.close());

    const model = {
      provider: 'openai',
      model: 'gpt-raced',
      display_name: 'Raced',
      context_window: 1000,
      max_output_tokens: 100,
      pricing: null,
    };
    const answers = await Promise.all(Array.from({ length: 12 }, () => callAs(admin, byokit, 'POST', '/llm-models/', model)));

    expect(answers.map((answer) => answer.status).sort()).toEqual([201, ...Array<number>(11).fill(409)]);
    for (const refused of answers.filter((answer) => answer.status === 409)) {
      expect(refused.json.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('openai/gpt-raced') });
    }
    const listed = (await callAs(admin, byokit, 'GET', '/llm-models/?all=true')).json.data;
    expect(listed.filter((entry: { model: string }) => entry.model === 'gpt-raced')).toHaveLength(1);
  });

  it("a re-pricing on a second node, whose catalog is older than a first node's deactivation, keeps the model inactive", async () => {
    const { storage } = await openStorage();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const [nodeA, nodeB] = await Promise.all([1, 2].map(() => createByokit({ storage, keyring, environment: {} })));
    onTestFinished(async () => {
      await nodeA!.close();
      await nodeB!.close();
    });
    const id = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    const pricing = { input_per_mtok_usd: '2.5', output_per_mtok_usd: '12.5' };

    expect((await callAs(admin, nodeA!, 'PATCH', `/llm-models/${id}`, { is_active: false })).json.is_active).toBe(false);
    const repriced = await callAs(admin, nodeB!, 'PATCH', `/llm-models/${id}`, { pricing });

    expect([repriced.status, repriced.json.is_active, repriced.json.pricing]).toEqual([200, false, pricing]);
    const stored = (await storage.listModels()).find((model) => model.id === id);
    expect([stored?.isActive, stored?.pricing]).toEqual([false, { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' }]);
  });
});
