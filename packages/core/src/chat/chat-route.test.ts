import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ByokitError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import type { Provider } from '../keys/providers.js';
import { startMockProviders, type MockProviders } from '../testing/mock-providers.js';
import { admin, alice, bob, call, streamThenLeave, testByokit, watchedBody } from '../http/test-helpers.js';
import { fixtureChunks, fixtureJson } from '../providers/fixtures.js';
import { eventNameFromType, startReplayServer } from '../providers/replay-server.js';

/** The guide's model id: claude-sonnet-4-5 (shared/seed/user-api-key-guide.md, step 5). */
const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';

let mock: MockProviders;
beforeAll(async () => {
  mock = await startMockProviders();
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

async function setUp(options: { environment?: Record<string, string>; logger?: Logger } = {}) {
  const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
  const { byokit, storage } = await testByokit({
    providers,
    environment: options.environment ?? {},
    ...(options.logger && { logger: options.logger }),
  });
  const everything = await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin });
  const models = everything!.json.data as Array<{
    id: string;
    provider: Provider;
    model: string;
    max_output_tokens: number;
    is_active: boolean;
  }>;
  const modelOf = (provider: Provider) => models.find((model) => model.provider === provider && model.is_active)!;
  return { byokit, storage, models, modelOf };
}

/** The text a recorded stream carries, read straight from the provider's own events. */
function recordedText(provider: Provider, fixture: string): string {
  const events = fixtureChunks(fixture).map((line) => JSON.parse(line));
  if (provider === 'anthropic') return events.map((event) => (event.delta?.type === 'text_delta' ? event.delta.text : '')).join('');
  if (provider === 'openai') return events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('');
  return events
    .flatMap((event) => event.candidates?.[0]?.content?.parts ?? [])
    .map((part: { text?: string; thought?: boolean }) => (part.thought ? '' : (part.text ?? '')))
    .join('');
}

const hello = (modelId: string, extra: Record<string, unknown> = {}) => ({
  model_id: modelId,
  messages: [{ role: 'user', content: 'Hello!' }],
  max_tokens: 1024,
  temperature: 0.7,
  ...extra,
});

/** byokit on `provider` (a replay server in Anthropic's place), alice's Anthropic key saved, and her streamed chat. */
async function aliceOnReplay(provider: { origin: string }) {
  const { byokit, storage } = await testByokit({ providers: { anthropic: { baseUrl: provider.origin, retries: 0 } }, environment: {} });
  await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
  const stream = () => call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID, { stream: true }) });
  return { storage, stream };
}

describe("the guide's steps 4 and 5: models and chat", () => {
  it('lists no models while no real key exists, placeholders included', async () => {
    const { byokit } = await setUp({ environment: { ANTHROPIC_API_KEY: 'sk-ant-YOUR-KEY-HERE' } });
    const response = await call(byokit, 'GET', '/llm-models/?is_active=true', { principal: alice });
    expect(response!.json).toEqual({ data: [], count: 0 });
  });

  it('lists exactly the models whose provider resolves for the caller, each with its key source', async () => {
    const { byokit } = await setUp({ environment: { OPENAI_API_KEY: fakeProviderKey('openai') } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const response = await call(byokit, 'GET', '/llm-models?is_active=true', { principal: alice });
    const sources = new Map(
      (response!.json.data as Array<{ provider: string; key_source: string }>).map((model) => [model.provider, model.key_source]),
    );
    expect(Object.fromEntries(sources)).toEqual({ anthropic: 'user', openai: 'system' });
    expect(response!.json.count).toBe(response!.json.data.length);
    const guideModel = response!.json.data.find((model: { id: string }) => model.id === GUIDE_MODEL_ID);
    expect(guideModel).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', key_source: 'user', is_active: true });
    const bobs = await call(byokit, 'GET', '/llm-models?is_active=true', { principal: bob });
    expect(new Set(bobs!.json.data.map((model: { provider: string }) => model.provider))).toEqual(new Set(['openai']));
  });

  it("answers the guide's chat request through Anthropic with the user's key, in the contract's shape", async () => {
    const { byokit } = await setUp();
    const key = fakeProviderKey('anthropic');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: key } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID) });
    expect(response!.status).toBe(200);
    expect(response!.headers['x-byok-key-source']).toBe('user');
    const recorded = fixtureJson('anthropic/anthropic-text.json') as {
      content: Array<{ text: string }>;
      usage: { input_tokens: number; output_tokens: number };
    };
    expect(response!.json).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'claude-sonnet-4-5',
      model_id: GUIDE_MODEL_ID,
      provider: 'anthropic',
      choices: [{ index: 0, message: { role: 'assistant', content: recorded.content[0]!.text }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 29,
        total_tokens: 41,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: null,
        // $3 / $15 per million: 12 × 3 + 29 × 15 = 471 millionths of a dollar.
        cost_usd: '0.000471',
        key_source: 'user',
      },
    });
    const sent = mock.requests.filter((request) => request.provider === 'anthropic');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers['x-api-key']).toBe(key);
    expect(sent[0]!.path).toBe('/v1/messages');
    expect(JSON.stringify(sent[0]!.body)).not.toContain(key.slice(10, 30));
  });

  it('uses the system key for OpenAI when the user has none, and says so', async () => {
    const system = fakeProviderKey('openai');
    const { byokit, modelOf } = await setUp({ environment: { OPENAI_API_KEY: system } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('openai').id) });
    expect(response!.status).toBe(200);
    expect(response!.headers['x-byok-key-source']).toBe('system');
    expect(response!.json.usage.key_source).toBe('system');
    expect(mock.requests.find((request) => request.provider === 'openai')!.headers.authorization).toBe(`Bearer ${system}`);
  });

  it('refuses Google with neither key: 400 api_key_required naming google, and the provider saw nothing', async () => {
    const { byokit, modelOf } = await setUp();
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('google').id) });
    expect(response!.status).toBe(400);
    expect(response!.json.error).toMatchObject({
      code: 'api_key_required',
      provider: 'google',
      // spec/http-api.md's example, word for word.
      message: 'No API key for google: add yours in your profile, or ask an admin for a system key.',
    });
    expect(mock.requests).toHaveLength(0);
  });

  it.each(['anthropic', 'openai', 'google'] as const)('answers through %s with the key in its own header', async (provider) => {
    const { byokit, modelOf } = await setUp();
    const key = fakeProviderKey(provider);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: key } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(modelOf(provider).id, {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello!' },
        ],
        top_p: 0.9,
        stop: ['END'],
      }),
    });
    expect(response!.status).toBe(200);
    expect(response!.json.provider).toBe(provider);
    expect(response!.json.choices[0].message.content.length).toBeGreaterThan(0);
    const sent = mock.requests.find((request) => request.provider === provider)!;
    const header = { anthropic: sent.headers['x-api-key'], openai: sent.headers.authorization, google: sent.headers['x-goog-api-key'] }[
      provider
    ];
    expect(header).toBe(provider === 'openai' ? `Bearer ${key}` : key);
    expect(sent.path + (sent.query ?? '')).not.toContain(key.slice(5, 15));
  });

  it('refuses a chat at the first step of its path that fails: the model, then its limits, then the key, then the budget', async () => {
    // docs/architecture.md, "The request path": catalog lookup → limits → key resolution → budget hold.
    const { byokit, modelOf } = await setUp();
    const model = modelOf('anthropic');
    const budget = await call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, {
      principal: admin,
      body: { monthly_limit_usd: '0.000001' },
    });
    expect(budget!.status).toBe(200);
    const refusal = async (body: Record<string, unknown>) => {
      const answer = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body });
      return [answer!.status, answer!.json.error?.code];
    };
    const overItsLimit = { max_tokens: model.max_output_tokens + 1 };

    expect(await refusal(hello('00000000-0000-4000-8000-000000000000', overItsLimit))).toEqual([404, 'model_not_found']);
    expect(await refusal(hello(model.id, overItsLimit))).toEqual([422, 'validation_failed']);
    expect(await refusal(hello(model.id))).toEqual([400, 'api_key_required']);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    expect(await refusal(hello(model.id))).toEqual([402, 'budget_exceeded']);
    expect(mock.requests).toHaveLength(0);
  });

  it("sends each user's call with that user's own key, and another user's key never to one who has none", async () => {
    const { byokit, modelOf } = await setUp();
    const carol = { userId: 'user-carol', isAdmin: false };
    const keys = { alice: fakeProviderKey('anthropic'), bob: fakeProviderKey('anthropic') };
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: keys.alice } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: bob, body: { anthropic_api_key: keys.bob } });
    // Each key resolved once already (and cached, as a host's are by default) before the next user calls.
    for (const principal of [alice, bob, alice, bob]) {
      const answer = await call(byokit, 'POST', '/llm/chat/completions', { principal, body: hello(modelOf('anthropic').id) });
      expect(answer!.status).toBe(200);
    }
    const refused = await call(byokit, 'POST', '/llm/chat/completions', { principal: carol, body: hello(modelOf('anthropic').id) });
    expect(mock.requests.map((request) => request.key)).toEqual([keys.alice, keys.bob, keys.alice, keys.bob]);
    expect([refused!.status, refused!.json.error?.code]).toEqual([400, 'api_key_required']);
  });
});

describe('usage that explains its cost', () => {
  /** GPT-6.2 Sol: $2 input, $0.10 cached input, $2.50 cache writes (30-minute retention), $10 output per million. */
  const GPT_6_2_SOL_ID = '841ece33-014f-5564-a004-4937b71b768f';
  /** OpenAI's usage for a long prompt it cached on its own (GPT-5.6 on): writes are part of prompt_tokens. */
  const cacheWritingUsage = {
    prompt_tokens: 100_000,
    completion_tokens: 1_000,
    total_tokens: 101_000,
    prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 90_000, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };

  async function aliceOnOpenAIReplay(answer: Parameters<typeof startReplayServer>[0]) {
    const provider = await startReplayServer(answer);
    const { byokit } = await testByokit({ providers: { openai: { baseUrl: `${provider.origin}/v1`, retries: 0 } }, environment: {} });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    return { byokit, close: () => provider.close() };
  }

  // 10,000 uncached × $2 + 90,000 written × $2.50 + 1,000 out × $10 = $0.02 + $0.225 + $0.01.
  const expectedUsage = {
    prompt_tokens: 100_000,
    completion_tokens: 1_000,
    total_tokens: 101_000,
    cached_tokens: 0,
    cache_write_tokens: 90_000,
    reasoning_tokens: 0,
    cost_usd: '0.255',
    key_source: 'user',
  };

  it('shows the cache writes a plain answer was billed for, beside its cache reads', async () => {
    const recorded = fixtureJson('openai/openai-text.json') as Record<string, unknown>;
    const { byokit, close } = await aliceOnOpenAIReplay({ json: { ...recorded, usage: cacheWritingUsage } });
    try {
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GPT_6_2_SOL_ID) });
      expect(response!.status).toBe(200);
      expect(response!.json.usage).toEqual(expectedUsage);
    } finally {
      await close();
    }
  });

  it('shows them where OpenAI does on the OpenAI-compatible surface: prompt_tokens_details.cache_write_tokens', async () => {
    const recorded = fixtureJson('openai/openai-text.json') as Record<string, unknown>;
    const { byokit, close } = await aliceOnOpenAIReplay({ json: { ...recorded, usage: cacheWritingUsage } });
    try {
      const response = await call(byokit, 'POST', '/openai/v1/chat/completions', {
        principal: alice,
        body: { model: 'gpt-6.2-sol', messages: [{ role: 'user', content: 'Hello!' }] },
      });
      expect(response!.status).toBe(200);
      expect(response!.json.usage).toEqual({
        prompt_tokens: 100_000,
        completion_tokens: 1_000,
        total_tokens: 101_000,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 90_000 },
        completion_tokens_details: { reasoning_tokens: 0 },
      });
      expect(response!.json.byokit.cost_usd).toBe('0.255');
    } finally {
      await close();
    }
  });

  it("bills a prompt past the provider's long-prompt threshold at its long-prompt prices, and records them", async () => {
    // GPT-6.2 Sol past 272,000 prompt tokens: "input and cache rates double and output costs 1.5 times the
    // short-context rate for the full request" (its model page). 300,000 × $4 + 1,000 × $15 = $1.215.
    const recorded = fixtureJson('openai/openai-text.json') as Record<string, unknown>;
    const longPrompt = { prompt_tokens: 300_000, completion_tokens: 1_000, total_tokens: 301_000 };
    const provider = await startReplayServer({ json: { ...recorded, usage: longPrompt } });
    const { byokit, storage } = await testByokit({
      providers: { openai: { baseUrl: `${provider.origin}/v1`, retries: 0 } },
      environment: {},
    });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    try {
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GPT_6_2_SOL_ID) });
      expect(response!.json.usage.cost_usd).toBe('1.215');
      await expect.poll(async () => (await storage.listUsage({ limit: 1 })).records.length).toBe(1);
      const [record] = (await storage.listUsage({ limit: 1 })).records;
      // The record keeps the prices it was billed at, so that it can be re-costed alone.
      expect(record).toMatchObject({
        inputTokens: 300_000,
        costUsd: '1.215',
        prices: { inputPerMTokUsd: '4', outputPerMTokUsd: '15', cachedInputPerMTokUsd: '0.2', cacheWritePerMTokUsd: '5' },
      });
    } finally {
      await provider.close();
    }
  });

  it('bills a prompt at the threshold itself at the base prices', async () => {
    const recorded = fixtureJson('openai/openai-text.json') as Record<string, unknown>;
    const atThreshold = { prompt_tokens: 272_000, completion_tokens: 1_000, total_tokens: 273_000 };
    const { byokit, close } = await aliceOnOpenAIReplay({ json: { ...recorded, usage: atThreshold } });
    try {
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GPT_6_2_SOL_ID) });
      // 272,000 × $2 + 1,000 × $10.
      expect(response!.json.usage.cost_usd).toBe('0.554');
    } finally {
      await close();
    }
  });

  it('shows the same in the usage chunk of a streamed answer', async () => {
    const lines = fixtureChunks('openai/openai-text.chunks.txt').map((line) => {
      const chunk = JSON.parse(line) as { usage?: unknown };
      return chunk.usage ? JSON.stringify({ ...chunk, usage: cacheWritingUsage }) : line;
    });
    const { byokit, close } = await aliceOnOpenAIReplay({ events: lines, done: true });
    try {
      const response = await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: hello(GPT_6_2_SOL_ID, { stream: true }),
      });
      expect(response!.status).toBe(200);
      const chunks = (response!.events as Array<Record<string, any>>).slice(0, -1);
      expect(chunks.at(-1)!.usage).toEqual(expectedUsage);
    } finally {
      await close();
    }
  });
});

describe('streaming', () => {
  it.each([
    ['anthropic', 'anthropic/anthropic-text.chunks.txt'],
    ['openai', 'openai/openai-text.chunks.txt'],
    ['google', 'google/google-text.chunks.txt'],
  ] as const)('streams %s as chat.completion.chunk events, usage last, then [DONE]', async (provider, fixture) => {
    const { byokit, modelOf } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: fakeProviderKey(provider) } });
    const model = modelOf(provider);
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(model.id, { stream: true }) });
    expect(response!.status).toBe(200);
    expect(response!.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    // Neither cached nor transformed (a host's compression would hold each chunk back) nor buffered by a proxy.
    expect(response!.headers).toMatchObject({ 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    expect(response!.headers['x-byok-key-source']).toBe('user');
    const events = response!.events as Array<Record<string, any>>;
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model_id === model.id)).toBe(true);
    expect(chunks[0]!.choices[0].delta.role).toBe('assistant');
    const text = chunks
      .flatMap((chunk) => chunk.choices.map((choice: { delta: { content?: string } }) => choice.delta.content ?? ''))
      .join('');
    expect(text).toBe(recordedText(provider, fixture));
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ key_source: 'user', prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
  });

  // UTF-8 takes 2 to 4 bytes a character, and the network cuts where it will: each piece decoded on its own would
  // turn the halves of a character into U+FFFD. Anthropic's recorded stream, its first words with an accent, CJK
  // and an emoji, its bytes sent in pieces cut inside each of them.
  it("streams text whose characters the provider's bytes split across network reads, every character whole", async () => {
    const words = 'Café 和 𠮷 \u{1F600}!';
    const events = fixtureChunks('anthropic/anthropic-text.chunks.txt').map((line) => line.replace('"text":"Hello"', `"text":"${words}"`));
    const bytes = new TextEncoder().encode(events.map((line) => `event: ${eventNameFromType(line)}\ndata: ${line}\n\n`).join(''));
    const at = Buffer.from(bytes).indexOf(Buffer.from(words));
    // A cut inside each character of more than one byte: é (2 bytes), 和 (3), 𠮷 and the emoji (4).
    const cuts = [4, 7, 12, 17].map((offset) => at + offset);
    const pieces = [0, ...cuts].map((start, index) => bytes.subarray(start, [...cuts, bytes.length][index]));
    const provider = await startReplayServer({ raw: pieces, gapMs: 20 });
    try {
      const response = await (await aliceOnReplay(provider)).stream();
      expect(response!.status).toBe(200);
      const chunks = (response!.events as Array<Record<string, any>>).slice(0, -1);
      const text = chunks
        .flatMap((chunk) => chunk.choices.map((choice: { delta: { content?: string } }) => choice.delta.content ?? ''))
        .join('');
      expect(text.startsWith(`${words}! I'm doing well`)).toBe(true);
      expect(text).not.toContain('\uFFFD');
    } finally {
      await provider.close();
    }
  });

  it('aborts the upstream request when the client goes away mid-stream', async () => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    mock.setChunkGapMs(50);
    await streamThenLeave(byokit, alice, hello(GUIDE_MODEL_ID, { stream: true }));
    await expect.poll(() => mock.requests.find((request) => request.provider === 'anthropic')?.aborted, { timeout: 5_000 }).toBe(true);
    mock.setChunkGapMs(0);
  });

  it('answers a clean HTTP error, not a 200 stream, when the provider fails with its first event', async () => {
    const overloaded = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    const provider = await startReplayServer({ events: [overloaded], eventName: eventNameFromType });
    try {
      const response = await (await aliceOnReplay(provider)).stream();
      expect(response!.status).toBe(502);
      expect(response!.json.error.code).toBe('provider_unavailable');
    } finally {
      await provider.close();
    }
  });

  it('tries a stream once more when Anthropic answers it with overloaded_error alone, and streams the second answer, one record', async () => {
    const overloaded = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    const recorded = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const provider = await startReplayServer((request) => ({
      events: provider.requests.indexOf(request) === 0 ? [overloaded] : recorded,
      eventName: eventNameFromType,
    }));
    try {
      // The host's default: one more try.
      const { byokit, storage } = await testByokit({ providers: { anthropic: { baseUrl: provider.origin } }, environment: {} });
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
      const response = await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: hello(GUIDE_MODEL_ID, { stream: true }),
      });
      expect(response!.status).toBe(200);
      expect(response!.events.at(-1)).toBe('[DONE]');
      expect(provider.requests).toHaveLength(2);
      await byokit.close();
      expect((await storage.listUsage({ limit: 10 })).records.map(({ status, outputTokens }) => ({ status, outputTokens }))).toEqual([
        { status: 'ok', outputTokens: 30 },
      ]);
    } finally {
      await provider.close();
    }
  });

  it("answers a gateway's 200 JSON error to a stream as that error (400 provider_key_rejected), and a 200 page as what it is, each with one record", async () => {
    const refused = '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}';
    const page = '<html><body>Please sign in</body></html>';
    let answer = refused;
    const provider = await startReplayServer(() => ({
      raw: answer,
      headers: { 'content-type': answer === page ? 'text/html' : 'application/json' },
    }));
    try {
      const { storage, stream } = await aliceOnReplay(provider);
      const rejected = await stream();
      expect([rejected!.status, rejected!.json.error.code, rejected!.json.error.key_source]).toEqual([
        400,
        'provider_key_rejected',
        'user',
      ]);
      answer = page;
      const paged = await stream();
      expect([paged!.status, paged!.json.error.code, paged!.json.error.message]).toEqual([
        502,
        'provider_error',
        "The Anthropic API answered without a stream of events (content-type: text/html): a gateway that does not stream, a proxy's page, or a base URL that points elsewhere.",
      ]);
      await expect
        .poll(async () => (await storage.listUsage({ limit: 10 })).records.map((record) => record.status))
        .toEqual(['error', 'error']);
    } finally {
      await provider.close();
    }
  });

  it('ends with an error event in the contract shape when the provider fails mid-stream, logged naming the model', async () => {
    const errors: Array<Record<string, unknown>> = [];
    const ignore = () => {};
    const { byokit, models } = await setUp({
      logger: { debug: ignore, info: ignore, warn: ignore, error: (object) => void errors.push(object) },
    });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    mock.streamErrorNext('anthropic');
    const response = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(GUIDE_MODEL_ID, { stream: true }),
    });
    expect(response!.status).toBe(200);
    const last = response!.events.at(-1) as { error: { code: string; request_id: string } };
    expect(last.error).toMatchObject({ code: 'provider_unavailable', request_id: response!.headers['x-request-id'] });
    expect(errors).toEqual([
      expect.objectContaining({
        requestId: response!.headers['x-request-id'],
        code: 'provider_unavailable',
        provider: 'anthropic',
        model: models.find((model) => model.id === GUIDE_MODEL_ID)!.model,
      }),
    ]);
  });
});

describe('a stream whose connection is cut', () => {
  const fixtures = {
    anthropic: 'anthropic/anthropic-text.chunks.txt',
    openai: 'openai/openai-text.chunks.txt',
    google: 'google/google-text.chunks.txt',
  } as const;

  /** alice's streamed chat through `provider`, played by a replay server sending `events` and then dropping the connection. */
  async function cutAfter(provider: Provider, events: string[]) {
    const server = await startReplayServer({ events, cut: true, ...(provider === 'anthropic' && { eventName: eventNameFromType }) });
    try {
      const baseUrl = provider === 'openai' ? `${server.origin}/v1` : server.origin;
      const { byokit, storage } = await testByokit({ providers: { [provider]: { baseUrl, retries: 0 } }, environment: {} });
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: fakeProviderKey(provider) } });
      const models = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Array<Record<string, any>>;
      const model = models.find((entry) => entry.provider === provider && entry.is_active)!;
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(model.id, { stream: true }) });
      // close() waits for the call's usage record.
      await byokit.close();
      return { response: response!, records: (await storage.listUsage({ limit: 10 })).records };
    } finally {
      await server.close();
    }
  }

  // OpenAI: "if the stream is interrupted, you may not receive the final usage chunk" (stream_options.include_usage).
  it.each([
    ['openai', 'after its finish reason, before its usage chunk', (lines: string[]) => lines.filter((line) => !JSON.parse(line).usage)],
    ['anthropic', 'after message_stop, before the body ended', (lines: string[]) => lines],
    ['google', 'after its finishing chunk, before the body ended', (lines: string[]) => lines],
  ] as const)('%s, %s: the whole answer, its finish, usage and [DONE], recorded ok', async (provider, _when, sent) => {
    const { response, records } = await cutAfter(provider, sent(fixtureChunks(fixtures[provider])));
    expect(response.status).toBe(200);
    const events = response.events as Array<Record<string, any> | string>;
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1) as Array<Record<string, any>>;
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(recordedText(provider, fixtures[provider]));
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(records.map((record) => record.status)).toEqual(['ok']);
  });

  it('openai, before its finish reason: the text so far, then provider_unavailable as the last event, recorded as an error', async () => {
    const lines = fixtureChunks(fixtures.openai);
    const { response, records } = await cutAfter('openai', lines.slice(0, 10));
    expect(response.status).toBe(200);
    const events = response.events as Array<Record<string, any>>;
    expect(events.at(-1)).toMatchObject({ error: { code: 'provider_unavailable' } });
    expect(events.slice(0, -1).map((chunk) => chunk.choices[0].finish_reason)).toEqual(Array(9).fill(null));
    expect(records.map((record) => record.status)).toEqual(['error']);
  });
});

describe('many requests', () => {
  // @see the chat benchmark's probe: a signal shared by every request without one kept each call's listener.
  it('leave no abort listener behind when the adapter gives no signal', async () => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      for (let index = 0; index < 20; index++) {
        expect((await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID) }))!.status).toBe(200);
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});

describe('sampling parameters a provider refuses together', () => {
  it.each([false, true])(
    'Claude Sonnet 4.5 sent temperature and top_p (stream: %s): temperature goes, top_p is left out and named in x-byok-ignored-parameters',
    async (stream) => {
      const { byokit } = await setUp();
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
      const response = await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: hello(GUIDE_MODEL_ID, { temperature: 0.5, top_p: 0.9, stream }),
      });
      expect(response!.status).toBe(200);
      expect(response!.headers['x-byok-ignored-parameters']).toBe('top_p');
      const sent = mock.requests.find((request) => request.provider === 'anthropic')!.body as Record<string, unknown>;
      expect(sent.temperature).toBe(0.5);
      expect(sent).not.toHaveProperty('top_p');
    },
  );

  /**
   * An admin adds `model` at `provider` (a system key set), and alice asks it with temperature, top_p and stop: the
   * parameters named in `x-byok-ignored-parameters`, and the body the provider was sent.
   */
  async function askAddedModel(provider: 'anthropic' | 'openai', model: string) {
    const environment: Record<string, string> = { [`${provider.toUpperCase()}_API_KEY`]: fakeProviderKey(provider) };
    const { byokit } = await setUp({ environment });
    const added = await call(byokit, 'POST', '/llm-models', {
      principal: admin,
      body: { provider, model, display_name: model, context_window: 200_000, max_output_tokens: 64_000, pricing: null },
    });
    expect(added!.status).toBe(201);
    const response = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(added!.json.id, { temperature: 0.5, top_p: 0.9, stop: ['END'] }),
    });
    expect(response!.status).toBe(200);
    const sent = mock.requests.find((request) => request.provider === provider)!.body as Record<string, unknown>;
    return { ignored: response!.headers['x-byok-ignored-parameters'], sent };
  }

  it.each([
    // Opus 4.7 and 4.8 answer 400 "`temperature` is deprecated for this model." (Anthropic removed the sampling
    // parameters from Opus 4.7 on), as Claude 5 models do; a dated snapshot of a built-in Claude 5.5 says nothing.
    ['claude-opus-4-7', 'temperature, top_p', ['stop_sequences']],
    ['claude-opus-4-8', 'temperature, top_p', ['stop_sequences']],
    ['claude-sonnet-5-5-20261101', 'temperature, top_p', ['stop_sequences']],
    ['claude-opus-4-6', 'top_p', ['temperature', 'stop_sequences']],
    ['claude-sonnet-4-6', 'top_p', ['temperature', 'stop_sequences']],
  ])(
    'a Claude model an admin adds, %s, sent temperature, top_p and stop: what it refuses is left out and named',
    async (name, named, sentFields) => {
      const { ignored, sent } = await askAddedModel('anthropic', name);
      expect(ignored).toBe(named);
      expect(['temperature', 'top_p', 'stop_sequences'].filter((field) => field in sent)).toEqual(sentFields);
    },
  );

  it('Claude Sonnet 4.5 sent top_p alone: top_p goes, and nothing is named as left out', async () => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const body = { ...hello(GUIDE_MODEL_ID), temperature: undefined, top_p: 0.9 };
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body });
    expect(response!.status).toBe(200);
    expect(response!.headers['x-byok-ignored-parameters']).toBeUndefined();
    const sent = mock.requests.find((request) => request.provider === 'anthropic')!.body as Record<string, unknown>;
    expect(sent.top_p).toBe(0.9);
    expect(sent).not.toHaveProperty('temperature');
  });

  it.each([
    ['a newline', '\n', 'stop'],
    ['the second of two', ['END', ' \n\t'], 'stop.1'],
  ])(
    'Anthropic sent a stop sequence that is only whitespace (%s): 422 naming it, before any call; OpenAI and Google are sent it',
    async (_name, stop, path) => {
      const { byokit, modelOf } = await setUp();
      for (const provider of ['anthropic', 'openai', 'google'] as const) {
        await call(byokit, 'PATCH', '/users/me/api-key', {
          principal: alice,
          body: { [`${provider}_api_key`]: fakeProviderKey(provider) },
        });
      }
      const refused = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID, { stop }) });
      expect(refused!.status).toBe(422);
      expect(refused!.json.error).toMatchObject({
        code: 'validation_failed',
        issues: [{ path, message: expect.stringContaining('whitespace') }],
      });
      expect(mock.requests).toHaveLength(0);
      for (const provider of ['openai', 'google'] as const) {
        const answered = await call(byokit, 'POST', '/llm/chat/completions', {
          principal: alice,
          body: hello(modelOf(provider).id, { stop }),
        });
        expect(answered!.status).toBe(200);
      }
      expect(mock.requests.map((request) => request.provider)).toEqual(['openai', 'google']);
    },
  );

  it('top_p of 0, which the providers take (0 to 1), is sent on to Anthropic and Google on both chat routes', async () => {
    const { byokit, modelOf } = await setUp();
    for (const provider of ['anthropic', 'google'] as const) {
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: fakeProviderKey(provider) } });
    }
    const google = modelOf('google');
    const native = (modelId: string) => ({ model_id: modelId, messages: [{ role: 'user', content: 'Hello!' }], top_p: 0 });
    const compatible = (model: string) => ({ model, messages: [{ role: 'user', content: 'Hello!' }], top_p: 0 });
    const answers = [
      await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: native(GUIDE_MODEL_ID) }),
      await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: native(google.id) }),
      await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: compatible('claude-sonnet-4-5') }),
      await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: compatible(google.model) }),
    ];
    expect(answers.map((answer) => answer!.status)).toEqual([200, 200, 200, 200]);
    const sent = mock.requests.map((request) => {
      const body = request.body as { top_p?: number; generationConfig?: { topP?: number } };
      return request.provider === 'google' ? body.generationConfig?.topP : body.top_p;
    });
    expect(sent).toEqual([0, 0, 0, 0]);
  });

  it.each([
    ['o4-mini', 'temperature, top_p, stop', []],
    ['o3', 'temperature, top_p, stop', []],
    ['gpt-5-mini', 'temperature, top_p, stop', []],
    ['gpt-5-chat-latest', undefined, ['temperature', 'top_p', 'stop']],
    // GPT-6 models refuse temperature and top_p ("'temperature' is not supported with this model"), as the built-in
    // GPT-6 models say (ignoredParameters), and take stop, which those are sent; gpt-6-astra is not built in.
    ['gpt-6-astra', 'temperature, top_p', ['stop']],
    ['gpt-6.2-sol-2026-11-01', 'temperature, top_p', ['stop']],
    ['gpt-4.1', undefined, ['temperature', 'top_p', 'stop']],
  ])(
    'an OpenAI model an admin adds, %s, sent temperature, top_p and stop: what a reasoning model refuses is left out and named',
    async (name, named, sentFields) => {
      const { ignored, sent } = await askAddedModel('openai', name);
      expect(ignored).toBe(named);
      expect(['temperature', 'top_p', 'stop'].filter((field) => field in sent)).toEqual(sentFields);
    },
  );

  it.each([
    ['Claude Opus 5.5, temperature 1.5 (Anthropic takes 0 to 1)', 'anthropic', 'claude-opus-5-5', { temperature: 1.5 }, 'temperature'],
    ['o4-mini, 5 stop sequences (OpenAI takes 4)', 'openai', 'o4-mini', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
  ] as const)(
    '%s: a parameter the model refuses is left out and named, whatever its value, on both chat routes; no 422 for its range',
    async (_name, provider, modelName, sampling, named) => {
      const { byokit, models } = await setUp({ environment: { [`${provider.toUpperCase()}_API_KEY`]: fakeProviderKey(provider) } });
      let modelId = models.find((model) => model.model === modelName)?.id;
      if (modelId === undefined) {
        const body = {
          provider,
          model: modelName,
          display_name: modelName,
          context_window: 200_000,
          max_output_tokens: 100_000,
          pricing: null,
        };
        modelId = (await call(byokit, 'POST', '/llm-models', { principal: admin, body }))!.json.id as string;
      }
      const messages = [{ role: 'user', content: 'Hello!' }];
      const answers = [
        await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: { model_id: modelId, messages, ...sampling } }),
        await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: { model: modelName, messages, ...sampling } }),
      ];
      expect(answers.map((answer) => [answer!.status, answer!.headers['x-byok-ignored-parameters']])).toEqual([
        [200, named],
        [200, named],
      ]);
      const sentField = named === 'stop' ? 'stop' : 'temperature';
      expect(mock.requests.map((request) => sentField in (request.body as object))).toEqual([false, false]);
    },
  );

  it('a built-in model that takes no temperature or top_p (GPT-6 Luna) names, of those, only what the request set', async () => {
    const { byokit, models } = await setUp({ environment: { OPENAI_API_KEY: fakeProviderKey('openai') } });
    const luna = models.find((model) => model.model === 'gpt-6-luna')!;
    const named: unknown[] = [];
    for (const sampling of [{}, { temperature: 0.7 }, { top_p: 0.9 }, { temperature: 0.7, top_p: 0.9 }]) {
      const body = { model_id: luna.id, messages: [{ role: 'user', content: 'Hello!' }], ...sampling };
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body });
      named.push([response!.status, response!.headers['x-byok-ignored-parameters']]);
    }
    expect(named).toEqual([
      [200, undefined],
      [200, 'temperature'],
      [200, 'top_p'],
      [200, 'temperature, top_p'],
    ]);
    expect(mock.requests.filter((request) => 'temperature' in (request.body as object) || 'top_p' in (request.body as object))).toEqual([]);
  });

  it('the OpenAI-compatible route names top_p too, for a Claude model sent both', async () => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const response = await call(byokit, 'POST', '/openai/v1/chat/completions', {
      principal: alice,
      body: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }], temperature: 0.5, top_p: 0.9 },
    });
    expect(response!.status).toBe(200);
    expect(response!.headers['x-byok-ignored-parameters']).toBe('top_p');
  });
});

describe('system messages', () => {
  it('a Gemma model an admin adds, sent system messages, is sent them at the start of the first user turn, not as a systemInstruction it refuses', async () => {
    const { byokit } = await setUp({ environment: { GOOGLE_API_KEY: fakeProviderKey('google') } });
    const added = await call(byokit, 'POST', '/llm-models', {
      principal: admin,
      body: {
        provider: 'google',
        model: 'gemma-3-27b-it',
        display_name: 'Gemma 3 27B',
        context_window: 128_000,
        max_output_tokens: 8_192,
        pricing: null,
      },
    });
    expect(added!.status).toBe(201);
    const messages = [
      { role: 'system', content: 'Answer in French.' },
      { role: 'user', content: 'Hello!' },
      { role: 'assistant', content: 'Bonjour !' },
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Name a colour.' },
    ];
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(added!.json.id, { messages }) });
    expect(response!.status).toBe(200);
    const sent = mock.requests[0]!.body as Record<string, unknown>;
    expect(sent).not.toHaveProperty('systemInstruction');
    expect(sent.contents).toEqual([
      { role: 'user', parts: [{ text: 'Answer in French.\n\nBe brief.\n\n' }, { text: 'Hello!' }] },
      { role: 'model', parts: [{ text: 'Bonjour !' }] },
      { role: 'user', parts: [{ text: 'Name a colour.' }] },
    ]);
  });
});

describe('refused before any provider call', () => {
  it('Google sent a conversation the assistant begins: 422 naming messages, before any call; OpenAI is sent it', async () => {
    const { byokit, modelOf } = await setUp();
    for (const provider of ['openai', 'google'] as const) {
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: fakeProviderKey(provider) } });
    }
    // A chat app's greeting kept as the first turn, after the system prompt and an empty message Google is not sent.
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: '' },
      { role: 'assistant', content: 'Hi! How can I help?' },
      { role: 'user', content: 'Name a colour.' },
    ];
    const google = modelOf('google');
    const refused = [
      await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(google.id, { messages }) }),
      await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: { model: google.model, messages } }),
    ];
    expect(refused.map((response) => response!.status)).toEqual([422, 422]);
    expect(refused[0]!.json.error).toMatchObject({
      code: 'validation_failed',
      issues: [{ path: 'messages', message: expect.stringContaining('start with a user message') }],
    });
    expect(refused[1]!.json.error).toMatchObject({ param: 'messages', message: expect.stringContaining('start with a user message') });
    expect(mock.requests).toHaveLength(0);
    const answered = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(modelOf('openai').id, { messages }),
    });
    expect(answered!.status).toBe(200);
  });

  it.each([
    ['a model id that is not a UUID', { model_id: '../../etc/passwd' }, 422, 'validation_failed'],
    ['max_tokens of 1e9', { max_tokens: 1e9 }, 422, 'validation_failed'],
    ['max_tokens of -1', { max_tokens: -1 }, 422, 'validation_failed'],
    ['max_tokens as a string', { max_tokens: '100' }, 422, 'validation_failed'],
    ['temperature above what Anthropic takes', { temperature: 1.5 }, 422, 'validation_failed'],
    ['a base_url field', { base_url: 'http://127.0.0.1:1/' }, 422, 'validation_failed'],
    [
      'headers smuggled in a message',
      { messages: [{ role: 'user', content: 'x', headers: { 'x-api-key': 'y' } }] },
      422,
      'validation_failed',
    ],
    ['an unknown role', { messages: [{ role: 'tool', content: 'x' }] }, 422, 'validation_failed'],
    ['no messages', { messages: [] }, 422, 'validation_failed'],
    ['only a system message', { messages: [{ role: 'system', content: 'x' }] }, 422, 'validation_failed'],
    ['a lone surrogate in content', { messages: [{ role: 'user', content: 'a\ud800b' }] }, 422, 'validation_failed'],
    ['a lone surrogate in a stop sequence', { stop: 'a\ud800' }, 422, 'validation_failed'],
    ['a lone surrogate in one of the stop sequences', { stop: ['end', '\udc00'] }, 422, 'validation_failed'],
    ['user_id claiming another owner', { user_id: 'user-bob' }, 422, 'validation_failed'],
    ['an unknown model', { model_id: '00000000-0000-4000-8000-000000000000' }, 404, 'model_not_found'],
  ])('%s', async (_name, change, status, code) => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID, change) });
    expect(response!.status).toBe(status);
    expect(response!.json.error.code).toBe(code);
    expect(mock.requests).toHaveLength(0);
  });

  // Said once, in the chat's own words: an empty list was two issues ("Cannot be empty: send at least one" and "Send at
  // least one user or assistant message."), and too many was "Must have at most 2000 items.".
  it.each([
    ['no messages', [], 'Send at least one user or assistant message.'],
    ['too many messages', Array.from({ length: 2001 }, () => ({ role: 'user', content: 'x' })), 'At most 2000 messages in one request.'],
  ])('%s: one issue, in words about messages', async (_name, messages, message) => {
    const { byokit } = await setUp();
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID, { messages }) });
    expect(response!.json.error.issues).toEqual([{ path: 'messages', message }]);
    // Worded alike on the OpenAI-compatible route, whose list read "Cannot be empty: send at least one.".
    const openAI = await call(byokit, 'POST', '/openai/v1/chat/completions', {
      principal: alice,
      body: { model: GUIDE_MODEL_ID, messages },
    });
    expect(openAI!.json.error).toMatchObject({ message: `The request body is not valid: messages: ${message}`, param: 'messages' });
  });

  it.each([
    [
      '__proto__ at the top',
      '{"__proto__": {"polluted": true}, "model_id": "564e8710-43a9-406f-b0ab-e8d651a33e82", "messages": [{"role": "user", "content": "x"}]}',
    ],
    [
      'constructor.prototype in a message',
      '{"model_id": "564e8710-43a9-406f-b0ab-e8d651a33e82", "messages": [{"role": "user", "content": "x", "constructor": {"prototype": {"polluted": true}}}]}',
    ],
    [
      'base_url nested under metadata',
      '{"model_id": "564e8710-43a9-406f-b0ab-e8d651a33e82", "messages": [{"role": "user", "content": "x"}], "metadata": {"base_url": "http://169.254.169.254/"}}',
    ],
  ])('refuses %s with 422, pollutes nothing, sends nothing', async (_name, rawBody) => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, rawBody });
    expect(response!.status).toBe(422);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(mock.requests).toHaveLength(0);
  });

  it('byokit.chat in code refuses a field named with a key without quoting the key, as the route does', async () => {
    const { byokit } = await setUp();
    const key = fakeProviderKey('anthropic');
    const request = { ...hello(GUIDE_MODEL_ID), [key]: 1 } as unknown as Parameters<typeof byokit.chat>[1];
    for (const attempt of [
      () => byokit.chat(alice, request),
      async () => byokit.chatStream(alice, request)[Symbol.asyncIterator]().next(),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toMatchObject({ code: 'validation_failed' });
      expect(
        findKeyLeaks([key], [['error', JSON.stringify({ message: (error as Error).message, details: (error as ByokitError).details })]]),
      ).toEqual([]);
    }
    expect(mock.requests).toHaveLength(0);
  });

  it('refuses a 10 MB body with 413 from its Content-Length, before reading it', async () => {
    const { byokit } = await setUp();
    const { body, wasRead } = watchedBody();
    const response = await byokit.handle({
      method: 'POST',
      url: '/llm/chat/completions',
      headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) },
      body,
      authenticate: () => alice,
    });
    expect(response!.status).toBe(413);
    expect(wasRead()).toBe(false);
  });

  it('refuses a million messages by size, before reading them', async () => {
    const { byokit } = await setUp();
    const body = JSON.stringify(
      hello(GUIDE_MODEL_ID, { messages: Array.from({ length: 1_000_000 }, () => ({ role: 'user', content: 'x' })) }),
    );
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, rawBody: body });
    expect(response!.status).toBe(413);
    expect(mock.requests).toHaveLength(0);
  });

  // spec/security.md, "Resource consumption": the message count is capped. A million messages are refused by the body's
  // size; this is the count itself, within the size limit (2,001 tiny messages are 60 KB).
  it('refuses more than 2,000 messages before any provider call, and sends 2,000 on', async () => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const messages = (count: number) => Array.from({ length: count }, () => ({ role: 'user', content: 'x' }));
    const refused = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(GUIDE_MODEL_ID, { messages: messages(2_001) }),
    });
    expect(refused!.status).toBe(422);
    expect(refused!.json.error).toMatchObject({ code: 'validation_failed', issues: [{ path: 'messages' }] });
    expect(mock.requests).toHaveLength(0);
    const sent = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(GUIDE_MODEL_ID, { messages: messages(2_000) }),
    });
    expect(sent!.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });

  // The limit says characters, as the OpenAPI document does and as zod counts every other limit: an emoji is one,
  // though two UTF-16 units. Counted in units, 500,001 emoji (2 MB, within the body limit) were refused as over a
  // million characters.
  it('counts the million characters of content as characters: 500,001 emoji are sent on, 1,000,001 letters are not', async () => {
    const { byokit } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const emoji = '\u{1F600}'.repeat(500_001);
    const sent = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(GUIDE_MODEL_ID, { messages: [{ role: 'user', content: emoji }] }),
    });
    expect(sent!.status).toBe(200);
    expect(mock.requests).toHaveLength(1);

    const letters = 'x'.repeat(1_000_001);
    const refused = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(GUIDE_MODEL_ID, { messages: [{ role: 'user', content: letters }] }),
    });
    expect(refused!.status).toBe(422);
    expect(refused!.json.error.issues).toEqual([{ path: 'messages', message: expect.stringContaining('1000000 characters') }]);
    expect(mock.requests).toHaveLength(1);
  });

  it('refuses max_tokens over the model limit, and an inactive model', async () => {
    const { byokit, modelOf } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    const model = modelOf('openai');
    const over = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: hello(model.id, { max_tokens: model.max_output_tokens + 1 }),
    });
    expect(over!.status).toBe(422);
    expect(over!.json.error.issues[0].path).toBe('max_tokens');
    expect((await call(byokit, 'PATCH', `/llm-models/${model.id}`, { principal: admin, body: { is_active: false } }))!.status).toBe(200);
    const inactive = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(model.id) });
    expect(inactive!.status).toBe(400);
    expect(inactive!.json.error.code).toBe('model_inactive');
    expect(mock.requests).toHaveLength(0);
  });

  it("asks the provider for 4,096 tokens when the request gives no max_tokens, or the model's limit when it is lower", async () => {
    const { byokit } = await setUp({ environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') } });
    const unbounded = { model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }] };
    const compatible = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }] };
    expect((await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: unbounded }))!.status).toBe(200);
    expect((await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: compatible }))!.status).toBe(200);
    const lowered = await call(byokit, 'PATCH', `/llm-models/${GUIDE_MODEL_ID}`, { principal: admin, body: { max_output_tokens: 1000 } });
    expect(lowered!.status).toBe(200);
    expect((await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: unbounded }))!.status).toBe(200);
    expect(mock.requests.map((request) => (request.body as { max_tokens: number }).max_tokens)).toEqual([4096, 4096, 1000]);
  });

  // byokit's own bounds on `stop`, for every provider (Anthropic's reference gives no count): 16 sequences of 1 to 200
  // characters. The refusal says which bound, on both routes, as the per-provider limits' refusals do.
  it.each([
    ['17 stop sequences', Array.from({ length: 17 }, (_, index) => `END${index}`), 'stop', /At most 16 stop sequences/],
    ['a stop sequence of 201 characters', ['x'.repeat(201)], 'stop.0', /at most 200 characters/],
    ['a stop that is a number', 5, 'stop', /a string or a list of strings/],
  ])('%s: 422 saying which bound, on both chat routes', async (_name, stop, path, message) => {
    const { byokit } = await setUp({ environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') } });
    const messages = [{ role: 'user', content: 'Hello!' }];
    const native = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: { model_id: GUIDE_MODEL_ID, messages, stop },
    });
    const compatible = await call(byokit, 'POST', '/openai/v1/chat/completions', {
      principal: alice,
      body: { model: 'claude-sonnet-4-5', messages, stop },
    });
    expect([native!.status, compatible!.status]).toEqual([422, 422]);
    expect(native!.json.error.issues).toEqual([{ path, message: expect.stringMatching(message) }]);
    expect(compatible!.json.error).toMatchObject({ param: path, message: expect.stringMatching(message) });
    expect(mock.requests).toHaveLength(0);
  });

  // Each provider's published limit (anthropic-limits.ts, openai-limits.ts, google-limits.ts): the limit itself is
  // sent on, one past it is a 422 naming the field, the provider and the limit, and the model in its message.
  // gpt-4.1 stands for an OpenAI model that takes a temperature (the built-in GPT-6 ones leave it out).
  it.each([
    ['Claude Sonnet 4.5', 'claude-sonnet-4-5', { temperature: 1 }, { temperature: 1.01 }, 'Anthropic takes a temperature from 0 to 1.'],
    ['gpt-4.1', 'gpt-4.1', { temperature: 2 }, { temperature: 2.01 }, 'OpenAI takes a temperature from 0 to 2.'],
    [
      'GPT-6 Luna',
      'gpt-6-luna',
      { stop: ['1', '2', '3', '4'] },
      { stop: ['1', '2', '3', '4', '5'] },
      'OpenAI takes at most 4 stop sequences.',
    ],
    ['Gemini 4 Argon', 'gemini-4-argon', { temperature: 2 }, { temperature: 2.01 }, 'Google takes a temperature from 0 to 2.'],
    [
      'Gemini 4 Argon',
      'gemini-4-argon',
      { stop: ['1', '2', '3', '4', '5'] },
      { stop: ['1', '2', '3', '4', '5', '6'] },
      'Google takes at most 5 stop sequences.',
    ],
    [
      'Claude Sonnet 4.5',
      'claude-sonnet-4-5',
      { max_tokens: 64_000 },
      { max_tokens: 64_001 },
      'Claude Sonnet 4.5 writes at most 64000 tokens.',
    ],
  ] as const)('%s (%s): %o is answered, %o is 422 "%s"', async (displayName, modelName, atLimit, past, message) => {
    const environment = Object.fromEntries(
      (['anthropic', 'openai', 'google'] as const).map((provider) => [`${provider.toUpperCase()}_API_KEY`, fakeProviderKey(provider)]),
    );
    const { byokit, models } = await setUp({ environment });
    let modelId = models.find((model) => model.model === modelName)?.id;
    if (modelId === undefined) {
      const body = {
        provider: 'openai',
        model: modelName,
        display_name: modelName,
        context_window: 1_000_000,
        max_output_tokens: 32_768,
        pricing: null,
      };
      modelId = (await call(byokit, 'POST', '/llm-models', { principal: admin, body }))!.json.id as string;
    }
    const ask = (sampling: object) =>
      call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: { model_id: modelId, messages: [{ role: 'user', content: 'Hello!' }], ...sampling },
      });
    const answered = await ask(atLimit);
    expect([answered!.status, answered!.headers['x-byok-ignored-parameters']]).toEqual([200, undefined]);
    const refused = await ask(past);
    const [field] = Object.keys(past);
    expect(refused!.status).toBe(422);
    expect(refused!.json.error).toMatchObject({
      code: 'validation_failed',
      message: `The request exceeds what ${displayName} accepts: ${message}`,
      issues: [{ path: field, message }],
    });
    expect(mock.requests).toHaveLength(1);
  });
});

describe('an answer the provider ended early', () => {
  // Limits (plain, streamed) that cut each recording with some text written: Gemini counts its thinking first,
  // 244 tokens in the plain recording and 185 in the streamed one.
  const cases = [
    ['anthropic', [5, 5], ['doing']],
    ['openai', [10, 10], ['Date']],
    ['google', [250, 190], ['strawberry']],
  ] as const;

  async function ask(provider: Provider, extra: Record<string, unknown>) {
    const { byokit, modelOf } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: fakeProviderKey(provider) } });
    return call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf(provider).id, extra) });
  }

  const streamedText = (chunks: Array<Record<string, any>>) =>
    chunks.flatMap((chunk) => chunk.choices.map((choice: { delta: { content?: string } }) => choice.delta.content ?? '')).join('');

  it.each(cases)(
    '%s: max_tokens reached is finish_reason length, billed for the tokens written',
    async (provider, [plainMax, streamMax]) => {
      const plain = await ask(provider, { max_tokens: plainMax });
      expect(plain!.status).toBe(200);
      expect(plain!.json.choices[0].finish_reason).toBe('length');
      expect(plain!.json.choices[0].message.content).not.toBe('');
      expect(plain!.json.usage.completion_tokens).toBe(plainMax);

      const streamed = await ask(provider, { max_tokens: streamMax, stream: true });
      expect(streamed!.status).toBe(200);
      const chunks = (streamed!.events as Array<Record<string, any>>).slice(0, -1);
      expect(streamedText(chunks)).not.toBe('');
      expect(chunks.at(-2)!.choices[0].finish_reason).toBe('length');
      expect(chunks.at(-1)!.usage.completion_tokens).toBe(streamMax);
    },
  );

  it.each(cases)('%s: a stop sequence ends the text before it, finish_reason stop', async (provider, _maxTokens, stop) => {
    const plain = await ask(provider, { stop });
    expect(plain!.status).toBe(200);
    expect(plain!.json.choices[0].finish_reason).toBe('stop');
    const content = plain!.json.choices[0].message.content as string;
    expect(content).not.toBe('');
    expect(content).not.toContain(stop[0]);

    const streamed = await ask(provider, { stop, stream: true });
    const chunks = (streamed!.events as Array<Record<string, any>>).slice(0, -1);
    expect(streamedText(chunks)).not.toContain(stop[0]);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
  });

  it('google: thinking that uses up max_tokens is an empty answer with finish_reason length, not an error', async () => {
    const plain = await ask('google', { max_tokens: 100 });
    expect(plain!.status).toBe(200);
    expect(plain!.json.choices[0]).toMatchObject({ message: { content: '' }, finish_reason: 'length' });
    expect(plain!.json.usage).toMatchObject({ completion_tokens: 100, reasoning_tokens: 100 });
    const streamed = await ask('google', { max_tokens: 100, stream: true });
    const chunks = (streamed!.events as Array<Record<string, any>>).slice(0, -1);
    expect(streamedText(chunks)).toBe('');
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('length');
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 100, reasoning_tokens: 100 });
  });
});

describe('provider failures in the contract', () => {
  it('a refused key: 400 provider_key_rejected saying whose key, with no piece of it', async () => {
    const { byokit, modelOf } = await setUp();
    const key = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });
    mock.failNext('openai', { status: 401 });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('openai').id) });
    expect(response!.status).toBe(400);
    expect(response!.json.error).toMatchObject({ code: 'provider_key_rejected', provider: 'openai', key_source: 'user' });
    for (let start = 0; start + 8 <= key.length; start += 4) expect(response!.text).not.toContain(key.slice(start, start + 8));
  });

  // The provider's words about the system key speak to its owner, the host ("You can find your API key at…", "please
  // check your plan and billing details", "…in organization org-…"): a user who has no key of their own reads them as
  // being about theirs. They are the operator's, in the log line; the user is told whose key it is and what they can do.
  const outOfCredit = {
    error: {
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'insufficient_quota',
      param: null,
      code: 'insufficient_quota',
    },
  };
  it.each([
    [
      'revoked',
      { status: 401 },
      'Incorrect API key provided',
      400,
      'provider_key_rejected',
      /refused the system key.*an admin.*add your own OpenAI key/,
    ],
    [
      'out of credit',
      { status: 429, body: outOfCredit },
      'You exceeded your current quota',
      400,
      'provider_key_rejected',
      /refused the system key.*an admin.*add your own OpenAI key/,
    ],
    ['rate limited', { status: 429 }, 'org-mock', 429, 'provider_rate_limited', /rate limiting the system key.*add your own OpenAI key/],
  ])(
    "the system key %s: the user is told it is the system key's, not handed the provider's words to its owner, which the log keeps",
    async (_case, failure, providersWords, status, code, says) => {
      const logged: Array<Record<string, unknown>> = [];
      const keep = (object: Record<string, unknown>) => void logged.push(object);
      const ignore = () => {};
      const logger = { debug: ignore, info: ignore, warn: keep, error: keep };
      const { byokit, modelOf } = await setUp({ environment: { OPENAI_API_KEY: fakeProviderKey('openai') }, logger });
      mock.failNext('openai', failure);
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('openai').id) });
      expect([response!.status, response!.json.error.code, response!.json.error.key_source]).toEqual([status, code, 'system']);
      expect(response!.json.error.message).toMatch(says);
      expect(response!.json.error.message).not.toMatch(/your API key|your plan|org-mock|You exceeded/);
      expect(JSON.stringify(logged)).toContain(providersWords);
    },
  );

  it("a refused personal key keeps the provider's words, which are about the user's own account", async () => {
    const { byokit, modelOf } = await setUp({ environment: { OPENAI_API_KEY: fakeProviderKey('openai') } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    mock.failNext('openai', { status: 401 });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('openai').id) });
    expect(response!.json.error).toMatchObject({ code: 'provider_key_rejected', key_source: 'user' });
    // It says whose key it is and what its owner can do; it read "… api-keys. (your personal key)".
    expect(response!.json.error.message).toMatch(
      /^The OpenAI API refused the key: Incorrect API key provided: .*\. This is your personal key: enter a working one in your profile, or remove it\.$/,
    );
  });

  // Each ends with a period, whether or not the provider's words had one ("Internal server error", "Overloaded"), or
  // there were none (a proxy's HTML page): it read "The Anthropic API failed (HTTP 502)".
  it.each([
    [{ status: 500 }, 'The Anthropic API failed (HTTP 500): Internal server error.'],
    [{ status: 529 }, 'The Anthropic API failed (HTTP 529): Overloaded.'],
    [{ status: 502, body: '<html>Bad gateway</html>' }, 'The Anthropic API failed (HTTP 502).'],
  ])("a provider's failure is answered in a sentence: %j", async (failure, message) => {
    const { byokit, modelOf } = await setUp({ environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') } });
    mock.failNext('anthropic', failure);
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('anthropic').id) });
    expect(response!.json.error).toMatchObject({ code: 'provider_unavailable', message });
  });

  // A provider's words can quote what it was sent, and Gemini's span lines ("* GenerateContentRequest…\n"). Written
  // raw as the message of the error line, they ended the line and forged another in a plain-text or pretty log,
  // or restyled the terminal (ESC) of whoever read it.
  it.each(['anthropic', 'openai', 'google'] as const)(
    '%s: a refusal whose words hold line breaks and control characters is logged on one line, and answered whole',
    async (provider) => {
      const lines: Array<{ object: Record<string, unknown>; message: string }> = [];
      const keep = (object: Record<string, unknown>, message: string) => void lines.push({ object, message });
      const ignore = () => {};
      const { byokit, modelOf } = await setUp({ logger: { debug: ignore, info: ignore, warn: keep, error: keep } });
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [`${provider}_api_key`]: fakeProviderKey(provider) } });
      const words = 'Invalid value "hi\r\n2026-12-05T01:00:00Z INFO admin granted \u001b[31mroot\u2028\u202Edesrever"';
      const body = {
        anthropic: { type: 'error', error: { type: 'invalid_request_error', message: words } },
        openai: { error: { message: words, type: 'invalid_request_error', param: null, code: null } },
        google: { error: { code: 400, message: words, status: 'INVALID_ARGUMENT' } },
      }[provider];
      mock.failNext(provider, { status: 400, body });
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf(provider).id) });
      expect(response!.status).toBe(502);
      expect(response!.json.error.message).toContain(words);
      const logged = lines.filter((line) => line.object.requestId === response!.headers['x-request-id']);
      expect(logged.map((line) => line.message)).toEqual([expect.stringContaining('Invalid value "hi\\r\\n2026-12-05T01:00:00Z INFO')]);
      expect(logged[0]!.message).not.toMatch(/[\r\n\u001b\u2028\u202e]/);
    },
  );

  // A gateway before the provider may quote the credential it was sent encoded (a basic-auth header, a token it
  // built of it), and every user without a key of their own is answered on the system key: no key pattern knows its
  // base64, only the key the call was made with does (caller-error.ts).
  it.each(['anthropic', 'openai', 'google'] as const)(
    '%s: the system key a failing provider echoed in base64 reaches neither the user nor the log',
    async (provider) => {
      const lines: string[] = [];
      const keep = (object: Record<string, unknown>, message: string) => void lines.push(`${message} ${JSON.stringify(object)}`);
      const key = fakeProviderKey(provider);
      const base64 = Buffer.from(key).toString('base64');
      const words = `upstream credential not accepted: ${base64} (${Buffer.from(key.slice(9)).toString('base64url')})`;
      const body = {
        anthropic: { type: 'error', error: { type: 'api_error', message: words } },
        openai: { error: { message: words, type: 'server_error', param: null, code: null } },
        google: { error: { code: 500, message: words, status: 'INTERNAL' } },
      }[provider];
      const { byokit, modelOf } = await setUp({
        environment: { [`${provider.toUpperCase()}_API_KEY`]: key },
        logger: { debug: keep, info: keep, warn: keep, error: keep },
      });
      mock.failNext(provider, { status: 500, body });
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf(provider).id) });
      expect([response!.status, response!.json.error.code]).toEqual([502, 'provider_unavailable']);
      expect(response!.json.error.message).toContain('upstream credential not accepted');
      expect(
        findKeyLeaks(
          [key],
          [
            ['answer', response!.text],
            ['log lines', lines.join('\n')],
          ],
        ),
      ).toEqual([]);
    },
  );

  it('rate limited: 429 provider_rate_limited with Retry-After passed on', async () => {
    const { byokit, modelOf } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: fakeProviderKey('google') } });
    mock.failNext('google', { status: 429 });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('google').id) });
    expect(response!.status).toBe(429);
    expect(response!.json.error.code).toBe('provider_rate_limited');
    expect(Number(response!.headers['retry-after'])).toBeGreaterThan(0);
  });

  it.each(['0', 'Wed, 21 Oct 2015 07:28:00 GMT'])(
    'passes a provider Retry-After of %s on as 1 s, not an invitation to a hot loop',
    async (header) => {
      const { byokit, modelOf } = await setUp();
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
      mock.failNext('anthropic', { status: 429, headers: { 'retry-after': header } });
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('anthropic').id) });
      expect(response!.json.error.code).toBe('provider_rate_limited');
      expect(response!.headers['retry-after']).toBe('1');
    },
  );

  it("passes a provider's Retry-After date on as the seconds from its own Date header, whatever this server's clock says", async () => {
    const { byokit, modelOf } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    const headers = { date: 'Mon, 30 Nov 2026 12:00:00 GMT', 'retry-after': 'Mon, 30 Nov 2026 12:00:30 GMT' };
    mock.failNext('openai', { status: 429, headers });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('openai').id) });
    expect(response!.json.error.code).toBe('provider_rate_limited');
    expect(response!.headers['retry-after']).toBe('30');
  });

  it.each([
    [500, 502, 'provider_unavailable'],
    [400, 502, 'provider_error'],
  ])('upstream %i: %i %s', async (upstream, status, code) => {
    const { byokit, modelOf } = await setUp();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    mock.failNext('openai', { status: upstream });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(modelOf('openai').id) });
    expect(response!.status).toBe(status);
    expect(response!.json.error.code).toBe(code);
  });

  it('a provider that cannot be reached: 502 provider_unavailable', async () => {
    const { byokit } = await testByokit({ providers: { anthropic: { baseUrl: 'http://127.0.0.1:1', retries: 0 } }, environment: {} });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello(GUIDE_MODEL_ID) });
    expect(response!.status).toBe(502);
    expect(response!.json.error.code).toBe('provider_unavailable');
  });
});
