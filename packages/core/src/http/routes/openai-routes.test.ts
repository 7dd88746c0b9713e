import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { Byokit, ByokitOptions } from '../../byokit.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { PROVIDERS, type Provider } from '../../keys/providers.js';
import { createNodeHandler } from '../../node/index.js';
import { DEFAULT_SYSTEM_KEY_VARIABLES } from '../../resolve/environment-keys.js';
import { findKeyLeaks } from '../../testing/leak-check.js';
import { admin, alice, bob, call, mockProvidersForFile, testByokit } from '../test-helpers.js';
import type { Principal } from '../types.js';

// The OpenAI-compatible surface through the official `openai` client, unchanged, over real HTTP: byokit on
// node:http (createNodeHandler, prefix /v2), the providers mocked with their recorded answers.

const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const TOKENS: Record<string, Principal> = { 'token-alice': alice, 'token-bob': bob, 'token-admin': admin };
const systemKeys = Object.fromEntries(PROVIDERS.map((provider) => [provider, fakeProviderKey(provider)])) as Record<Provider, string>;
/** A system key of every provider, each in its default variable. */
const ALL_SYSTEM_KEYS = Object.fromEntries(PROVIDERS.map((provider) => [DEFAULT_SYSTEM_KEY_VARIABLES[provider], systemKeys[provider]]));

const mock = mockProvidersForFile();

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

/** The host's auth: a bearer token from a fixed table, as the example server's would be. */
function authenticate(request: IncomingMessage): Principal | null {
  const token = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
  return TOKENS[token] ?? null;
}

/** byokit served on a real port, and an official OpenAI client pointed at it. */
async function setUp(options: Pick<ByokitOptions, 'environment' | 'rateLimit'> = {}) {
  const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
  const { byokit } = await testByokit({ providers, ...options, environment: options.environment ?? ALL_SYSTEM_KEYS });
  const handler = createNodeHandler(byokit, { authenticate, prefix: '/v2' });
  const server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const baseURL = `${origin}/v2/openai/v1`;
  const clientFor = (token: string) => new OpenAI({ baseURL, apiKey: token, maxRetries: 0 });
  const catalog = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Array<{
    id: string;
    provider: Provider;
    model: string;
    is_active: boolean;
  }>;
  const modelOf = (provider: Provider) => catalog.find((model) => model.provider === provider && model.is_active)!;
  return { byokit, origin, baseURL, client: clientFor('token-alice'), clientFor, catalog, modelOf };
}

const hello = [{ role: 'user' as const, content: 'Hello!' }];

/**
 * One chat through the client as its users make it (two retries, of a 429 and a 5xx, honouring Retry-After): the error
 * it raises, or the log line of the first retry it decided on, which it writes before it waits.
 */
async function errorOrRetry(baseURL: string, model: string): Promise<unknown> {
  let retrying: (line: string) => void = () => {};
  const retried = new Promise<string>((resolve) => (retrying = resolve));
  const logger = { info: (line: string) => line.includes('retrying') && retrying(line), debug() {}, warn() {}, error() {} };
  const client = new OpenAI({ baseURL, apiKey: 'token-alice', logLevel: 'info', logger });
  return Promise.race([client.chat.completions.create({ model, messages: hello }).catch((error: unknown) => error), retried]);
}

/** byokit's native answer to the same question, to check that the translation loses nothing. */
async function nativeAnswer(byokit: Byokit, modelId: string, stream = false) {
  const body = { model_id: modelId, messages: hello, max_tokens: 1024, ...(stream && { stream }) };
  return (await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body }))!;
}

/** Runs `promise`, which must fail, and returns its error. */
async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

describe('the official openai client against byokit, every provider of the catalog', () => {
  it.each(PROVIDERS)('answers a plain completion through %s in OpenAI’s format', async (provider) => {
    const { byokit, client, modelOf } = await setUp();
    const model = modelOf(provider);
    const { data: completion, response } = await client.chat.completions
      .create({ model: model.model, messages: hello, max_tokens: 1024 })
      .withResponse();
    const native = (await nativeAnswer(byokit, model.id)).json;

    expect(response.headers.get('x-byok-key-source')).toBe('system');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(completion).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: model.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: native.choices[0].message.content, refusal: null },
          finish_reason: native.choices[0].finish_reason,
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: native.usage.prompt_tokens,
        completion_tokens: native.usage.completion_tokens,
        total_tokens: native.usage.total_tokens,
        // Cache reads and writes where OpenAI puts them, as the native answer reports them.
        ...((native.usage.cached_tokens !== null || native.usage.cache_write_tokens !== null) && {
          prompt_tokens_details: {
            ...(native.usage.cached_tokens !== null && { cached_tokens: native.usage.cached_tokens }),
            ...(native.usage.cache_write_tokens !== null && { cache_write_tokens: native.usage.cache_write_tokens }),
          },
        }),
        ...(native.usage.reasoning_tokens !== null && {
          completion_tokens_details: { reasoning_tokens: native.usage.reasoning_tokens },
        }),
      },
      byokit: { model_id: model.id, provider, key_source: 'system', cost_usd: native.usage.cost_usd },
    });
    expect(completion.choices[0]!.message.content).not.toBe('');
  });

  it.each(PROVIDERS)('streams through %s: chunks, then usage when include_usage asks for it', async (provider) => {
    const { byokit, client, modelOf } = await setUp();
    const model = modelOf(provider);
    const stream = await client.chat.completions.create({
      model: model.model,
      messages: hello,
      max_tokens: 1024,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const native = (await nativeAnswer(byokit, model.id, true)).events.filter((event) => event !== '[DONE]') as Array<{
      choices: Array<{ delta: { content?: string }; finish_reason: string | null }>;
      usage?: { prompt_tokens: number; completion_tokens: number; cost_usd: string };
    }>;
    const nativeText = native.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');

    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(nativeText);
    expect(text).not.toBe('');
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === model.model)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const last = chunks.at(-1)!;
    const nativeUsage = native.at(-1)!.usage!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({
      prompt_tokens: nativeUsage.prompt_tokens,
      completion_tokens: nativeUsage.completion_tokens,
      total_tokens: nativeUsage.prompt_tokens + nativeUsage.completion_tokens,
    });
    expect((last as unknown as { byokit: unknown }).byokit).toEqual({
      model_id: model.id,
      provider,
      key_source: 'system',
      cost_usd: nativeUsage.cost_usd,
    });
    // As OpenAI: with include_usage, every chunk but the last carries `usage: null`.
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('sends no usage chunk and no usage field when the stream did not ask for usage, as OpenAI', async () => {
    const { client, modelOf } = await setUp();
    const stream = await client.chat.completions.create({ model: modelOf('anthropic').model, messages: hello, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((chunk) => !('usage' in chunk) && chunk.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it.each([true, false])(
    'takes stream_options.include_obfuscation: %s and ignores it: the provider is asked, and the client answered, as without it',
    async (include_obfuscation) => {
      const { client, modelOf } = await setUp();
      const streamed = async (stream_options: OpenAI.Chat.Completions.ChatCompletionStreamOptions) => {
        const stream = await client.chat.completions.create({
          model: modelOf('openai').model,
          messages: hello,
          stream: true,
          stream_options,
        });
        const chunks: unknown[] = [];
        for await (const chunk of stream) chunks.push({ ...chunk, id: 'id', created: 0 });
        return { chunks, upstream: mock.requests.splice(0).map(({ path, body }) => ({ path, body })) };
      };
      const plain = await streamed({ include_usage: true });
      const obfuscation = await streamed({ include_usage: true, include_obfuscation });
      expect(obfuscation.chunks.length).toBeGreaterThan(2);
      expect(obfuscation).toEqual(plain);
    },
  );

  it("takes the client's stream helper (chat.completions.stream) and its final message", async () => {
    const { client, modelOf } = await setUp();
    const runner = client.chat.completions.stream({ model: modelOf('google').model, messages: hello });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBeTruthy();
    expect(final.choices[0]!.finish_reason).toBe('stop');
  });

  it('accepts a catalog UUID as the model, and answers with the model name', async () => {
    const { client } = await setUp();
    const completion = await client.chat.completions.create({ model: GUIDE_MODEL_ID, messages: hello });
    expect(completion.model).toBe('claude-sonnet-4-5');
  });

  it('sends developer and system messages as system, text parts joined, and max_completion_tokens as the limit', async () => {
    const { client } = await setUp();
    await client.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Hello' },
            { type: 'text', text: 'there' },
          ],
        },
        { role: 'assistant', content: 'Hi!', refusal: null },
        { role: 'user', content: 'Again?', name: 'alice' },
      ],
      max_completion_tokens: 77,
      temperature: 0.5,
      user: 'ignored-end-user-id',
    });
    const sent = mock.requests.find((request) => request.provider === 'anthropic')!.body as {
      messages: Array<{ role: string; content: Array<{ text: string }> }>;
    } & Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 77, temperature: 0.5 });
    expect(sent.messages.map((message) => [message.role, message.content.map((block) => block.text).join('')])).toEqual([
      ['user', 'Hello\nthere'],
      ['assistant', 'Hi!'],
      ['user', 'Again?'],
    ]);
    expect(JSON.stringify(sent.system)).toContain('Be brief.');
    expect(JSON.stringify(sent)).not.toContain('ignored-end-user-id');
  });

  it.each(PROVIDERS)(
    "takes safety_identifier and prompt_cache_key, the client's replacements for its deprecated user, through %s: sent on nowhere",
    async (provider) => {
      const { client, modelOf } = await setUp();
      const model = modelOf(provider).model;
      const sentUpstream = () => mock.requests.map(({ provider, path, body }) => ({ provider, path, body }));
      await client.chat.completions.create({ model, messages: hello });
      const plain = sentUpstream();
      mock.reset();

      const completion = await client.chat.completions.create({
        model,
        messages: hello,
        safety_identifier: 'hashed-end-user-id',
        prompt_cache_key: 'support-bot-v3',
      });
      expect(completion.choices[0]!.message.content).not.toBe('');
      expect(sentUpstream()).toEqual(plain);
      expect(JSON.stringify(mock.requests)).not.toMatch(/hashed-end-user-id|support-bot-v3/);
    },
  );

  it("takes back, as history, the messages the client's stream helper and parse() hand out (parsed: null)", async () => {
    const { client } = await setUp();
    const streamed = await client.chat.completions.stream({ model: 'claude-sonnet-4-5', messages: hello }).finalMessage();
    const parsed = (await client.chat.completions.parse({ model: 'claude-sonnet-4-5', messages: hello })).choices[0]!.message;
    // As the client hands them out: the helper's type leaves `parsed` out, its value carries it.
    expect([(streamed as { parsed?: unknown }).parsed, parsed.parsed]).toEqual([null, null]);
    mock.reset();

    const completion = await client.chat.completions.create({
      model: 'claude-sonnet-4-5',
      messages: [...hello, streamed, { role: 'user', content: 'Again?' }, parsed, { role: 'user', content: 'Once more?' }],
    });
    expect(completion.choices[0]!.message.content).not.toBe('');
    const sent = mock.requests.find((request) => request.provider === 'anthropic')!.body as {
      messages: Array<{ role: string; content: Array<{ text: string }> }>;
    };
    expect(sent.messages.map((message) => [message.role, message.content.map((block) => block.text).join('')])).toEqual([
      ['user', 'Hello!'],
      ['assistant', streamed.content],
      ['user', 'Again?'],
      ['assistant', parsed.content],
      ['user', 'Once more?'],
    ]);
    expect(JSON.stringify(sent)).not.toContain('parsed');
  });

  it('writes a usage record for every call through this surface, as for the native route', async () => {
    const { byokit, client, modelOf } = await setUp();
    const { response } = await client.chat.completions.create({ model: modelOf('openai').model, messages: hello }).withResponse();
    const stream = await client.chat.completions.create({ model: modelOf('google').model, messages: hello, stream: true });
    for await (const _chunk of stream);
    await expect.poll(async () => (await call(byokit, 'GET', '/llm/usage/me/events', { principal: alice }))!.json.data.length).toBe(2);
    const events = (await call(byokit, 'GET', '/llm/usage/me/events', { principal: alice }))!.json.data as Array<{
      provider: string;
      status: string;
      key_source: string;
      request_id: string;
      prompt_tokens: number;
    }>;
    expect(events.map((event) => [event.provider, event.status, event.key_source]).sort()).toEqual([
      ['google', 'ok', 'system'],
      ['openai', 'ok', 'system'],
    ]);
    expect(events.map((event) => event.request_id)).toContain(response.headers.get('x-request-id'));
    expect(events.every((event) => event.prompt_tokens > 0)).toBe(true);
  });

  it('aborts the provider call when the client aborts the stream, and records it as aborted', async () => {
    const { byokit, client, modelOf } = await setUp();
    mock.setChunkGapMs(50);
    const stream = await client.chat.completions.create({ model: modelOf('anthropic').model, messages: hello, stream: true });
    for await (const _chunk of stream) {
      stream.controller.abort();
      break;
    }
    const upstream = await mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted);
    expect(upstream.aborted).toBe(true);
    await expect
      .poll(async () => (await call(byokit, 'GET', '/llm/usage/me/events', { principal: alice }))!.json.data[0]?.status)
      .toBe('aborted');
  });
});

describe('models in OpenAI’s list format', () => {
  it('lists exactly the models GET /llm-models/?is_active=true lists, by name, owned by their provider', async () => {
    const { byokit, client } = await setUp();
    const page = await client.models.list();
    const native = (await call(byokit, 'GET', '/llm-models/?is_active=true', { principal: alice }))!.json.data as Array<{
      provider: string;
      model: string;
    }>;
    expect(page.data).toEqual(native.map((model) => ({ id: model.model, object: 'model', created: 0, owned_by: model.provider })));
    expect(new Set(page.data.map((model) => model.owned_by))).toEqual(new Set(PROVIDERS));
  });

  it('lists only the providers whose key resolves for the caller', async () => {
    const { byokit, clientFor } = await setUp({ environment: { OPENAI_API_KEY: systemKeys.openai } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: fakeProviderKey('google') } });
    const alices = await clientFor('token-alice').models.list();
    expect(new Set(alices.data.map((model) => model.owned_by))).toEqual(new Set(['openai', 'google']));
    const bobs = await clientFor('token-bob').models.list();
    expect(new Set(bobs.data.map((model) => model.owned_by))).toEqual(new Set(['openai']));
  });

  it('404s a model an admin deactivated, by name and by UUID, as the list leaves it out', async () => {
    const { byokit, client } = await setUp({ environment: { ANTHROPIC_API_KEY: systemKeys.anthropic } });
    await call(byokit, 'PATCH', `/llm-models/${GUIDE_MODEL_ID}`, { principal: admin, body: { is_active: false } });
    const refused = await Promise.all([
      failure(client.models.retrieve('claude-sonnet-4-5')),
      failure(client.models.retrieve(GUIDE_MODEL_ID)),
    ]);
    expect(refused.map((error) => [error instanceof OpenAI.NotFoundError, error.code])).toEqual([
      [true, 'model_not_found'],
      [true, 'model_not_found'],
    ]);
    expect((await client.models.list()).data.map((model) => model.id)).not.toContain('claude-sonnet-4-5');
  });

  it('retrieves one model by name or UUID, and 404s one the caller cannot use', async () => {
    const { client, modelOf } = await setUp({ environment: { ANTHROPIC_API_KEY: systemKeys.anthropic } });
    expect(await client.models.retrieve('claude-sonnet-4-5')).toEqual({
      id: 'claude-sonnet-4-5',
      object: 'model',
      created: 0,
      owned_by: 'anthropic',
    });
    expect((await client.models.retrieve(GUIDE_MODEL_ID)).id).toBe('claude-sonnet-4-5');
    expect((await client.models.retrieve('anthropic/claude-sonnet-4-5')).id).toBe('claude-sonnet-4-5');
    const noKey = await failure(client.models.retrieve(modelOf('google').model));
    expect(noKey).toBeInstanceOf(OpenAI.NotFoundError);
    expect(noKey.code).toBe('model_not_found');
    expect(await failure(client.models.retrieve('no-such-model'))).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("errors as the openai client's typed errors, with core's status", () => {
  it('a bad token is an AuthenticationError (401), on chat and on models', async () => {
    const { clientFor } = await setUp();
    const chat = await failure(clientFor('not-a-token').chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }));
    expect(chat).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(chat.status).toBe(401);
    expect(chat.error).toEqual({ message: expect.any(String), type: 'authentication_error', param: null, code: 'unauthenticated' });
    expect(chat.requestID).toBeTruthy();
    expect(await failure(clientFor('not-a-token').models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(mock.requests).toEqual([]);
  });

  it('an unknown model is a NotFoundError (404) with code model_not_found, param model', async () => {
    const { client } = await setUp();
    const error = await failure(client.chat.completions.create({ model: 'gpt-nonexistent', messages: hello }));
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
    expect(error.message).not.toContain('gpt-nonexistent');
  });

  it('no key for the provider is a BadRequestError (400 api_key_required) naming the provider, plain and streaming', async () => {
    const { client, modelOf } = await setUp({ environment: { ANTHROPIC_API_KEY: systemKeys.anthropic } });
    const model = modelOf('google').model;
    for (const stream of [false, true]) {
      const error = await failure(client.chat.completions.create({ model, messages: hello, stream }));
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ status: 400, code: 'api_key_required', type: 'invalid_request_error' });
      expect(error.message).toContain('google');
    }
    expect(mock.requests).toEqual([]);
  });

  it("a provider's rate limit is a RateLimitError (429) with the provider's Retry-After passed on", async () => {
    const { client, modelOf } = await setUp();
    mock.failNext('anthropic', { status: 429, headers: { 'retry-after': '7' } });
    const error = await failure(client.chat.completions.create({ model: modelOf('anthropic').model, messages: hello }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'provider_rate_limited', type: 'rate_limit_error' });
    expect(error.headers?.get('retry-after')).toBe('7');
    // A wait the client's own retry can sit out: left to it.
    expect(error.headers?.get('x-should-retry')).toBeNull();
  });

  it.each([
    ["the provider's", 'provider_rate_limited', {}],
    ["byokit's own", 'rate_limited', { rateLimit: { take: async () => ({ allowed: false as const, retryAfterMs: 3_600_000 }) } }],
  ] as const)(
    '%s rate limit for an hour is a RateLimitError at once, which the client does not sit out (x-should-retry: false)',
    async (_whose, code, options) => {
      const { baseURL, modelOf } = await setUp(options);
      if (code === 'provider_rate_limited') mock.failNext('anthropic', { status: 429, headers: { 'retry-after': '3600' } });
      const outcome = await errorOrRetry(baseURL, modelOf('anthropic').model);
      expect(outcome).toBeInstanceOf(OpenAI.RateLimitError);
      const error = outcome as InstanceType<typeof OpenAI.RateLimitError>;
      expect(error).toMatchObject({ status: 429, code });
      expect(error.headers?.get('retry-after')).toBe('3600');
      expect(error.headers?.get('x-should-retry')).toBe('false');
      expect(mock.requests).toHaveLength(code === 'rate_limited' ? 0 : 1);
    },
  );

  it('a provider that failed asking for an hour is an InternalServerError at once, which the client does not sit out (x-should-retry: false)', async () => {
    const { baseURL, modelOf } = await setUp();
    mock.failNext('anthropic', { status: 503, headers: { 'retry-after': '3600' } });
    const outcome = await errorOrRetry(baseURL, modelOf('anthropic').model);
    expect(outcome).toBeInstanceOf(OpenAI.InternalServerError);
    const error = outcome as InstanceType<typeof OpenAI.InternalServerError>;
    expect(error).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect([error.headers?.get('retry-after'), error.headers?.get('x-should-retry')]).toEqual(['3600', 'false']);
    expect(mock.requests).toHaveLength(1);
  });

  it('a request the provider refuses is called once, though the client retries a 5xx by default (x-should-retry: false)', async () => {
    const { clientFor, modelOf } = await setUp();
    // The client as its users make it: two retries of a 5xx, after backoffs of up to a few seconds.
    const client = new OpenAI({ baseURL: clientFor('token-alice').baseURL, apiKey: 'token-alice' });
    mock.failNext('anthropic', { status: 400 });
    mock.failNext('anthropic', { status: 400 });
    mock.failNext('anthropic', { status: 400 });
    const error = await failure(client.chat.completions.create({ model: modelOf('anthropic').model, messages: hello }));
    expect(error).toMatchObject({ status: 502, code: 'provider_error' });
    expect(error.headers?.get('x-should-retry')).toBe('false');
    expect(mock.requests).toHaveLength(1);
  });

  it('a provider that failed (5xx) may still be retried by the client: no x-should-retry', async () => {
    const { client, modelOf } = await setUp();
    mock.failNext('anthropic', { status: 500 });
    const error = await failure(client.chat.completions.create({ model: modelOf('anthropic').model, messages: hello }));
    expect(error).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect(error.headers?.get('x-should-retry')).toBeNull();
  });

  it("byokit's own rate limit is a RateLimitError (429 rate_limited) with Retry-After", async () => {
    const { client } = await setUp({ rateLimit: { requestsPerMinute: 1 } });
    await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello });
    const error = await failure(client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.code).toBe('rate_limited');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a call over the budget is an APIError with status 402 (budget_exceeded, type insufficient_quota)', async () => {
    const { byokit, client } = await setUp();
    const budget = await call(byokit, 'PUT', `/admin/users/${alice.userId}/budget`, {
      principal: admin,
      body: { monthly_limit_usd: '0.000001', applies_to: 'all' },
    });
    expect(budget!.status).toBe(200);
    const error = await failure(client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }));
    expect(error).toMatchObject({ status: 402, code: 'budget_exceeded', type: 'insufficient_quota' });
    expect(mock.requests).toEqual([]);
  });

  it('a key the provider rejects is a BadRequestError saying whose key, and never echoes the key', async () => {
    const { byokit, client, modelOf } = await setUp({ environment: {} });
    const key = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });
    mock.rejectKeys.add(key);
    const error = await failure(client.chat.completions.create({ model: modelOf('openai').model, messages: hello }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'provider_key_rejected' });
    expect(error.message).toContain('your personal key');
    expect(findKeyLeaks([key], [['error', JSON.stringify({ message: error.message, error: error.error })]])).toEqual([]);
  });

  it.each([
    ['a temperature out of the provider’s range', { temperature: 5 }, 'temperature'],
    ['max_tokens over the model’s limit', { max_tokens: 10_000_000 }, 'max_tokens'],
    ['n other than 1', { n: 2 }, 'n'],
    ['a parameter byokit does not take', { tools: [] }, 'tools'],
    ['an SSRF-shaped field', { base_url: 'http://169.254.169.254/' }, 'base_url'],
    ['an image part', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x' } }] }] }, 'messages'],
    ['a tool message', { messages: [{ role: 'tool', content: 'x', tool_call_id: 'c' }] }, 'messages'],
    ['only system messages', { messages: [{ role: 'system', content: 'x' }] }, 'messages'],
    // The message count is capped (spec/security.md, "Resource consumption"): 2,001 tiny messages are within the body limit.
    ['more than 2,000 messages', { messages: Array.from({ length: 2_001 }, () => ({ role: 'user', content: 'x' })) }, 'messages'],
  ])('%s is an UnprocessableEntityError (422 validation_failed) naming the field', async (_name, change, param) => {
    const { client } = await setUp();
    const body = { model: 'claude-sonnet-4-5', messages: hello, ...change } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
    const error = await failure(client.chat.completions.create(body));
    expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(error).toMatchObject({ status: 422, code: 'validation_failed', type: 'invalid_request_error' });
    expect(error.param?.startsWith(param)).toBe(true);
    expect(mock.requests).toEqual([]);
  });

  it('max_completion_tokens over the model’s limit is named as sent (param max_completion_tokens), plain and streaming', async () => {
    const { client } = await setUp();
    for (const stream of [false, true]) {
      const body = { model: 'gpt-6-luna', messages: hello, max_completion_tokens: 10_000_000, stream };
      const error = await failure(client.chat.completions.create(body));
      expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      expect(error).toMatchObject({ status: 422, code: 'validation_failed', param: 'max_completion_tokens' });
      expect(error.message).toContain('writes at most');
    }
    expect(mock.requests).toEqual([]);
  });

  it('says plainly that only text content parts are taken', async () => {
    const { client } = await setUp();
    const error = await failure(
      client.chat.completions.create({
        model: 'claude-sonnet-4-5',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/x.png' } }] }],
      }),
    );
    expect(error.message).toContain('text content only');
  });

  it('an error after the stream began arrives in OpenAI’s shape, and the client throws it', async () => {
    const { client, modelOf } = await setUp();
    mock.streamErrorNext('openai');
    const stream = await client.chat.completions.create({ model: modelOf('openai').model, messages: hello, stream: true });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(seen.join('')).not.toBe('');
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'server_error',
      code: expect.stringMatching(/^provider_/),
    });
  });

  it('answers errors found before the route in OpenAI’s shape too: 413, 415, 400 bad JSON, 405', async () => {
    const { baseURL } = await setUp();
    const url = `${baseURL}/chat/completions`;
    const headers = { authorization: 'Bearer token-alice', 'content-type': 'application/json' };
    const answers = await Promise.all([
      fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'a'.repeat(3_000_000) }] }),
      }),
      fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: '{}' }),
      fetch(url, { method: 'POST', headers, body: '{"model":' }),
      fetch(url, { method: 'DELETE', headers }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([413, 415, 400, 405]);
    for (const answer of answers) {
      const body = (await answer.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    }
  });
});

describe('hostile input on the OpenAI-compatible surface (spec/security.md)', () => {
  it.each([
    [
      '__proto__ at the top',
      '{"__proto__": {"polluted": true}, "model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}',
      422,
    ],
    [
      'constructor in a message',
      '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi", "constructor": {"prototype": {"polluted": true}}}]}',
      422,
    ],
    [
      'base_url nested in stream_options',
      '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], "stream_options": {"base_url": "http://127.0.0.1:1"}}',
      422,
    ],
    ['max_tokens "100"', '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "100"}', 422],
    ['max_tokens -1', '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": -1}', 422],
    ['max_tokens 1e9', '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e9}', 422],
    ['a lone surrogate in content', '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "\\ud800"}]}', 422],
    [
      'a lone surrogate in stop',
      '{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], "stop": ["\\ud800"]}',
      422,
    ],
    ['JSON nested 100,000 deep', `{"model": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 400],

    ['a model name with ../', '{"model": "../../v1/messages", "messages": [{"role": "user", "content": "hi"}]}', 404],
    ['a model name with CRLF', '{"model": "claude-sonnet-4-5\\r\\nx-api-key: a", "messages": [{"role": "user", "content": "hi"}]}', 404],
  ])('%s: a clear error in OpenAI’s shape, nothing sent to a provider', async (_name, rawBody, status) => {
    const { byokit } = await setUp();
    const response = await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, rawBody });
    expect(response!.status).toBe(status);
    expect(Object.keys(response!.json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(mock.requests).toEqual([]);
  });

  it('a message of a million content parts (2 MiB): refused for their number, before any part is checked', async () => {
    const { byokit } = await setUp();
    const parts = Array(1_000_000).fill('1').join(',');
    const rawBody = `{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": [${parts}]}]}`;
    const response = await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, rawBody });
    expect(response!.status).toBe(422);
    expect(response!.json.error).toMatchObject({
      param: 'messages.0.content',
      message: expect.stringContaining('at most 100 content parts'),
    });
    expect(mock.requests).toEqual([]);
  });
});
