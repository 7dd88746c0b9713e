import { describe, expect, it, vi } from 'vitest';
import { isByokitError } from './errors.js';
import { admin, alice, bob, call, mockProvidersForFile, testByokit } from './http/test-helpers.js';
import { fakeProviderKey } from './keys/fake-keys.js';
import type { Principal } from './http/types.js';
import { userOwner, type Storage } from './storage/storage.js';
import { memoryStorage } from './storage/memory-storage.js';

const mock = mockProvidersForFile();

// Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
const request = { model_id: 'f8249082-e6ae-5964-b84f-719fa94f6a67', messages: [{ role: 'user' as const, content: 'Hi' }] };

/** A byokit on the mock Anthropic with a system key, and alice and bob each with a key of their own, a budget and a call made. */
async function twoUsersWhoCalled(storage: Storage = memoryStorage()) {
  const { byokit } = await testByokit({
    storage,
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
  });
  for (const principal of [alice, bob]) {
    const saved = await call(byokit, 'PATCH', '/users/me/api-key', {
      principal,
      body: { anthropic_api_key: fakeProviderKey('anthropic') },
    });
    expect(saved!.status).toBe(200);
    const budget = await call(byokit, 'PUT', `/admin/users/${principal.userId}/budget`, {
      principal: admin,
      body: { monthly_limit_usd: '5' },
    });
    expect(budget!.status).toBe(200);
    await byokit.chat(principal, request);
  }
  // Records are written just after their answers.
  await vi.waitFor(async () => expect((await storage.listUsage({ limit: 10 })).records).toHaveLength(2));
  // Cached on this node, as a call leaves it.
  expect((await byokit.resolveKey(alice, 'anthropic')).source).toBe('user');
  return { byokit, storage };
}

const keyStatus = async (byokit: Awaited<ReturnType<typeof testByokit>>['byokit'], principal: Principal) =>
  (await call(byokit, 'GET', '/users/me/api-key-status', { principal }))!.json.has_anthropic_key;
const budgetLimit = async (byokit: Awaited<ReturnType<typeof testByokit>>['byokit'], principal: Principal) =>
  (await call(byokit, 'GET', '/users/me/budget', { principal }))!.json.monthly_limit_usd;

describe('byokit.forgetUser', () => {
  it("a user id given again after forgetUser starts with no key, no budget and, with usage 'delete', no usage; other users keep theirs", async () => {
    const { byokit, storage } = await twoUsersWhoCalled();

    const forgotten = await byokit.forgetUser(alice.userId, { usage: 'delete' });

    expect(forgotten).toEqual({ keysDeleted: ['anthropic'], budgetRemoved: true, usageRecordsDeleted: 1, requestId: expect.any(String) });
    // At once on this node, though alice's key was cached: the next person with her id is on the system key.
    expect((await byokit.resolveKey(alice, 'anthropic')).source).toBe('system');
    expect(await keyStatus(byokit, alice)).toBe(false);
    expect(await budgetLimit(byokit, alice)).toBeNull();
    expect((await byokit.usage.events(alice.userId)).records).toEqual([]);
    expect((await byokit.usage.query({ userId: alice.userId })).totals.requests).toBe(0);
    // Bob's as they were.
    expect((await byokit.resolveKey(bob, 'anthropic')).source).toBe('user');
    expect(await keyStatus(byokit, bob)).toBe(true);
    expect(await budgetLimit(byokit, bob)).toBe('5');
    expect((await byokit.usage.events(bob.userId)).records).toHaveLength(1);
    // The deletion is audited, by the host.
    const [audit] = await storage.listAudit({ owner: userOwner(alice.userId) });
    expect(audit).toMatchObject({ action: 'delete', provider: 'anthropic', actorId: 'host', requestId: forgotten.requestId });
    await byokit.close();
  });

  it("keeps a forgotten user's usage records under their id with usage 'keep': what they spent is still in every total", async () => {
    const { byokit, storage } = await twoUsersWhoCalled();
    const before = await byokit.usage.query();

    const forgotten = await byokit.forgetUser(alice.userId, { usage: 'keep', actorId: 'admin-7', requestId: 'close-account:42' });

    expect(forgotten).toEqual({ keysDeleted: ['anthropic'], budgetRemoved: true, usageRecordsDeleted: 0, requestId: 'close-account:42' });
    expect((await byokit.usage.events(alice.userId)).records).toHaveLength(1);
    expect((await byokit.usage.query()).totals).toEqual(before.totals);
    expect(await keyStatus(byokit, alice)).toBe(false);
    const [audit] = await storage.listAudit({ owner: userOwner(alice.userId) });
    expect(audit).toMatchObject({ action: 'delete', actorId: 'admin-7', requestId: 'close-account:42' });
    await byokit.close();
  });

  it.each<[string, unknown, unknown, string]>([
    ['no options', alice.userId, undefined, "usage must be 'keep' or 'delete'"],
    ['no choice of usage', alice.userId, {}, "usage must be 'keep' or 'delete'"],
    ['another word for usage', alice.userId, { usage: 'archive' }, "usage must be 'keep' or 'delete'"],
    ['an option it does not read', alice.userId, { usage: 'keep', actor: 'admin' }, 'The options object has no actor'],
    ['a user id it could not store', 'a\u0000b', { usage: 'keep' }, 'userId holds a NUL character'],
    ['a principal for the user id', alice, { usage: 'keep' }, 'userId is an object'],
    ['an empty actorId', alice.userId, { usage: 'keep', actorId: '' }, 'actorId is empty'],
    ['a request id with a space', alice.userId, { usage: 'keep', requestId: 'a b' }, 'requestId must be'],
  ])('refuses %s with validation_failed, forgetting nothing', async (_what, userId, options, message) => {
    const { byokit } = await twoUsersWhoCalled();
    const error = await byokit.forgetUser(userId as string, options as never).catch((caught: unknown) => caught);
    expect(isByokitError(error) && error.code).toBe('validation_failed');
    expect((error as Error).message).toContain(message);
    expect(await keyStatus(byokit, alice)).toBe(true);
    expect(await budgetLimit(byokit, alice)).toBe('5');
    await byokit.close();
  });

  it('rejects with a TypeError on a storage written before forgetUser, forgetting nothing', async () => {
    const storage = memoryStorage();
    const { forgetUser: _left, ...older } = storage;
    const { byokit } = await twoUsersWhoCalled(older);
    const error = await byokit.forgetUser(alice.userId, { usage: 'keep' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('this storage has no forgetUser');
    expect(await keyStatus(byokit, alice)).toBe(true);
    await byokit.close();
  });
});
