import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createByokit, Keyring } from '@byokit/core';
import { fakeProviderKey, startMockProviders, type MockProviders } from '@byokit/core/testing';
import { postgresStorage } from './index.js';
import { servedOverHttp } from './test-helpers.js';

// spec/security.md, "Resource consumption" (issue 5): 200 concurrent calls from one user at the budget edge,
// through two whole byokit nodes on one PostgreSQL, over real HTTP. budget-concurrency.test.ts proves the
// storage's holds; this proves the path a user takes: route, guard, provider, usage record.

const PICO_PER_USD = 10n ** 12n;

/** Exact pico-dollars of a plain decimal text ("0.000486" → 486_000_000n): money compared without floats. */
function pico(text: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,12}))?$/.exec(text);
  if (!match) throw new TypeError(`Not a money amount: ${JSON.stringify(text)}`);
  return BigInt(match[1]!) * PICO_PER_USD + BigInt((match[2] ?? '').padEnd(12, '0'));
}

/** The shortest decimal text of pico-dollars (486_000_000n → "0.000486"). */
function usd(amount: bigint): string {
  const fraction = (amount % PICO_PER_USD).toString().padStart(12, '0').replace(/0+$/, '');
  return fraction === '' ? `${amount / PICO_PER_USD}` : `${amount / PICO_PER_USD}.${fraction}`;
}

// Claude Sonnet 4.5, the user guide's model: $3 per million input tokens, $3.75 per million written to the
// cache, $15 per million output tokens (core's built-in catalog), so 3,000,000, 3,750,000 and 15,000,000
// pico-dollars a token.
const SONNET_4_5 = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const INPUT_PER_TOKEN = pico('3') / 1_000_000n;
const CACHE_WRITE_PER_TOKEN = pico('3.75') / 1_000_000n;
const OUTPUT_PER_TOKEN = pico('15') / 1_000_000n;

// The worst case byokit holds (docs/http-api.md, "Budgets: decisions"): the prompt at one token per character
// plus 8 per message at the highest prompt price (the cache write's), and max_tokens at the output price.
// 4 + 8 = 12 prompt tokens and 30 output tokens: 45 + 450 = 495 µ$.
const PROMPT = 'Hey!';
const MAX_TOKENS = 30;
const HOLD = BigInt(PROMPT.length + 8) * CACHE_WRITE_PER_TOKEN + BigInt(MAX_TOKENS) * OUTPUT_PER_TOKEN;

// What the mock reports, whatever is asked (core/fixtures/anthropic/anthropic-text.json and .chunks.txt): 12
// input tokens, and 29 output tokens in a complete answer (36 + 435 = 471 µ$) or 30 in a stream (36 + 450 =
// 486 µ$). The answers' own usage is checked against these below.
const ANSWER = { promptTokens: 12, completionTokens: 29 };
const STREAM = { promptTokens: 12, completionTokens: 30 };
const costOf = (usage: { promptTokens: number; completionTokens: number }) =>
  BigInt(usage.promptTokens) * INPUT_PER_TOKEN + BigInt(usage.completionTokens) * OUTPUT_PER_TOKEN;

const CALLS = 200;
const ADMIN = 'admin';
// Both nodes read one clock, as NTP-synced nodes would; fixed, so that no run straddles a month's end.
const NOW = new Date('2027-03-15T12:00:00Z');
const databaseUrl = process.env.DATABASE_URL;

interface Answer {
  status: number;
  contentType: string | null;
  requestId: string | null;
  text: string;
}

interface ByokitNode {
  base: string;
  call(method: string, path: string, userId: string, body?: unknown): Promise<Answer>;
  /** Stops serving, then closes byokit, which waits for the usage records still being written. Idempotent. */
  close(): Promise<void>;
}

describe.runIf(databaseUrl)('a user racing 200 calls at the budget edge through two byokit nodes on one PostgreSQL', () => {
  const schema = `budget_nodes_${randomBytes(6).toString('hex')}`;
  const usageEvents = `"${schema}"."byokit_usage_events"`;
  const reservations = `"${schema}"."byokit_budget_reservations"`;
  // One master key and one system key for the deployment, as every node of it would be configured.
  const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
  const systemKey = fakeProviderKey('anthropic');
  let mock: MockProviders;
  let pool: pg.Pool;

  beforeAll(async () => {
    mock = await startMockProviders();
    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  });
  afterAll(async () => {
    await mock?.close();
    await pool?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool?.end();
  });
  beforeEach(() => mock.reset());

  /** A whole byokit, with a storage and a pool of its own over the shared schema, served on node:http. */
  async function startNode(): Promise<ByokitNode> {
    const storage = postgresStorage({ connectionString: databaseUrl!, schema });
    await storage.migrate();
    const byokit = await createByokit({
      storage,
      keyring,
      environment: { ANTHROPIC_API_KEY: systemKey },
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
      now: () => NOW,
      // A hundred calls of one user at once on each node: the budget alone decides which go through.
      concurrentCallsPerUser: 0,
    });
    const { base, close } = await servedOverHttp(byokit);
    const node: ByokitNode = {
      base,
      async call(method, path, userId, body) {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${userId}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        return {
          status: response.status,
          contentType: response.headers.get('content-type'),
          requestId: response.headers.get('x-request-id'),
          text: await response.text(),
        };
      },
      close,
    };
    return node;
  }

  /** The budget as the user sees it, in pico-dollars. */
  async function budgetOf(node: ByokitNode, userId: string) {
    const answer = await node.call('GET', '/users/me/budget', userId);
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text) as Record<string, string | null>;
    return { ...body, spent: pico(body.spent_usd!), reserved: pico(body.reserved_usd!) };
  }

  /**
   * An admin sets `limit`, then the user fires 200 identical calls at once, alternating between the nodes,
   * while a watcher reads the budget (spent + held) from both nodes until the last answer is in. Then both
   * nodes close, which waits for every usage record still being written.
   */
  async function raceAtTheEdge(limit: bigint, stream: boolean) {
    const userId = `user-${randomUUID()}`;
    const nodes = [await startNode(), await startNode()];
    const set = await nodes[1]!.call('PUT', `/admin/users/${userId}/budget`, ADMIN, { monthly_limit_usd: usd(limit) });
    expect(set.status).toBe(200);
    expect(JSON.parse(set.text)).toMatchObject({ monthly_limit_usd: usd(limit), applies_to: 'all', reserved_usd: '0' });

    let racing = true;
    const watched: bigint[] = [];
    const watcher = (async () => {
      for (let index = 0; racing; index++) {
        const budget = await budgetOf(nodes[index % 2]!, userId);
        watched.push(budget.spent + budget.reserved);
      }
    })();
    const body = { model_id: SONNET_4_5, messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS, stream };
    let answers: Answer[];
    try {
      answers = await Promise.all(
        Array.from({ length: CALLS }, (_, index) => nodes[index % 2]!.call('POST', '/llm/chat/completions', userId, body)),
      );
    } finally {
      racing = false;
      await watcher;
    }
    await Promise.all(nodes.map((node) => node.close()));

    const records = await pool.query<{ status: string; cost_usd: string }>(
      `SELECT status, cost_usd::text AS cost_usd FROM ${usageEvents} WHERE user_id = $1`,
      [userId],
    );
    const held = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${reservations} WHERE user_id = $1`, [userId]);
    return {
      userId,
      answers,
      accepted: answers.filter((answer) => answer.status === 200),
      refused: answers.filter((answer) => answer.status !== 200),
      watched,
      records: records.rows,
      recordedSpend: records.rows.reduce((total, row) => total + pico(row.cost_usd), 0n),
      reservationsLeft: Number(held.rows[0]!.n),
    };
  }

  /** A refusal in the contract's error shape: 402 budget_exceeded, naming the provider and the system key it would have used. */
  function expectBudgetRefusal(answer: Answer) {
    expect(answer.status).toBe(402);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        code: 'budget_exceeded',
        message: expect.any(String),
        provider: 'anthropic',
        key_source: 'system',
        request_id: answer.requestId,
      },
    });
  }

  it('lets exactly 20 of 200 racing calls through at a $0.0099 budget, refuses the other 180 with 402, and spends $0.00942', async () => {
    // Room for 20 worst cases (20 × 495 µ$); 20 real answers cost 20 × 471 = 9,420 µ$. The count is exact
    // whatever the timing: a refusal saw spent + held > limit − 495 µ$, and each call let through counts at
    // most 495 µ$, so at least 20 got in; and a 21st would need at least 9,420 + 495 = 9,915 µ$, over the limit.
    const limit = 20n * HOLD;
    expect([HOLD, costOf(ANSWER), limit]).toEqual([pico('0.000495'), pico('0.000471'), pico('0.0099')]);
    expect(20n * costOf(ANSWER) + HOLD).toBeGreaterThan(limit);
    // Without the hold, all 200 would be answered: 200 × 471 µ$ = $0.0942, 9.5 times the limit.
    expect(BigInt(CALLS) * costOf(ANSWER)).toBeGreaterThan(9n * limit);

    const race = await raceAtTheEdge(limit, false);

    expect(race.accepted).toHaveLength(20);
    expect(race.refused).toHaveLength(180);
    for (const answer of race.accepted) {
      const { usage } = JSON.parse(answer.text) as { usage: Record<string, unknown> };
      expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 29, key_source: 'system' });
      expect(pico(usage.cost_usd as string)).toBe(costOf(ANSWER));
    }
    race.refused.forEach(expectBudgetRefusal);
    // A refused call never reached the provider.
    expect(mock.requests.filter((request) => request.path === '/v1/messages')).toHaveLength(20);

    // Spent + held, as the user saw it on either node during the race, never passed the limit.
    expect(race.watched.length).toBeGreaterThan(0);
    for (const sample of race.watched) expect(sample).toBeLessThanOrEqual(limit);

    // One record per answer, all ok, within the limit; no hold left behind.
    expect(race.records).toHaveLength(20);
    expect(race.records.every((record) => record.status === 'ok')).toBe(true);
    expect(race.recordedSpend).toBe(pico('0.00942'));
    expect(race.recordedSpend).toBeLessThanOrEqual(limit);
    expect(race.reservationsLeft).toBe(0);

    // Any node, even one started afterwards, shows the same, and refuses the next call: 480 µ$ are left,
    // less than one worst case.
    const later = await startNode();
    expect(await budgetOf(later, race.userId)).toMatchObject({
      monthly_limit_usd: '0.0099',
      applies_to: 'all',
      spent_usd: '0.009420',
      reserved_usd: '0',
      remaining_usd: '0.000480',
    });
    const body = { model_id: SONNET_4_5, messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS };
    expectBudgetRefusal(await later.call('POST', '/llm/chat/completions', race.userId, body));
  });

  it('streams exactly 20 of 200 racing streamed calls at a $0.0099 budget, and spends $0.00972', async () => {
    // A streamed answer costs 486 µ$ and holds 495 µ$, so 20 fit a limit of 20 × 495 µ$, and a 21st would need
    // at least 20 × 486 + 495 = 10,215 µ$.
    const limit = 20n * HOLD;
    expect([costOf(STREAM), limit]).toEqual([pico('0.000486'), pico('0.0099')]);
    expect(20n * costOf(STREAM) + HOLD).toBeGreaterThan(limit);

    const race = await raceAtTheEdge(limit, true);

    expect(race.accepted).toHaveLength(20);
    expect(race.refused).toHaveLength(180);
    for (const answer of race.accepted) {
      expect(answer.contentType).toBe('text/event-stream; charset=utf-8');
      const events = answer.text
        .split('\n\n')
        .filter((event) => event !== '')
        .map((event) => event.replace(/^data: /, ''));
      expect(events.at(-1)).toBe('[DONE]');
      const { usage } = JSON.parse(events.at(-2)!) as { usage: Record<string, unknown> };
      expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 30, key_source: 'system' });
      expect(pico(usage.cost_usd as string)).toBe(costOf(STREAM));
    }
    // Refused before the stream began: a plain 402, not an error event after a 200.
    race.refused.forEach(expectBudgetRefusal);
    expect(mock.requests.filter((request) => request.path === '/v1/messages')).toHaveLength(20);

    expect(race.watched.length).toBeGreaterThan(0);
    for (const sample of race.watched) expect(sample).toBeLessThanOrEqual(limit);
    expect(race.records).toHaveLength(20);
    expect(race.records.every((record) => record.status === 'ok')).toBe(true);
    expect(race.recordedSpend).toBe(pico('0.00972'));
    expect(race.reservationsLeft).toBe(0);

    const later = await startNode();
    expect(await budgetOf(later, race.userId)).toMatchObject({
      spent_usd: '0.009720',
      reserved_usd: '0',
      remaining_usd: '0.000180',
    });
  });
});
