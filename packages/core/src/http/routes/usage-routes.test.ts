import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from '../../metering/usd.js';
import { startMockProviders, type MockProviders } from '../../testing/mock-providers.js';
import { admin, alice, bob, call, testByokit } from '../test-helpers.js';

// GET /llm/usage/me, /llm/usage/me/events and /admin/usage over real chat calls (spec/http-api.md, "Usage and billing").

const SONNET = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const hello = { model_id: SONNET, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64 };

let mock: MockProviders;
beforeAll(async () => {
  mock = await startMockProviders();
});
afterAll(() => mock.close());

/** byokit with `count` chats by alice and one by bob, their records written. Its clock is fixed mid-November 2026. */
async function withChats(aliceChats: number) {
  let clock = new Date('2026-11-20T10:00:00Z');
  const { byokit, storage } = await testByokit({
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    now: () => clock,
  });
  const costs: string[] = [];
  for (let index = 0; index < aliceChats; index++) {
    const answer = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello });
    costs.push(answer!.json.usage.cost_usd);
    // A day later each time, so that grouping by day has something to group.
    clock = new Date(clock.getTime() + 86_400_000);
  }
  await call(byokit, 'POST', '/llm/chat/completions', { principal: bob, body: hello });
  // `to` defaults to now, exclusive: let a moment pass so that the last record is inside the default window.
  clock = new Date(clock.getTime() + 1000);
  await expect.poll(async () => (await storage.listUsage({ limit: 100 })).records.length).toBe(aliceChats + 1);
  return { byokit, costs };
}

const sum = (costs: string[]) => formatUsd(costs.reduce((total, cost) => total + parseUsd(cost, PICO_DECIMALS), 0n));

describe("byokit's clock", () => {
  it("dates a call when it ended, where the host's clock is one Date it moves on (setTime) just after", async () => {
    const clock = new Date('2026-11-30T23:59:59.500Z');
    const { byokit, storage } = await testByokit({
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      now: () => clock,
    });
    expect((await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello }))!.status).toBe(200);
    clock.setTime(Date.parse('2026-12-01T00:00:01Z'));
    await expect.poll(async () => (await storage.listUsage({ limit: 1 })).records.length).toBe(1);
    const [record] = (await storage.listUsage({ limit: 1 })).records;
    expect(record!.createdAt.toISOString()).toBe('2026-11-30T23:59:59.500Z');
    await byokit.close();
  });
});

describe('GET /llm/usage/me', () => {
  it("totals the caller's own calls this month, to the last digit of their costs, and nobody else's", async () => {
    const { byokit, costs } = await withChats(3);
    const response = await call(byokit, 'GET', '/llm/usage/me', { principal: alice });
    expect(response!.status).toBe(200);
    expect(response!.json).toMatchObject({
      from: '2026-11-01T00:00:00.000Z',
      group_by: null,
      totals: { requests: 3, cost_usd: sum(costs) },
      groups: [],
    });
    expect(response!.json.totals.prompt_tokens).toBeGreaterThan(0);
  });

  it('answers a summary and a page of events in the shapes docs/http-api.md gives, field for field', async () => {
    const { byokit } = await withChats(1);
    const summary = (await call(byokit, 'GET', '/llm/usage/me?group_by=model', { principal: alice }))!.json;
    const page = (await call(byokit, 'GET', '/llm/usage/me/events', { principal: alice }))!.json;
    const counts = [
      'requests',
      'prompt_tokens',
      'completion_tokens',
      'cached_tokens',
      'cache_write_tokens',
      'reasoning_tokens',
      'cost_usd',
    ];
    expect({
      summary: Object.keys(summary),
      totals: Object.keys(summary.totals),
      group: Object.keys(summary.groups[0]),
      page: Object.keys(page),
      event: Object.keys(page.data[0]),
      prices: Object.keys(page.data[0].prices),
    }).toEqual({
      summary: ['from', 'to', 'group_by', 'totals', 'groups'],
      totals: counts,
      group: ['key', ...counts],
      page: ['data', 'next_cursor'],
      event: [
        'id',
        'created_at',
        'model_id',
        'model',
        'provider',
        'key_source',
        'status',
        ...counts.slice(1, -1),
        'cost_usd',
        'prices',
        'latency_ms',
        'request_id',
      ],
      prices: ['input_per_mtok_usd', 'output_per_mtok_usd', 'cached_input_per_mtok_usd', 'cache_write_per_mtok_usd'],
    });
  });

  it('groups by day, model, provider or key source, and the groups add up to the totals', async () => {
    const { byokit } = await withChats(3);
    for (const groupBy of ['day', 'model', 'provider', 'key_source']) {
      const response = await call(byokit, 'GET', `/llm/usage/me?group_by=${groupBy}&from=2026-11-01&to=2026-12-01`, { principal: alice });
      const { totals, groups } = response!.json;
      expect(groups.length).toBeGreaterThan(0);
      expect(groups.reduce((total: number, group: { requests: number }) => total + group.requests, 0)).toBe(totals.requests);
      expect(sum(groups.map((group: { cost_usd: string }) => group.cost_usd))).toBe(totals.cost_usd);
    }
    const byDay = await call(byokit, 'GET', '/llm/usage/me?group_by=day', { principal: alice });
    expect(byDay!.json.groups.map((group: { key: string }) => group.key)).toEqual(['2026-11-20', '2026-11-21', '2026-11-22']);
    const byModel = await call(byokit, 'GET', '/llm/usage/me?group_by=model', { principal: alice });
    expect(byModel!.json.groups).toMatchObject([{ key: SONNET, requests: 3 }]);
  });

  it('ends the window at a `to` given alone, from the start of the month it ends in', async () => {
    const { byokit } = await withChats(3);
    for (const [to, from, requests] of [
      ['2026-12-01', '2026-11-01T00:00:00.000Z', 3],
      ['2026-11-21', '2026-11-01T00:00:00.000Z', 1],
      ['2026-11-01', '2026-10-01T00:00:00.000Z', 0],
    ] as const) {
      const response = await call(byokit, 'GET', `/llm/usage/me?to=${to}`, { principal: alice });
      expect([to, response!.status, response!.json.from, response!.json.totals.requests]).toEqual([to, 200, from, requests]);
    }
  });

  it('refuses a window that ends before it starts, a malformed date, an unknown grouping or field, naming it in issues', async () => {
    const { byokit } = await withChats(0);
    for (const [query, path] of [
      ['from=2026-11-10&to=2026-11-01', 'from'],
      ['from=2026-12-01', 'from'], // after now, the default `to`
      ['from=yesterday', 'from'],
      ['from=2026-02-30', 'from'],
      ['from=0000-01-01', 'from'],
      ['to=2026-11-25T25:00:00Z', 'to'],
      ['group_by=user', 'group_by'],
      ['group_by=week', 'group_by'],
      ['group_by=day&group_by=model', 'group_by'],
      ['user_id=user-bob', 'user_id'],
    ]) {
      const response = await call(byokit, 'GET', `/llm/usage/me?${query}`, { principal: alice });
      expect([query, response!.status, response!.json.error.code]).toEqual([query, 422, 'validation_failed']);
      expect([query, response!.json.error.issues]).toEqual([query, [{ path, message: expect.any(String) }]]);
    }
  });

  it('counts a record by the exact instant of a `from` or `to` finer than a millisecond, not the millisecond before it', async () => {
    // Alice's one record is at 2026-11-20T10:00:00.000Z exactly.
    const { byokit } = await withChats(1);
    for (const [query, requests, from, to] of [
      // 10:00:00.000 is before a `from` of 10:00:00.0001: outside the window.
      ['from=2026-11-20T10:00:00.0001Z&to=2026-11-21', 0, '2026-11-20T10:00:00.001Z', '2026-11-21T00:00:00.000Z'],
      // ...and before a `to` of 10:00:00.0001 (exclusive): inside it.
      ['from=2026-11-20&to=2026-11-20T10:00:00.0001Z', 1, '2026-11-20T00:00:00.000Z', '2026-11-20T10:00:00.001Z'],
      ['from=2026-11-20&to=2026-11-20T10:00:00.999999%2B00:00', 1, '2026-11-20T00:00:00.000Z', '2026-11-20T10:00:01.000Z'],
      // Zeros past the millisecond (Python's isoformat) are the same instant: a `to` there excludes it, a `from` includes it.
      ['from=2026-11-20&to=2026-11-20T10:00:00.000000%2B00:00', 0, '2026-11-20T00:00:00.000Z', '2026-11-20T10:00:00.000Z'],
      ['from=2026-11-20T10:00:00.000000Z&to=2026-11-21', 1, '2026-11-20T10:00:00.000Z', '2026-11-21T00:00:00.000Z'],
    ] as const) {
      const response = await call(byokit, 'GET', `/llm/usage/me?${query}`, { principal: alice });
      expect([query, response!.status, response!.json.totals?.requests, response!.json.from, response!.json.to]).toEqual([
        query,
        200,
        requests,
        from,
        to,
      ]);
    }
  });

  it('refuses a `from` or `to` in the last millisecond of 9999 finer than a millisecond (422), as it refuses 10000', async () => {
    // Taken up to the next whole millisecond, such a time is 10000-01-01: past what every database's timestamp
    // holds (PostgreSQL refused the query, a 5xx), and no time the answer could show in the contract's format.
    const { byokit } = await withChats(0);
    // `from` is read by the same schema; a `from` there needs a `to` past it, refused the same way.
    for (const [query, ...paths] of [
      ['from=2026-11-20&to=9999-12-31T23:59:59.9999Z', 'to'],
      ['from=2026-11-20&to=9999-12-31T23:59:59.999999%2B00:00', 'to'],
    ] as const) {
      for (const url of [`/llm/usage/me?${query}`, `/admin/usage?${query}`]) {
        const response = await call(byokit, 'GET', url, { principal: url.startsWith('/admin') ? admin : alice });
        expect([url, response!.status, response!.json.error?.code, response!.json.error?.issues]).toEqual([
          url,
          422,
          'validation_failed',
          paths.map((path) => ({ path, message: 'A date from 1970 to 9999.' })),
        ]);
      }
    }
    // The last whole millisecond of 9999 is still taken.
    const last = await call(byokit, 'GET', '/llm/usage/me?from=2026-11-20&to=9999-12-31T23:59:59.999Z', { principal: alice });
    expect([last!.status, last!.json.to]).toEqual([200, '9999-12-31T23:59:59.999Z']);
  });

  it("says to write an offset's + as %2B when it arrived as a space", async () => {
    const { byokit } = await withChats(0);
    const response = await call(byokit, 'GET', '/llm/usage/me?from=2026-11-01T00:00:00+05:00', { principal: alice });
    expect(response!.status).toBe(422);
    expect(response!.json.error.issues).toEqual([{ path: 'from', message: expect.stringContaining("write the offset's + as %2B") }]);
    const encoded = await call(byokit, 'GET', '/llm/usage/me?from=2026-11-01T00:00:00%2B05:00', { principal: alice });
    expect([encoded!.status, encoded!.json.from]).toEqual([200, '2026-10-31T19:00:00.000Z']);
  });

  it('does not say to write the + as %2B when the time would be refused with it too (no seconds, `+0530`, `+05`)', async () => {
    const { byokit } = await withChats(0);
    for (const time of ['2026-11-01T00:00+05:00', '2026-11-01T00:00:00+0530', '2026-11-01T00:00:00+05']) {
      const encoded = await call(byokit, 'GET', `/llm/usage/me?from=${time.replace('+', '%2B')}`, { principal: alice });
      const spaced = await call(byokit, 'GET', `/llm/usage/me?from=${time}`, { principal: alice });
      const messages = [encoded, spaced].map((response) => [response!.status, response!.json.error.issues[0].message]);
      expect([time, ...messages]).toEqual([
        time,
        ...Array(2).fill([422, expect.stringMatching(/^A date \(2026-11-01\) or a time with its offset/)]),
      ]);
    }
  });
});

describe('GET /llm/usage/me/events', () => {
  it("pages through the caller's records newest first, each exactly once", async () => {
    const { byokit } = await withChats(5);
    const seen: Array<{ id: string; created_at: string }> = [];
    let cursor: string | null = null;
    do {
      const page = await call(byokit, 'GET', `/llm/usage/me/events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        principal: alice,
      });
      expect(page!.status).toBe(200);
      seen.push(...page!.json.data);
      cursor = page!.json.next_cursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((event) => event.id)).size).toBe(5);
    expect(seen.map((event) => event.created_at)).toEqual([...seen.map((event) => event.created_at)].sort().reverse());
    expect(seen[0]).toMatchObject({ model_id: SONNET, provider: 'anthropic', key_source: 'system', status: 'ok' });
  });

  it('answers 20 records a page when no limit is given, and up to 100 when asked', async () => {
    const { byokit } = await withChats(21);
    const unasked = await call(byokit, 'GET', '/llm/usage/me/events', { principal: alice });
    const hundred = await call(byokit, 'GET', '/llm/usage/me/events?limit=100', { principal: alice });
    expect([unasked!.status, unasked!.json.data.length, typeof unasked!.json.next_cursor]).toEqual([200, 20, 'string']);
    expect([hundred!.status, hundred!.json.data.length, hundred!.json.next_cursor]).toEqual([200, 21, null]);
  });

  it('refuses a cursor it did not give and a limit outside 1 to 100, naming it in issues', async () => {
    const { byokit } = await withChats(1);
    for (const query of ['cursor=not-a-cursor', 'limit=0', 'limit=101', 'limit=1.5', 'limit=-1']) {
      const response = await call(byokit, 'GET', `/llm/usage/me/events?${query}`, { principal: alice });
      expect([query, response!.status, response!.json.error.code]).toEqual([query, 422, 'validation_failed']);
      expect(response!.json.error.issues, query).toEqual([{ path: query.split('=')[0], message: expect.any(String) }]);
    }
    // The route's pages name their cursor next_cursor (in code, `next`): the message names the field the caller has.
    const forged = await call(byokit, 'GET', '/llm/usage/me/events?cursor=not-a-cursor', { principal: alice });
    expect(forged!.json.error.message).toBe('cursor is not one this API gave: pass next_cursor of the previous page as it is.');
  });
});

describe('GET /admin/usage', () => {
  it("is for admins only, and shows every user's usage, grouped by user or for one user", async () => {
    const { byokit } = await withChats(2);
    const refused = await call(byokit, 'GET', '/admin/usage', { principal: alice });
    expect(refused!.status).toBe(403);
    const byUser = await call(byokit, 'GET', '/admin/usage?group_by=user', { principal: admin });
    expect(byUser!.json.totals.requests).toBe(3);
    expect(byUser!.json.groups.map((group: { key: string; requests: number }) => [group.key, group.requests])).toEqual([
      [alice.userId, 2],
      [bob.userId, 1],
    ]);
    const bobs = await call(byokit, 'GET', `/admin/usage?user_id=${bob.userId}`, { principal: admin });
    expect(bobs!.json.totals.requests).toBe(1);
  });
});
