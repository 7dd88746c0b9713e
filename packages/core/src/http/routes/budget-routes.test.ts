import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import util from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { startMockProviders, type MockProviders } from '../../testing/mock-providers.js';
import { usageRecord } from '../../testing/usage-record.js';
import { ByokitError } from '../../errors.js';
import { keptHoldCount, memoryStorage } from '../../storage/memory-storage.js';
import type { Storage } from '../../storage/storage.js';
import { admin, alice, bob, call, testByokit } from '../test-helpers.js';

// Budgets (spec/http-api.md, "Usage and billing"): a call that could pass the budget is refused with 402
// before any provider sees it; the hold of its worst case ends with its real cost.

const SONNET = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const chat = (max_tokens: number) => ({ model_id: SONNET, messages: [{ role: 'user', content: 'Hello!' }], max_tokens });

let mock: MockProviders;
beforeAll(async () => {
  mock = await startMockProviders();
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

/**
 * Another byokit on the same storage, as another node: `close()` waits for the usage records (ending their holds),
 * and a closed byokit serves no more calls.
 */
async function reopened(storage: Storage) {
  return (await testByokit({ storage, now: () => new Date('2026-11-25T12:00:00Z') })).byokit;
}

async function setUp(given?: Storage) {
  const { byokit, storage } = await testByokit({
    ...(given && { storage: given }),
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    now: () => new Date('2026-11-25T12:00:00Z'),
  });
  const setBudget = (userId: string, body: unknown) =>
    call(byokit, 'PUT', `/admin/users/${encodeURIComponent(userId)}/budget`, { principal: admin, body });
  return { byokit, storage, setBudget };
}

describe('budgets', () => {
  it('shows no limit and this month’s spending to a user without a budget', async () => {
    const { byokit, storage } = await setUp();
    await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(64) });
    await byokit.close();
    const response = await call(await reopened(storage), 'GET', '/users/me/budget', { principal: alice });
    expect(response!.json).toMatchObject({
      monthly_limit_usd: null,
      applies_to: null,
      reserved_usd: '0',
      remaining_usd: null,
      period_start: '2026-11-01T00:00:00Z',
    });
    expect(Number(response!.json.spent_usd)).toBeGreaterThan(0);
    expect(response!.json.spent_usd).toMatch(/^\d+\.\d{6}$/);
  });

  it('refuses with 402, before any provider, a call whose worst case could pass the budget; a smaller one passes', async () => {
    const { byokit, storage, setBudget } = await setUp();
    // Claude Sonnet 4.5 output is $15 per million tokens: 1,000 tokens could cost $0.015.
    expect((await setBudget(alice.userId, { monthly_limit_usd: '0.01' }))!.status).toBe(200);
    const refused = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(1000) });
    expect(refused!.status).toBe(402);
    expect(refused!.json.error.code).toBe('budget_exceeded');
    expect(mock.requests).toEqual([]);
    const allowed = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(100) });
    expect(allowed!.status).toBe(200);
    await byokit.close();
    const status = await call(await reopened(storage), 'GET', '/users/me/budget', { principal: alice });
    // The hold ended with the call: what is left is the limit less the real cost, nothing held.
    expect(status!.json).toMatchObject({ monthly_limit_usd: '0.01', applies_to: 'all', reserved_usd: '0' });
    const spent = Number(status!.json.spent_usd);
    expect(spent).toBeGreaterThan(0);
    expect(Number(status!.json.remaining_usd)).toBeCloseTo(0.01 - spent, 6);
  });

  it('never shows more left than there is: spent to half a micro-dollar under the limit shows 0 left, not $0.000001', async () => {
    const { byokit, storage, setBudget } = await setUp();
    await setBudget(alice.userId, { monthly_limit_usd: '1' });
    // Costs are exact to the pico-dollar; the view shows 6 decimals. Spent rounds half up to "1.000000"; what is
    // left, half a micro-dollar, refuses every call, and shown rounded half up it read "0.000001".
    const spent = async (costs: string[]) => {
      await storage.recordUsage(
        costs.map((costUsd, index) =>
          usageRecord(alice.userId, new Date(Date.UTC(2026, 10, 20, 0, 0, index)), { modelId: SONNET, keySource: 'system', costUsd }),
        ),
      );
      return (await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json;
    };
    expect(await spent(['0.0000004'])).toMatchObject({ spent_usd: '0.000000', remaining_usd: '0.999999' });
    expect(await spent(['0.9999991'])).toMatchObject({ spent_usd: '1.000000', remaining_usd: '0.000000' });
  });

  it('limits only system-key calls under a "system" budget: a user paying with their own key is not refused', async () => {
    const { byokit, setBudget } = await setUp();
    await setBudget(alice.userId, { monthly_limit_usd: '0', applies_to: 'system' });
    await setBudget(bob.userId, { monthly_limit_usd: '0', applies_to: 'system' });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const ownKey = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(64) });
    expect(ownKey!.status).toBe(200);
    const systemKey = await call(byokit, 'POST', '/llm/chat/completions', { principal: bob, body: chat(64) });
    expect(systemKey!.status).toBe(402);
  });

  it('shows as spent what the budget counts: under a "system" budget the system key\'s calls, as usage by key_source shows them', async () => {
    const { byokit, storage, setBudget } = await setUp();
    const at = new Date(Date.UTC(2026, 10, 20));
    await storage.recordUsage([
      usageRecord(alice.userId, at, { modelId: SONNET, keySource: 'user', costUsd: '5' }),
      usageRecord(alice.userId, at, { modelId: SONNET, keySource: 'system', costUsd: '0.25' }),
    ]);
    const view = async () => (await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json;
    expect(await view()).toMatchObject({ spent_usd: '5.250000', remaining_usd: null });
    await setBudget(alice.userId, { monthly_limit_usd: '1', applies_to: 'system' });
    expect(await view()).toMatchObject({ spent_usd: '0.250000', remaining_usd: '0.750000' });
    await setBudget(alice.userId, { monthly_limit_usd: '10', applies_to: 'all' });
    expect(await view()).toMatchObject({ spent_usd: '5.250000', remaining_usd: '4.750000' });
    const bySource = (await call(byokit, 'GET', '/llm/usage/me?group_by=key_source', { principal: alice }))!.json;
    expect(bySource.groups.map((group: { key: string; cost_usd: string }) => [group.key, group.cost_usd])).toEqual([
      ['system', '0.25'],
      ['user', '5'],
    ]);
  });

  // Told only to ask for fewer tokens or a higher limit, a user whose budget limits the system key alone did not learn
  // that a key of their own goes on working: the one thing they can do without an admin.
  it('says a "system" budget limits calls on the system key, whose call it refused, and that the user\'s own key is not limited', async () => {
    const { byokit, setBudget } = await setUp();
    await setBudget(alice.userId, { monthly_limit_usd: '0', applies_to: 'system' });
    await setBudget(bob.userId, { monthly_limit_usd: '0', applies_to: 'all' });
    const onSystemBudget = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(64) });
    expect(onSystemBudget!.status).toBe(402);
    expect(onSystemBudget!.json.error).toMatchObject({ code: 'budget_exceeded', provider: 'anthropic', key_source: 'system' });
    expect(onSystemBudget!.json.error.message).toMatch(/budget for calls on the system key.*add your own Anthropic key.*not limit/);
    const onWholeBudget = await call(byokit, 'POST', '/llm/chat/completions', { principal: bob, body: chat(64) });
    expect(onWholeBudget!.json.error).toMatchObject({ code: 'budget_exceeded', provider: 'anthropic', key_source: 'system' });
    expect(onWholeBudget!.json.error.message).not.toMatch(/own .* key/);
  });

  // spec/security.md, "Hostile inputs": an unpriced model is refused before any call when budgets are on. Its cost is
  // recorded as 0, so a hold of 0 let a user with a budget call it without end on the host's system key.
  it('refuses, before any provider, a call to a model without prices that a budget limits; without such a budget it is answered', async () => {
    const { byokit, storage, setBudget } = await setUp();
    const added = await call(byokit, 'POST', '/llm-models/', {
      principal: admin,
      body: {
        provider: 'anthropic',
        model: 'claude-unpriced',
        display_name: 'Unpriced',
        context_window: 1000,
        max_output_tokens: 100,
        pricing: null,
      },
    });
    expect(added!.status).toBe(201);
    const unpriced = (as: typeof alice) =>
      call(byokit, 'POST', '/llm/chat/completions', {
        principal: as,
        body: { model_id: added!.json.id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 10 },
      });
    await setBudget(alice.userId, { monthly_limit_usd: '1000' });
    await setBudget(bob.userId, { monthly_limit_usd: '1000', applies_to: 'system' });
    for (const as of [alice, bob]) {
      const refused = await unpriced(as);
      expect(refused!.status).toBe(402);
      expect(refused!.json.error).toMatchObject({ code: 'budget_exceeded', provider: 'anthropic', key_source: 'system' });
      expect(refused!.json.error.message).toMatch(/Unpriced has no prices.*ask an admin to price it/);
    }
    expect(mock.requests).toEqual([]);
    expect((await storage.listUsage({ limit: 10 })).records).toEqual([]);
    expect((await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json).toMatchObject({
      spent_usd: '0.000000',
      reserved_usd: '0',
    });
    // A "system" budget says the user's own key, which it does not limit, is a way on; with it the call is answered.
    expect((await unpriced(bob))!.json.error.message).toMatch(/add your own Anthropic key/);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: bob, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    expect((await unpriced(bob))!.status).toBe(200);
    // Without a budget, an unpriced model is answered as before (its cost recorded as 0).
    expect((await unpriced({ ...alice, userId: 'user-without-budget' }))!.status).toBe(200);
  });

  it('is set by admins only, refuses malformed limits, and null removes it', async () => {
    const { byokit, setBudget } = await setUp();
    const byUser = await call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, { principal: alice, body: { monthly_limit_usd: '1' } });
    expect(byUser!.status).toBe(403);
    for (const body of [
      { monthly_limit_usd: -1 },
      { monthly_limit_usd: '1e3' },
      { monthly_limit_usd: '0.0000001' },
      { monthly_limit_usd: '5', applies_to: 'some' },
      { monthly_limit_usd: '5', user_id: 'x' },
      {},
    ]) {
      const response = await setBudget(alice.userId, body);
      expect([JSON.stringify(body), response!.status]).toEqual([JSON.stringify(body), 422]);
    }
    expect((await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json.monthly_limit_usd).toBeNull();
    await setBudget(alice.userId, { monthly_limit_usd: '7.50', applies_to: 'system' });
    expect((await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json).toMatchObject({
      monthly_limit_usd: '7.5',
      applies_to: 'system',
      remaining_usd: '7.500000',
    });
    await setBudget(alice.userId, { monthly_limit_usd: null });
    expect((await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json.monthly_limit_usd).toBeNull();
  });

  it('refuses a user id that is a provider key pasted in the wrong place: not stored, not echoed', async () => {
    const { storage, setBudget } = await setUp();
    const key = fakeProviderKey('anthropic');
    const response = await setBudget(key, { monthly_limit_usd: '5' });
    expect([response!.status, response!.json.error.code]).toEqual([422, 'validation_failed']);
    expect(response!.text).not.toContain(key.slice(20, 40));
    expect(await storage.getBudget(key)).toBeNull();
  });

  /** A byokit on the mock Anthropic with alice's budget at $0.002: each call's worst case is $0.0015525 (above), so one fits, two do not. */
  async function aliceOnATightBudget(now: () => Date) {
    const made = await testByokit({
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      now,
    });
    await call(made.byokit, 'PUT', `/admin/users/${alice.userId}/budget`, { principal: admin, body: { monthly_limit_usd: '0.002' } });
    return made;
  }

  it('counts a call still running when a new month begins (UTC) in the new month too, where its cost lands', async () => {
    let clock = new Date('2026-11-30T23:59:59Z');
    const { byokit, storage } = await aliceOnATightBudget(() => clock);
    mock.setAnswerDelayMs(1000);
    try {
      // Held in November; its record is made when it ends, in December, and its cost counts there.
      const first = call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(100) });
      await mock.waitForRequest(() => true);
      clock = new Date('2026-12-01T00:00:01Z');
      const during = await call(byokit, 'GET', '/users/me/budget', { principal: alice });
      expect(during!.json).toMatchObject({ period_start: '2026-12-01T00:00:00Z', spent_usd: '0.000000', reserved_usd: '0.0015525' });
      const second = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(100) });
      expect([second!.status, second!.json.error?.code]).toEqual([402, 'budget_exceeded']);
      expect((await first)!.status).toBe(200);
    } finally {
      mock.setAnswerDelayMs(0);
    }
    await byokit.close();
    const after = await call((await testByokit({ storage, now: () => clock })).byokit, 'GET', '/users/me/budget', { principal: alice });
    expect(after!.json).toMatchObject({ period_start: '2026-12-01T00:00:00Z', reserved_usd: '0' });
    expect(Number(after!.json.spent_usd)).toBeGreaterThan(0);
    expect(Number(after!.json.spent_usd)).toBeLessThanOrEqual(0.002);
  });

  it("keeps counting a call that runs past the 15 minutes a dead node's hold lasts: a second call then is still refused", async () => {
    // A stream of a long answer (64,000 tokens at 60 a second: 18 minutes) outlives a hold of fixed expiry. Before,
    // its hold lapsed at 15 minutes while it ran, and the next call was let through: both cost, past the limit.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let clock = new Date('2026-11-25T12:00:00Z');
    const { byokit } = await aliceOnATightBudget(() => clock);
    mock.setAnswerDelayMs(1000);
    try {
      const first = call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(100) });
      await mock.waitForRequest(() => true);
      for (let minute = 1; minute <= 20; minute++) {
        clock = new Date(clock.getTime() + 60_000);
        await vi.advanceTimersByTimeAsync(60_000);
      }
      const during = await call(byokit, 'GET', '/users/me/budget', { principal: alice });
      expect(during!.json).toMatchObject({ reserved_usd: '0.0015525' });
      const second = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(100) });
      expect([second!.status, second!.json.error?.code]).toEqual([402, 'budget_exceeded']);
      expect((await first)!.status).toBe(200);
    } finally {
      mock.setAnswerDelayMs(0);
      vi.useRealTimers();
    }
    await byokit.close();
  });

  it("counts nothing held for a call answered 503 because the database's answer to its hold was lost, once the database is back", async () => {
    // The hold saved, then the connection cut before its answer came (a partition, a failover at the commit): the call
    // is answered 503 and never made, and its worst case counted against the budget for the hold's 15 minutes.
    const memory = memoryStorage();
    let loseNextAnswer = false;
    const storage: Storage = {
      ...memory,
      holdBudget: async (hold, keySource) => {
        const outcome = await memory.holdBudget(hold, keySource);
        if (!loseNextAnswer) return outcome;
        loseNextAnswer = false;
        throw new ByokitError('storage_unavailable', 'The database is unavailable; try again shortly.');
      },
    };
    const { byokit, setBudget } = await setUp(storage);
    await setBudget(alice.userId, { monthly_limit_usd: '1' });

    loseNextAnswer = true;
    const failed = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(1000) });
    expect(failed!.status).toBe(503);
    expect(mock.requests).toEqual([]);
    await byokit.close();
    const status = await call(await reopened(storage), 'GET', '/users/me/budget', { principal: alice });
    expect(status!.json).toMatchObject({ spent_usd: '0.000000', reserved_usd: '0', remaining_usd: '1.000000' });
  });

  it.each([
    ['unreachable (connection refused)', 'unreachable'],
    ['answering 503 to every call', '503'],
  ] as const)(
    'charges nothing and holds nothing for calls to a provider that is down, %s: 502 provider_unavailable, each recorded as an error at cost 0',
    async (_name, how) => {
      // A provider down for an hour: every call fails, and the user's budget must come out of it as it went in.
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
      await new Promise((resolve) => closed.close(resolve));
      const systemKey = fakeProviderKey('anthropic');
      const lines: string[] = [];
      const log = (level: string) => (fields: Record<string, unknown>, message: string) =>
        void lines.push(`${level} ${message} ${util.inspect(fields, { depth: 9 })}`);
      const { byokit, storage } = await testByokit({
        providers: { anthropic: { baseUrl: how === 'unreachable' ? deadUrl : mock.baseUrls.anthropic, retries: 0 } },
        environment: { ANTHROPIC_API_KEY: systemKey },
        now: () => new Date('2026-11-25T12:00:00Z'),
        logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      });
      await call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, { principal: admin, body: { monthly_limit_usd: '1' } });
      for (let attempt = 0; attempt < 5; attempt++) {
        if (how === '503') mock.failNext('anthropic', { status: 503 });
        const failed = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(1000) });
        expect([failed!.status, failed!.json.error.code]).toEqual([502, 'provider_unavailable']);
      }
      await byokit.close();
      const records = (await storage.listUsage({ userId: alice.userId, limit: 100 })).records;
      expect(records.map((record) => [record.status, record.costUsd])).toEqual(Array(5).fill(['error', '0']));
      expect(keptHoldCount(storage)).toBe(0);
      const status = await call(await reopened(storage), 'GET', '/users/me/budget', { principal: alice });
      expect(status!.json).toMatchObject({ spent_usd: '0.000000', reserved_usd: '0', remaining_usd: '1.000000' });
      // One error line a call, saying what failed, and nothing of the key but its last four characters.
      expect(lines.filter((line) => line.startsWith('error ') && line.includes('provider_unavailable'))).toHaveLength(5);
      expect(lines.join('\n')).not.toContain(systemKey.slice(0, -4));
    },
  );

  it('holds concurrent calls to the limit: of many at once, only those whose worst cases fit are sent', async () => {
    const { byokit, storage, setBudget } = await setUp();
    // Each call's worst case: 100 output tokens at $15/M plus 14 prompt "tokens" (6 characters + 8) at $3.75/M,
    // the cache-write price, the highest a prompt token can cost.
    const worstCase = 100 * 15 + 14 * 3.75; // micro-dollars
    await setBudget(alice.userId, { monthly_limit_usd: ((worstCase * 5) / 1e6).toFixed(6) });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: chat(100) })),
    );
    const sent = answers.filter((answer) => answer!.status === 200).length;
    expect(answers.every((answer) => answer!.status === 200 || answer!.status === 402)).toBe(true);
    // Five fit while all are in flight; those that end early release their holds, so a few more may follow.
    expect(sent).toBeGreaterThanOrEqual(5);
    await byokit.close();
    const status = await call(await reopened(storage), 'GET', '/users/me/budget', { principal: alice });
    expect(status!.json.reserved_usd).toBe('0');
    expect(Number(status!.json.spent_usd)).toBeLessThanOrEqual(Number(status!.json.monthly_limit_usd));
  });
});
