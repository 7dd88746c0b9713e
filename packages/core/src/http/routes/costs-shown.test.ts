import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { MAX_TOKEN_COUNT } from '../../providers/token-count.js';
import { startReplayServer, type ReplayServer } from '../../providers/replay-server.js';
import { attoOf, dollarsOf, dollarsTo6, randomMoney, referenceCost, type ReferenceTokens } from '../../testing/reference-money.js';
import { seededRandom } from '../../testing/seeded-random.js';
import type { Principal } from '../types.js';
import { admin, alice, bob, call, testByokit } from '../test-helpers.js';

// What a user is shown of money, against an independent reference (BigInt atto-dollars): each call's cost_usd, its
// usage record, the usage routes' sums and the budget view, one call after another at random prices and counts.

const NOW = new Date('2026-11-25T12:00:00Z');
let usage: { prompt: number; cached: number; writes: number; completion: number; reasoning: number };
let provider: ReplayServer;
beforeAll(async () => {
  provider = await startReplayServer((request) => {
    const openAIUsage = {
      prompt_tokens: usage.prompt,
      completion_tokens: usage.completion,
      total_tokens: usage.prompt + usage.completion,
      prompt_tokens_details: { cached_tokens: usage.cached, cache_write_tokens: usage.writes },
      completion_tokens_details: { reasoning_tokens: usage.reasoning },
    };
    const chunk = (choices: unknown[], more = {}) =>
      JSON.stringify({
        id: 'chatcmpl-costs',
        object: 'chat.completion.chunk',
        created: 1_770_933_883,
        model: 'gpt-4.1-nano',
        choices,
        ...more,
      });
    if ((request.body as { stream?: boolean }).stream) {
      return {
        events: [
          chunk([{ index: 0, delta: { role: 'assistant', content: 'Hi.' }, finish_reason: null }]),
          chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
          chunk([], { usage: openAIUsage }),
        ],
        done: true,
      };
    }
    return {
      json: {
        id: 'chatcmpl-costs',
        object: 'chat.completion',
        created: 1_770_933_883,
        model: 'gpt-4.1-nano',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hi.', refusal: null }, finish_reason: 'stop' }],
        usage: openAIUsage,
      },
    };
  });
});
afterAll(() => provider.close());

async function setUp() {
  const options = {
    providers: { openai: { baseUrl: `${provider.origin}/v1`, retries: 0 } },
    environment: { OPENAI_API_KEY: fakeProviderKey('openai') },
    now: () => NOW,
  };
  const { byokit, storage } = await testByokit(options);
  const added = await call(byokit, 'POST', '/llm-models/', {
    principal: admin,
    body: {
      provider: 'openai',
      model: 'gpt-4.1-nano',
      display_name: 'GPT-4.1 nano',
      context_window: 1_000_000,
      max_output_tokens: 32_768,
      pricing: { input_per_mtok_usd: '0.1', output_per_mtok_usd: '0.4' },
    },
  });
  expect(added!.status).toBe(201);
  // Another node on the same storage, to read what the first wrote once it closed (its records all written).
  // Its clock an hour on: a window up to now holds the records made at NOW.
  const reopened = async () => (await testByokit({ ...options, storage, now: () => new Date(NOW.getTime() + 3_600_000) })).byokit;
  return { byokit, id: added!.json.id as string, reopened };
}

describe('costs shown', () => {
  it("show each call's cost, its record, the sums and the budget to the pico-dollar an independent reference adds", async () => {
    const random = seededRandom(20261207);
    const money = randomMoney(random);
    const { byokit, id, reopened } = await setUp();
    const costs: bigint[] = [];
    for (let round = 0; round < 40; round++) {
      const prices = money.prices();
      // OpenAI's prompt_tokens holds its cache reads and writes; with the completion, within what a client takes.
      const prompt = money.count();
      const cached = Math.floor(random() * (prompt + 1));
      const writes = Math.floor(random() * (prompt - cached + 1));
      const completion = Math.min(money.count(), MAX_TOKEN_COUNT - prompt);
      usage = { prompt, cached, writes, completion, reasoning: Math.floor(random() * (completion + 1)) };
      const tokens: ReferenceTokens = {
        uncachedInput: prompt - cached - writes,
        cachedInput: cached,
        cacheWrite: writes,
        output: completion,
      };
      const pricing = {
        input_per_mtok_usd: prices.input,
        output_per_mtok_usd: prices.output,
        ...(prices.cachedInput !== undefined && { cached_input_per_mtok_usd: prices.cachedInput }),
        ...(prices.cacheWrite !== undefined && { cache_write_per_mtok_usd: prices.cacheWrite }),
      };
      expect((await call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { pricing } }))!.status).toBe(200);
      // Every other call streamed: its usage chunk's cost.
      const stream = round % 2 === 1;
      const answer = await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: { model_id: id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 16, stream },
      });
      const shown = stream
        ? (answer!.events as Array<{ usage?: { cost_usd: string } }>).find((event) => event.usage)?.usage?.cost_usd
        : answer!.json.usage?.cost_usd;
      const expected = referenceCost(tokens, prices);
      expect({ round, stream, cost: shown }).toEqual({ round, stream, cost: dollarsOf(expected) });
      costs.push(expected);
    }
    await byokit.close();
    const reader = await reopened();

    const events = (await call(reader, 'GET', '/llm/usage/me/events?limit=100', { principal: alice }))!.json.data as Array<{
      cost_usd: string;
    }>;
    // Newest first.
    expect(events.map((event) => event.cost_usd)).toEqual(costs.map(dollarsOf).reverse());
    const total = costs.reduce((sum, cost) => sum + cost, 0n);
    for (const path of ['/llm/usage/me', '/llm/usage/me?group_by=day', '/admin/usage?group_by=user']) {
      const summary = (await call(reader, 'GET', path, { principal: path.startsWith('/admin') ? admin : alice }))!.json;
      expect({ path, cost: summary.totals.cost_usd }).toEqual({ path, cost: dollarsOf(total) });
      for (const group of summary.groups) expect(attoOf(group.cost_usd)).toBe(total);
    }
    const budget = (await call(reader, 'GET', '/users/me/budget', { principal: alice }))!.json;
    expect(budget).toMatchObject({ spent_usd: dollarsTo6(total), reserved_usd: '0' });
  });

  it('bill a provider that reports more output than max_tokens for what it reported, past the hold; the next call is refused', async () => {
    const { byokit, id, reopened } = await setUp();
    const setBudget = (monthly_limit_usd: string) =>
      call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, { principal: admin, body: { monthly_limit_usd } });
    const chat = () =>
      call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: { model_id: id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 16 },
      });
    // The hold: 16 output tokens at $0.4 and 6 + 8 prompt bytes at $0.1 per million, $0.0000078; the limit $0.01.
    expect((await setBudget('0.01'))!.status).toBe(200);
    usage = { prompt: 14, cached: 0, writes: 0, completion: 100_000, reasoning: 0 };
    const answer = await chat();
    // 14 × 0.1 + 100,000 × 0.4 per million: $0.0400014, four times the limit, billed as reported.
    expect(answer!.json.usage).toMatchObject({ completion_tokens: 100_000, cost_usd: '0.0400014' });
    await byokit.close();
    const reader = await reopened();
    expect((await call(reader, 'GET', '/users/me/budget', { principal: alice }))!.json).toMatchObject({
      monthly_limit_usd: '0.01',
      spent_usd: '0.040001',
      reserved_usd: '0',
      remaining_usd: '0.000000',
    });
    const next = await call(reader, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: { model_id: id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 1 },
    });
    expect(next!.status).toBe(402);
  });

  it("let a call through whose worst case is exactly what is left, refuse one a micro-dollar over, and let a free model's through at a limit of 0", async () => {
    const { byokit, id } = await setUp();
    const priced = (input_per_mtok_usd: string, output_per_mtok_usd: string) =>
      call(byokit, 'PATCH', `/llm-models/${id}`, { principal: admin, body: { pricing: { input_per_mtok_usd, output_per_mtok_usd } } });
    const setBudget = (user: Principal, monthly_limit_usd: string) =>
      call(byokit, 'PUT', `/admin/users/${user.userId}/budget`, { principal: admin, body: { monthly_limit_usd } });
    const chat = async (user: Principal, max_tokens: number) =>
      (await call(byokit, 'POST', '/llm/chat/completions', {
        principal: user,
        body: { model_id: id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens },
      }))!.status;
    usage = { prompt: 10, cached: 0, writes: 0, completion: 10, reasoning: 0 };
    // At $1 per million tokens each way, "Hello!" (6 bytes and 8 for its message) with max_tokens 16 holds $0.00003.
    await priced('1', '1');
    await setBudget(alice, '0.00003');
    expect(await chat(alice, 17)).toBe(402);
    expect(await chat(alice, 16)).toBe(200);
    // Free: a worst case of 0 fits a limit of 0, and costs nothing; a price of a millionth of a dollar does not.
    await priced('0', '0');
    await setBudget(bob, '0');
    expect([await chat(bob, 16), await chat(bob, 16)]).toEqual([200, 200]);
    // A limit below what is spent refuses every call, a free one too.
    await setBudget(alice, '0.00001');
    expect(await chat(alice, 16)).toBe(402);
    await priced('0', '0.000001');
    expect(await chat(bob, 1)).toBe(402);
  });

  it('hold a running call against a limit lowered meanwhile, refusing the next call, and bill it in full when it ends', async () => {
    const { byokit, id, reopened } = await setUp();
    await call(byokit, 'PATCH', `/llm-models/${id}`, {
      principal: admin,
      body: { pricing: { input_per_mtok_usd: '1', output_per_mtok_usd: '1' } },
    });
    const setBudget = (monthly_limit_usd: string) =>
      call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, { principal: admin, body: { monthly_limit_usd } });
    const body = { model_id: id, messages: [{ role: 'user' as const, content: 'Hello!' }], max_tokens: 16 };
    const chat = async (node: typeof byokit) => (await call(node, 'POST', '/llm/chat/completions', { principal: alice, body }))!.status;
    usage = { prompt: 10, cached: 0, writes: 0, completion: 10, reasoning: 0 };
    await setBudget('0.0001');
    // A call begun and not yet read to its end: its $0.00003 worst case held.
    const running = byokit.chatStream(alice, body)[Symbol.asyncIterator]();
    expect((await running.next()).done).toBe(false);
    expect((await call(byokit, 'GET', '/users/me/budget', { principal: alice }))!.json).toMatchObject({ reserved_usd: '0.00003' });
    // Lowered to $0.00005: $0.00002 is left beside the hold, too little for another such call.
    await setBudget('0.00005');
    expect(await chat(byokit)).toBe(402);
    while (!(await running.next()).done);
    await byokit.close();
    // Ended, it is billed what it cost ($0.00002, 20 tokens at $1 per million), and its hold is gone.
    const reader = await reopened();
    expect((await call(reader, 'GET', '/users/me/budget', { principal: alice }))!.json).toMatchObject({
      monthly_limit_usd: '0.00005',
      spent_usd: '0.000020',
      reserved_usd: '0',
      remaining_usd: '0.000030',
    });
    expect(await chat(reader)).toBe(200);
  });
});
