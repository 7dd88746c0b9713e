import { describe, expect, it } from 'vitest';
import { ModelCatalog } from '../catalog/catalog.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { UsageRecord } from '../metering/usage-record.js';
import { parseUsd, PICO_DECIMALS } from '../metering/usd.js';
import { costOf } from '../metering/cost.js';
import type { ChatCompletionRequest } from './chat-schemas.js';
import { admin, alice, call, mockProvidersForFile, streamThenLeave, testByokit } from '../http/test-helpers.js';
import type { ByokitOptions } from '../byokit.js';
import type { Storage } from '../storage/storage.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { isByokitError } from '../errors.js';

// Every call that reached a provider leaves one usage record, whatever its outcome (spec/http-api.md, "Usage
// and billing"); a request refused before the provider leaves none.

const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const sonnet = ModelCatalog.create().get(GUIDE_MODEL_ID)!;
const SONNET_5_5_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const hello = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model_id: GUIDE_MODEL_ID,
  messages: [{ role: 'user', content: 'Hello!' }],
  max_tokens: 1024,
  ...extra,
});

const mock = mockProvidersForFile();

const anthropicKey = fakeProviderKey('anthropic');

async function setUp(options: Partial<ByokitOptions> = {}) {
  const { byokit, storage } = await testByokit({ providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } }, ...options });
  await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: anthropicKey } });
  return { byokit, storage };
}

/** The records once every write in flight has landed (records are written after the answer, not before). */
async function recordsOf(storage: Storage, count: number): Promise<UsageRecord[]> {
  await expect.poll(async () => (await storage.listUsage({ limit: 100 })).records.length).toBe(count);
  return (await storage.listUsage({ limit: 100 })).records;
}

describe('usage records of chat calls', () => {
  it('records a plain answer once, with the tokens, cost and prices of the answer it gave', async () => {
    const { byokit, storage } = await setUp();
    const response = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(),
      headers: { 'x-request-id': 'req-usage-1' },
    });
    expect(response!.status).toBe(200);
    const usage = response!.json.usage;
    const [record] = await recordsOf(storage, 1);
    expect(record).toMatchObject({
      userId: alice.userId,
      modelId: GUIDE_MODEL_ID,
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      keySource: 'user',
      status: 'ok',
      inputTokens: usage.prompt_tokens,
      outputTokens: usage.completion_tokens,
      costUsd: usage.cost_usd,
      prices: { inputPerMTokUsd: sonnet.pricing!.inputPerMTokUsd, outputPerMTokUsd: sonnet.pricing!.outputPerMTokUsd },
      requestId: 'req-usage-1',
    });
    expect(record!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(findKeyLeaks([anthropicKey], [['usage record', JSON.stringify(record)]])).toEqual([]);
  });

  it('records a streamed answer once it ends, with the usage of its last chunk', async () => {
    const { byokit, storage } = await setUp();
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello({ stream: true }) });
    const usage = (response!.events.at(-2) as { usage: { prompt_tokens: number; completion_tokens: number; cost_usd: string } }).usage;
    const [record] = await recordsOf(storage, 1);
    expect(record).toMatchObject({
      status: 'ok',
      inputTokens: usage.prompt_tokens,
      outputTokens: usage.completion_tokens,
      costUsd: usage.cost_usd,
      requestId: response!.headers['x-request-id'],
    });
  });

  it('records a stream the client left as aborted, with the tokens the provider had reported by then', async () => {
    const { byokit, storage } = await setUp();
    mock.setChunkGapMs(50);
    await streamThenLeave(byokit, alice, hello({ stream: true }));
    const [record] = await recordsOf(storage, 1);
    expect(record!.status).toBe('aborted');
    // Anthropic reports the prompt's tokens in message_start, the first event: they were seen, so they are billed.
    expect(record!.inputTokens).toBeGreaterThan(0);
    expect(parseUsd(record!.costUsd, PICO_DECIMALS)).toBeGreaterThan(0n);
  });

  // A host's own generator relaying the stream (`yield* byokit.chatStream(…)`) passes on its consumer's throw().
  it('records a chatStream() its host threw into (iterator.throw()) as aborted, as one it left, not as a provider error', async () => {
    const { byokit, storage } = await setUp();
    mock.setChunkGapMs(50);
    const iterator = byokit.chatStream(alice, hello())[Symbol.asyncIterator]();
    await iterator.next();
    const thrown = new Error('the host gave up');
    await expect(iterator.throw!(thrown)).rejects.toBe(thrown);
    const [record] = await recordsOf(storage, 1);
    expect(record!.status).toBe('aborted');
    expect(record!.inputTokens).toBeGreaterThan(0);
  });

  // A host that reads the first chunk in one loop and the rest in another (to answer its own client only once the
  // provider took the call), or hands one stream to two readers, made a second provider call that began the answer
  // again, billed twice; as the providers' own SDKs refuse a stream read already ("Cannot iterate over a consumed stream").
  it('makes one provider call for one chatStream(): iterated again, it is refused, neither called nor recorded again', async () => {
    const { byokit, storage } = await setUp();
    const stream = byokit.chatStream(alice, hello());
    let chunks = 0;
    for await (const _chunk of stream) chunks++;
    expect(chunks).toBeGreaterThan(0);
    const again = async () => {
      for await (const _chunk of stream);
    };
    const error = await again().catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual([
      'validation_failed',
      'This chatStream() was iterated already: each is one provider call, read once. Call byokit.chatStream() again for another.',
    ]);
    await byokit.close();
    expect(mock.requests).toHaveLength(1);
    expect((await storage.listUsage({ limit: 10 })).records).toHaveLength(1);
  });

  // A stream's call begins at its first read: it read the principal and the request then, so a host that made its
  // streams with one object it changed for each (a queue's worker, its next job's user) billed them all to the last.
  it('bills each chatStream() to the user and request it was made with, though the host changes those objects before reading it', async () => {
    const { byokit, storage } = await testByokit({
      environment: { ANTHROPIC_API_KEY: anthropicKey },
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    });
    const principal = { userId: 'user-alice' };
    const request = hello({ max_tokens: 100 });
    const streams = [];
    for (const [userId, maxTokens] of [
      ['user-alice', 100],
      ['user-bob', 200],
    ] as const) {
      principal.userId = userId;
      request.max_tokens = maxTokens;
      streams.push(byokit.chatStream(principal, request));
    }
    for (const stream of streams) for await (const _chunk of stream);
    await byokit.close();
    const { records } = await storage.listUsage({ limit: 10 });
    expect(records.map((record) => record.userId).sort()).toEqual(['user-alice', 'user-bob']);
    expect(mock.requests.map((sent) => (sent.body as { max_tokens: number }).max_tokens)).toEqual([100, 200]);
  });

  it('records a provider refusal as an error with no tokens and no cost', async () => {
    const { byokit, storage } = await setUp();
    mock.failNext('anthropic', { status: 401 });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect(response!.json.error.code).toBe('provider_key_rejected');
    const [record] = await recordsOf(storage, 1);
    expect(record).toMatchObject({ status: 'error', inputTokens: null, outputTokens: null, costUsd: '0', keySource: 'user' });
  });

  it('records nothing for a request refused before any provider: no key, unknown model, over a limit, a conversation it refuses', async () => {
    const { byokit, storage } = await setUp();
    const refused = [
      await call(byokit, 'POST', '/llm/chat/completions', { principal: { userId: 'nobody', isAdmin: false }, body: hello() }),
      await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello({ model_id: crypto.randomUUID() }) }),
      await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello({ max_tokens: 10_000_000 }) }),
      // Anthropic wants the user first, and Claude from 4.6 on the user last (no prefill).
      await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: hello({
          messages: [
            { role: 'assistant', content: 'Hi!' },
            { role: 'user', content: 'Hello!' },
          ],
        }),
      }),
      await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: hello({
          model_id: SONNET_5_5_ID,
          messages: [
            { role: 'user', content: 'JSON, please.' },
            { role: 'assistant', content: '{' },
          ],
        }),
      }),
    ];
    expect(refused.map((response) => response!.status)).toEqual([400, 404, 422, 422, 422]);
    expect(refused[4]!.json.error.issues).toEqual([
      {
        path: 'messages',
        message: 'claude-sonnet-5-5 does not continue an assistant message (a prefill): end the conversation with a user message.',
      },
    ]);
    await byokit.close();
    expect((await storage.listUsage({ limit: 100 })).records).toEqual([]);
    expect(mock.requests).toEqual([]);
  });

  it('hands each record to onUsage, and answers the same when onUsage throws', async () => {
    const seen: UsageRecord[] = [];
    const { byokit, storage } = await setUp({
      onUsage: (record) => {
        seen.push(record);
        throw new Error('the host billing system is down');
      },
    });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect(response!.status).toBe(200);
    const [record] = await recordsOf(storage, 1);
    await byokit.close();
    expect(seen).toEqual([record]);
  });

  // onUsage was handed the very record byokit was about to write, and ran first: a host reshaping it for its own
  // billing system (its tenant in the user id, the cost as a number, the prices left out) changed what was saved.
  it('saves each record as made, whatever onUsage does to the one it is handed', async () => {
    const handed: UsageRecord[] = [];
    const { byokit, storage } = await setUp({
      onUsage: (record) => {
        handed.push(record);
        const reshaped = record as unknown as Record<string, unknown>;
        reshaped.userId = `tenant-7/${record.userId}`;
        reshaped.costUsd = Number(record.costUsd);
        reshaped.createdAt = record.createdAt.toISOString();
        delete reshaped.prices;
      },
    });
    const answer = await byokit.chat(alice, hello(), { requestId: 'job-7' });
    await byokit.close();
    const { records } = await storage.listUsage({ limit: 10 });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      userId: alice.userId,
      costUsd: answer.usage.cost_usd,
      createdAt: expect.any(Date),
      prices: { inputPerMTokUsd: sonnet.pricing!.inputPerMTokUsd },
      requestId: 'job-7',
    });
    expect(handed).toMatchObject([{ userId: `tenant-7/${alice.userId}`, requestId: 'job-7' }]);
  });

  it('records programmatic calls too, under the request id the caller gave', async () => {
    const { byokit, storage } = await setUp();
    await byokit.chat(alice, hello(), { requestId: 'job-42' });
    const [record] = await recordsOf(storage, 1);
    expect(record).toMatchObject({ status: 'ok', requestId: 'job-42', userId: alice.userId });
  });
});

describe('usage records of streams that end before their first chunk is read', () => {
  /** Starts a streamed chat as an adapter would, then goes away before reading a chunk (a fetch body cancelled unread). */
  async function leaveBeforeFirstChunk(byokit: Awaited<ReturnType<typeof setUp>>['byokit'], url: string, body: unknown) {
    const controller = new AbortController();
    const response = await byokit.handle({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify(body))] },
      authenticate: () => alice,
      signal: controller.signal,
    });
    expect(response!.status).toBe(200);
    const iterator = (response!.body as AsyncIterable<string>)[Symbol.asyncIterator]();
    controller.abort();
    await iterator.return?.();
  }

  it.each([
    ['/llm/chat/completions', hello({ stream: true })],
    ['/openai/v1/chat/completions', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }], stream: true }],
  ])('records the call on %s as aborted, with the prompt tokens already reported, and ends its budget hold', async (url, body) => {
    const { byokit, storage } = await setUp();
    await call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, { principal: admin, body: { monthly_limit_usd: '100' } });
    mock.setChunkGapMs(50);
    await leaveBeforeFirstChunk(byokit, url, body);
    await mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted);
    const [record] = await recordsOf(storage, 1);
    expect(record!.status).toBe('aborted');
    // message_start, read before the answer began, reported the prompt: it was served, so it is billed.
    expect(record!.inputTokens).toBeGreaterThan(0);
    await byokit.close();
    // A closed byokit serves no more calls: the budget as another node on the same storage sees it.
    const { byokit: other } = await testByokit({ storage });
    const budget = await call(other, 'GET', '/users/me/budget', { principal: alice });
    expect(budget!.json).toMatchObject({ reserved_usd: '0', spent_usd: expect.not.stringMatching(/^0\.0+$/) });
  });
});

describe('a model re-priced while a call to it runs', () => {
  it('bills the call at the prices in force when it started, in its answer and its record alike; the next call at the new ones', async () => {
    const { byokit, storage } = await setUp();
    mock.setChunkGapMs(30);
    const chunks = byokit.chatStream(alice, hello({ stream: true }), { requestId: 'before-the-change' })[Symbol.asyncIterator]();
    await chunks.next();
    const repriced = { input_per_mtok_usd: '30', output_per_mtok_usd: '150' };
    const patched = await call(byokit, 'PATCH', `/llm-models/${GUIDE_MODEL_ID}`, { principal: admin, body: { pricing: repriced } });
    expect(patched!.status).toBe(200);
    let usage: { cost_usd: string | null; prompt_tokens: number | null; completion_tokens: number | null } | undefined;
    for (let step = await chunks.next(); !step.done; step = await chunks.next()) usage = step.value.usage ?? usage;
    const [record] = await recordsOf(storage, 1);
    const old = sonnet.pricing!;
    expect(record).toMatchObject({
      status: 'ok',
      requestId: 'before-the-change',
      prices: { inputPerMTokUsd: old.inputPerMTokUsd, outputPerMTokUsd: old.outputPerMTokUsd },
      costUsd: usage!.cost_usd,
    });
    // $3 and $15 per million tokens: 10^6 pico-dollars per token and dollar.
    const expected = BigInt(usage!.prompt_tokens!) * 3_000_000n + BigInt(usage!.completion_tokens!) * 15_000_000n;
    expect(parseUsd(record!.costUsd, PICO_DECIMALS)).toBe(expected);

    mock.setChunkGapMs(0);
    await byokit.chat(alice, hello(), { requestId: 'after-the-change' });
    const [after] = await recordsOf(storage, 2);
    expect(after).toMatchObject({ requestId: 'after-the-change', prices: { inputPerMTokUsd: '30', outputPerMTokUsd: '150' } });
  });
});

describe('usage reported with the text a client saw before it left', () => {
  it('bills what Gemini reported in the chunk whose text was the last one read: its prompt and the thinking already done', async () => {
    const { byokit, storage } = await testByokit({ providers: { google: { baseUrl: mock.baseUrls.google, retries: 0 } } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: fakeProviderKey('google') } });
    mock.setChunkGapMs(50);
    const gemini = ModelCatalog.create()
      .all()
      .find((model) => model.model === 'gemini-3.8-flash')!;
    await streamThenLeave(byokit, alice, { model_id: gemini.id, messages: [{ role: 'user', content: 'Hello!' }], stream: true });
    const [record] = await recordsOf(storage, 1);
    // The recorded stream's first chunk: its text, and usageMetadata with promptTokenCount 9, candidatesTokenCount 5
    // and thoughtsTokenCount 185 (Gemini bills thinking as output: 190 output tokens).
    expect(record).toMatchObject({ status: 'aborted', inputTokens: 9, outputTokens: 190, reasoningTokens: 185 });
    expect(parseUsd(record!.costUsd, PICO_DECIMALS)).toBe(costOf({ inputTokens: 9, outputTokens: 190 }, gemini.pricing)!.costPico);
  });
});
