// PostgreSQL's text cannot hold a NUL (U+0000). Text a request gives byokit to store or to look up (a user
// id in a path or a query, a model's display name) is refused with 422 before it reaches the database, so
// that a client never gets a 500 for it and nothing is stored. Found by fuzzing the routes on PostgreSQL.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createByokit, Keyring, type Byokit, type Principal } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { callAs, testDatabases } from './test-helpers.js';

const admin: Principal = { userId: 'user-admin', isAdmin: true };

/** Calls byokit as an adapter would, as an admin. */
const call = (byokit: Byokit, method: string, url: string, body?: unknown) => callAs(admin, byokit, method, url, body);

const databases = testDatabases('stored_text');

describe.each(databases)('text with a NUL character, on %s', (_name, openStorage) => {
  /** byokit on a fresh storage, closed when the test ends, and a count of the budgets stored. */
  async function openByokit() {
    const { storage, schema } = await openStorage();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {} });
    onTestFinished(() => byokit.close());
    const budgetsStored = async () =>
      (await storage.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".byokit_budgets`))[0]!.n;
    return { byokit, budgetsStored };
  }

  it('an admin setting the budget of a user id with a NUL gets 422 naming user_id, and no budget is stored', async () => {
    const { byokit, budgetsStored } = await openByokit();
    for (const userId of ['%00', 'user%00alice']) {
      const answer = await call(byokit, 'PUT', `/admin/users/${userId}/budget`, { monthly_limit_usd: '5' });
      expect(answer.status).toBe(422);
      expect(answer.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'user_id' }] });
    }
    expect(await budgetsStored()).toBe(0);
    // The same user id without the NUL is stored: the refusal was the NUL's.
    expect((await call(byokit, 'PUT', '/admin/users/user-alice/budget', { monthly_limit_usd: '5' })).status).toBe(200);
    expect(await budgetsStored()).toBe(1);
  });

  it("an admin asking for the usage of a user id with a NUL gets 422, not the database's error", async () => {
    const { byokit } = await openByokit();
    const answer = await call(byokit, 'GET', '/admin/usage?user_id=user%00alice');
    expect(answer.status).toBe(422);
    expect(answer.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'user_id' }] });
    expect((await call(byokit, 'GET', '/admin/usage?user_id=user-alice')).status).toBe(200);
  });

  it('an admin adding or renaming a model with a NUL in its display name gets 422, and the catalog is unchanged', async () => {
    const { byokit } = await openByokit();
    const before = (await call(byokit, 'GET', '/llm-models/?all=true')).json;
    const model = { provider: 'openai', model: 'gpt-test', context_window: 1000, max_output_tokens: 100, pricing: null };

    const added = await call(byokit, 'POST', '/llm-models/', { ...model, display_name: 'GPT\u0000Test' });
    expect(added.status).toBe(422);
    expect(added.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'display_name' }] });
    const renamed = await call(byokit, 'PATCH', `/llm-models/${before.data[0].id}`, { display_name: '\u0000' });
    expect(renamed.status).toBe(422);
    expect((await call(byokit, 'GET', '/llm-models/?all=true')).json).toEqual(before);

    expect((await call(byokit, 'POST', '/llm-models/', { ...model, display_name: 'GPT Test' })).status).toBe(201);
  });

  it("a user id with a NUL given in code is a ByokitError validation_failed, not the database's raw error", async () => {
    const { byokit } = await openByokit();
    const userId = 'user\u0000alice';
    const chatRequest = { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user' as const, content: 'Hi' }] };
    const calls: Array<() => Promise<unknown>> = [
      () => byokit.chat({ userId }, chatRequest),
      async () => {
        for await (const chunk of byokit.chatStream({ userId }, chatRequest)) void chunk;
      },
      () => byokit.resolveKey({ userId }, 'anthropic'),
      () => byokit.usage.events(userId),
      () => byokit.usage.query({ userId }),
    ];
    for (const run of calls)
      await expect(run()).rejects.toMatchObject({
        code: 'validation_failed',
        message:
          'userId holds a NUL character (U+0000): it must be a non-empty string of at most 255 characters of well-formed Unicode without NUL (U+0000), holding no provider API key, and not `.` or `..`.',
      });
    await expect(byokit.usage.events('user-alice')).resolves.toMatchObject({ records: [] });
  });

  // The key table holds an owner id of at most 255 characters: a longer one failed its CHECK as a 500 on
  // PostgreSQL alone (memory storage took it), so the bound is core's, for every storage alike. Characters as
  // length() counts them: 255 emoji fit, though 510 UTF-16 units (they were refused as a principal, a 500).
  it('a user id of 255 characters is stored whole, and one of 256 is refused before the database', async () => {
    const { byokit, budgetsStored } = await openByokit();
    const userIds = ['u'.repeat(255), `${'\u{1F600}'.repeat(127)}u`, `${'\u00e9'.repeat(254)}u`, '\u{1F600}'.repeat(255)];
    for (const userId of userIds) {
      const owner: Principal = { userId, isAdmin: false };
      const saved = await callAs(owner, byokit, 'PATCH', '/users/me/api-key', { anthropic_api_key: fakeProviderKey('anthropic') });
      expect(saved.status).toBe(200);
      expect((await callAs(owner, byokit, 'GET', '/users/me/api-key-status')).json).toMatchObject({ has_anthropic_key: true });
      expect((await call(byokit, 'PUT', `/admin/users/${encodeURIComponent(userId)}/budget`, { monthly_limit_usd: '5' })).status).toBe(200);
    }
    expect(await budgetsStored()).toBe(userIds.length);

    const tooLong = 'u'.repeat(256);
    const refused = await callAs({ userId: tooLong, isAdmin: false }, byokit, 'PATCH', '/users/me/api-key', {
      anthropic_api_key: fakeProviderKey('anthropic'),
    });
    expect(refused.status).toBe(500);
    expect(refused.json.error.code).toBe('internal_error');
    const budget = await call(byokit, 'PUT', `/admin/users/${tooLong}/budget`, { monthly_limit_usd: '5' });
    expect(budget.status).toBe(422);
    expect(budget.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'user_id' }] });
    await expect(byokit.resolveKey({ userId: tooLong }, 'anthropic')).rejects.toMatchObject({ code: 'validation_failed' });
    expect(await budgetsStored()).toBe(userIds.length);
  });

  // PostgreSQL's UTF-8 stores a lone surrogate as U+FFFD: a name would read back changed after a reload, and
  // two user ids ("a\ud83d", "a\ud83e") would be one owner, their keys and usage shared.
  it('text with a lone surrogate is refused with 422 or validation_failed, and nothing is stored', async () => {
    const { byokit } = await openByokit();
    const before = (await call(byokit, 'GET', '/llm-models/?all=true')).json;
    const renamed = await call(byokit, 'PATCH', `/llm-models/${before.data[0].id}`, { display_name: 'Sonnet \ud83d' });
    expect(renamed.status).toBe(422);
    expect(renamed.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'display_name' }] });
    expect((await call(byokit, 'GET', '/llm-models/?all=true')).json).toEqual(before);
    for (const userId of ['a\ud83d', 'a\ud83e']) {
      await expect(byokit.usage.events(userId)).rejects.toMatchObject({ code: 'validation_failed' });
    }
  });
});
