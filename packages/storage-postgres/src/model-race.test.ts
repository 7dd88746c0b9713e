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
});
