import { afterEach, describe, expect, it } from 'vitest';
import type { ByokitError } from '../../errors.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { SecretKey } from '../../keys/secret-key.js';
import { findKeyLeaks } from '../../testing/leak-check.js';
import { fixtureChunks, fixtureJson } from '../fixtures.js';
import type { ProviderChatRequest, ProviderStreamEvent } from '../provider-types.js';
import { MAX_EVENT_SIZE } from '../server-sent-events.js';
import { MAX_TOKEN_COUNT } from '../token-count.js';
import {
  collect,
  refusalCodesOfEveryCall,
  rejection,
  startReplayServer,
  type ReceivedRequest,
  type ReplayAnswer,
  type ReplayServer,
} from '../replay-server.js';
import { openaiClient } from './openai-client.js';
import { ModelCatalog } from '../../catalog/catalog.js';
import { costOf } from '../../metering/cost.js';

const key = fakeProviderKey('openai');
const options = { key: new SecretKey('openai', key) };

const request: ProviderChatRequest = {
  model: 'gpt-4.1-nano',
  messages: [
    { role: 'system', content: 'You are a holiday inventor.' },
    { role: 'user', content: 'Invent a new holiday and describe its traditions.' },
  ],
  maxTokens: 1000,
  temperature: 0.7,
  topP: 0.9,
  stop: ['THE END'],
};

const completionFixture = fixtureJson('openai/openai-text.json') as {
  choices: Array<{ message: { content: string | null } }>;
  usage?: unknown;
};
const streamFixture = fixtureChunks('openai/openai-text.chunks.txt');
/** The answer the recorded stream spells out, delta by delta (the first chunk's content is empty). */
const streamedText = streamFixture
  .map((line) => (JSON.parse(line) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
  .join('');

let servers: ReplayServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

// GPT-5.6 and later bill cache writes above the input price and report them beside the reads
// (https://developers.openai.com/api/docs/guides/prompt-caching). Read as input, they would be under-billed.
const cacheWriting = {
  prompt_tokens: 100_000,
  completion_tokens: 1_000,
  total_tokens: 101_000,
  prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 90_000, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
};
const cacheWritingUsage = { inputTokens: 100_000, outputTokens: 1_000, cachedInputTokens: 0, cacheWriteTokens: 90_000, reasoningTokens: 0 };

/** OpenAI's answer to a call from a country it does not serve, whatever the key. */
const unsupportedRegion = {
  error: {
    code: 'unsupported_country_region_territory',
    message: 'Country, region, or territory not supported',
    param: null,
    type: 'request_forbidden',
  },
};

/** A fake OpenAI at `<origin>/v1`, the OpenAI SDK's meaning of the base URL, and a client pointed at it. */
async function fakeOpenAI(answer: ReplayAnswer | ((request: ReceivedRequest) => ReplayAnswer)) {
  const server = await startReplayServer(answer);
  servers.push(server);
  return { server, client: openaiClient({ baseUrl: `${server.origin}/v1` }) };
}

/** The key, or any 8-character piece of it, in any form, anywhere in what left the process or came back. */
function leaksIn(...texts: Array<[string, unknown]>) {
  return findKeyLeaks(
    [key],
    texts.map(([where, value]) => [where, typeof value === 'string' ? value : JSON.stringify(value)] as const),
  );
}

function errorText(error: ByokitError): string {
  return JSON.stringify({ message: error.message, details: error.details, cause: String(error.cause) });
}

const lastEvent = (events: ProviderStreamEvent[]) => events.at(-1);

describe('openaiClient().complete()', () => {
  it('sends one POST to /v1/chat/completions with max_completion_tokens and the key only in the Authorization header', async () => {
    const { server, client } = await fakeOpenAI({ json: completionFixture });
    await client.complete(request, options);

    expect(server.requests).toHaveLength(1);
    const [sent] = server.requests as [ReceivedRequest];
    expect(sent.method).toBe('POST');
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${key}`);
    expect(sent.headers['content-type']).toMatch(/^application\/json/);
    expect(sent.body).toStrictEqual({
      model: 'gpt-4.1-nano',
      messages: [
        { role: 'system', content: 'You are a holiday inventor.' },
        { role: 'user', content: 'Invent a new holiday and describe its traditions.' },
      ],
      max_completion_tokens: 1000,
      temperature: 0.7,
      top_p: 0.9,
      stop: ['THE END'],
      stream: false,
    });
    expect(leaksIn(['url', sent.url], ['body', sent.body])).toEqual([]);
  });

  it('returns the recorded answer: its text, finish reason and usage', async () => {
    const { client } = await fakeOpenAI({ json: completionFixture });
    const answer = await client.complete(request, options);

    expect(answer).toEqual({
      id: 'chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU',
      model: 'gpt-4.1-nano-2025-04-14',
      content: completionFixture.choices[0]?.message.content,
      finishReason: 'stop',
      usage: { inputTokens: 16, outputTokens: 363, cachedInputTokens: 0, reasoningTokens: 0 },
    });
    expect(answer.content).toMatch(/^\*\*Holiday Name:\*\* Galaxy Day/);
  });

  it('counts cached tokens inside the input and reasoning tokens inside the output, as OpenAI does', async () => {
    const usage = {
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0 },
    };
    const { client } = await fakeOpenAI({ json: { ...completionFixture, usage } });

    const answer = await client.complete(request, options);

    // Not 2006 + 1920, not 300 + 192: OpenAI's totals already include the details.
    expect(answer.usage).toStrictEqual({ inputTokens: 2006, outputTokens: 300, cachedInputTokens: 1920, reasoningTokens: 192 });
  });

  it('reports the prompt tokens OpenAI wrote to its cache, inside the input as OpenAI counts them', async () => {
    const { client } = await fakeOpenAI({ json: { ...completionFixture, usage: cacheWriting } });
    expect((await client.complete(request, options)).usage).toStrictEqual(cacheWritingUsage);
  });

  it('bills cache writes at the catalog’s cache-write price, not as plain input', async () => {
    const { client } = await fakeOpenAI({ json: { ...completionFixture, usage: cacheWriting } });
    const { usage } = await client.complete(request, options);
    const sol = ModelCatalog.create().byProviderModel('openai', 'gpt-6.2-sol')!;
    // 10,000 uncached × $2 + 90,000 written × $2.50 + 1,000 out × $10, per million (plain input would be 0.21).
    expect(costOf(usage, sol.pricing)?.costUsd).toBe('0.255');
  });

  it('fails with provider_error on a count past 2^29, whose sums a usage record could not hold', async () => {
    const usage = { prompt_tokens: MAX_TOKEN_COUNT + 1, completion_tokens: 1 };
    const { client } = await fakeOpenAI({ json: { ...completionFixture, usage } });
    const error = await rejection(client.complete(request, options));
    expect(error.code).toBe('provider_error');
  });

  it('reports counts OpenAI did not send as missing, not as 0', async () => {
    const { client: withoutUsage } = await fakeOpenAI({ json: { ...completionFixture, usage: undefined } });
    expect((await withoutUsage.complete(request, options)).usage).toStrictEqual({});

    const { client: withoutDetails } = await fakeOpenAI({
      json: { ...completionFixture, usage: { prompt_tokens: 16, completion_tokens: 363 } },
    });
    expect((await withoutDetails.complete(request, options)).usage).toStrictEqual({ inputTokens: 16, outputTokens: 363 });
  });

  it('reports counts sent as null (as OpenAI-compatible gateways send them) as missing, not as null', async () => {
    const usage = {
      prompt_tokens: 16,
      completion_tokens: 363,
      prompt_tokens_details: { cached_tokens: null, cache_write_tokens: null },
      completion_tokens_details: { reasoning_tokens: null },
    };
    const { client } = await fakeOpenAI({ json: { ...completionFixture, usage } });
    expect((await client.complete(request, options)).usage).toStrictEqual({ inputTokens: 16, outputTokens: 363 });
  });

  it('answers a refusal with its words and content_filter, not an empty answer that stopped', async () => {
    const refused = {
      ...completionFixture,
      choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' }, finish_reason: 'stop' }],
    };
    const { client } = await fakeOpenAI({ json: refused });

    expect(await client.complete(request, options)).toMatchObject({
      content: 'I cannot help with that.',
      finishReason: 'content_filter',
      usage: { inputTokens: 16, outputTokens: 363 },
    });
  });

  it('gives empty text and stop when OpenAI answers with null content and no refusal', async () => {
    const empty = {
      ...completionFixture,
      choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null }, finish_reason: 'stop' }],
    };
    const { client } = await fakeOpenAI({ json: empty });

    expect(await client.complete(request, options)).toMatchObject({ content: '', finishReason: 'stop' });
  });

  it('reports an error object answered with HTTP 200 (as some OpenAI-compatible gateways do) like the HTTP status', async () => {
    const { client } = await fakeOpenAI({
      json: { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } },
    });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_rate_limited');
    expect(error.message).toContain('Rate limit reached for requests');
  });

  it('refuses an answer it cannot read, without repeating the answer', async () => {
    const { client } = await fakeOpenAI({ json: { id: 'chatcmpl-1', model: 'gpt-4.1-nano', choices: `echo ${key}` } });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_error');
    expect(error.message).toContain('choices');
    expect(leaksIn(['error', errorText(error)])).toEqual([]);
    expect(error.message).not.toContain('echo');
  });
});

describe('openaiClient().stream()', () => {
  it('asks for a stream with usage in its last chunk, the key only in the Authorization header', async () => {
    const { server, client } = await fakeOpenAI({ events: streamFixture, done: true });
    await collect(await client.stream(request, options));

    expect(server.requests).toHaveLength(1);
    const [sent] = server.requests as [ReceivedRequest];
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${key}`);
    expect(sent.body).toStrictEqual({
      model: 'gpt-4.1-nano',
      messages: request.messages,
      max_completion_tokens: 1000,
      temperature: 0.7,
      top_p: 0.9,
      stop: ['THE END'],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(leaksIn(['url', sent.url], ['body', sent.body])).toEqual([]);
  });

  it('replays the recorded stream as 300 text deltas, then the usage of the last chunk, then the finish', async () => {
    const { client } = await fakeOpenAI({ events: streamFixture, done: true });
    const events = await collect(await client.stream(request, options));

    expect(events.map((event) => event.type)).toEqual([...Array<string>(300).fill('text'), 'usage', 'finish']);
    const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
    expect(text).toBe(streamedText);
    expect(text).toMatch(/^\*\*Holiday Name:\*\* Harmony Day\n\n/);
    expect(text).toMatch(/ respect\.$/);
    expect(events.at(-2)).toEqual({
      type: 'usage',
      usage: { inputTokens: 16, outputTokens: 300, cachedInputTokens: 0, reasoningTokens: 0 },
    });
    expect(lastEvent(events)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('still finishes, with usage, when the body ends without data: [DONE]', async () => {
    const { client } = await fakeOpenAI({ events: streamFixture, done: false });
    const events = await collect(await client.stream(request, options));

    expect(events.slice(-2).map((event) => event.type)).toEqual(['usage', 'finish']);
  });

  it('reads nothing after data: [DONE]: the finish is the last event, whatever follows it', async () => {
    const { client } = await fakeOpenAI({ events: [...streamFixture, '[DONE]', ...streamFixture.slice(1, 4)], done: false });
    const events = await collect(await client.stream(request, options));

    expect(events.map((event) => event.type)).toEqual([...Array<string>(300).fill('text'), 'usage', 'finish']);
    expect(lastEvent(events)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('reports cache writes from the last chunk’s usage', async () => {
    const last = JSON.parse(streamFixture.at(-1)!) as Record<string, unknown>;
    const events = [...streamFixture.slice(0, -1), JSON.stringify({ ...last, usage: cacheWriting })];
    const { client } = await fakeOpenAI({ events, done: true });
    const received = await collect(await client.stream(request, options));
    expect(received.find((event) => event.type === 'usage')).toEqual({ type: 'usage', usage: cacheWritingUsage });
  });

  it('streams a refusal as its words, in order, and finishes with content_filter after the usage', async () => {
    // The recorded stream with its answer written as a refusal: OpenAI sends the words in `delta.refusal`,
    // `content` stays null, and the finish reason is `stop`.
    const events = streamFixture.map((line) => {
      const chunk = JSON.parse(line) as { choices: Array<{ delta: Record<string, unknown> }> };
      for (const choice of chunk.choices) {
        const { content, ...rest } = choice.delta;
        choice.delta = typeof content === 'string' && content !== '' ? { ...rest, content: null, refusal: content } : rest;
      }
      return JSON.stringify(chunk);
    });
    const { client } = await fakeOpenAI({ events, done: true });
    const received = await collect(await client.stream(request, options));

    expect(received.map((event) => (event.type === 'text' ? event.text : '')).join('')).toBe(streamedText);
    expect(received.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 16, outputTokens: 300, cachedInputTokens: 0, reasoningTokens: 0 } },
      { type: 'finish', finishReason: 'content_filter' },
    ]);
  });

  it('reports an answer cut off before its finish reason as an error', async () => {
    const { client } = await fakeOpenAI({ events: streamFixture.slice(0, 10), done: false });
    const events = await collect(await client.stream(request, options));

    expect(events.filter((event) => event.type === 'text')).toHaveLength(9);
    expect(lastEvent(events)).toMatchObject({ type: 'error', error: { code: 'provider_error' } });
    expect(events.some((event) => event.type === 'finish')).toBe(false);
  });

  it.each([
    [
      'a server error',
      {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      },
      'provider_unavailable',
    ],
    [
      'a rate limit',
      { message: 'Rate limit reached for gpt-4.1-nano on tokens per min (TPM).', type: 'tokens', param: null, code: 'rate_limit_exceeded' },
      'provider_rate_limited',
    ],
    [
      'a refused key',
      { message: 'Incorrect API key provided: sk-proj-****abcd.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      'provider_key_rejected',
    ],
    [
      'an account out of credit',
      {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
      'provider_key_rejected',
    ],
    [
      'any other error',
      { message: 'Something else went wrong.', type: 'invalid_request_error', param: null, code: null },
      'provider_error',
    ],
    // OpenAI-compatible gateways put the HTTP status itself in `code`.
    [
      'a gateway’s timeout, its status 408 as the code',
      { message: 'Request timed out.', type: null, param: null, code: 408 },
      'provider_timeout',
    ],
    [
      'a gateway’s failure, its status 503 as the code',
      { message: 'Upstream unavailable.', type: null, param: null, code: 503 },
      'provider_unavailable',
    ],
  ])('ends with an error event when OpenAI sends %s inside the stream', async (_name, error, code) => {
    const events = [...streamFixture.slice(0, 5), JSON.stringify({ error }), ...streamFixture.slice(5)];
    const { client } = await fakeOpenAI({ events, done: true });

    const received = await collect(await client.stream(request, options));

    // The four deltas before the error, then the error, and nothing after it.
    expect(received.map((event) => event.type)).toEqual(['text', 'text', 'text', 'text', 'error']);
    const last = lastEvent(received);
    if (last?.type !== 'error') throw new Error('expected an error event');
    expect(last.error.code).toBe(code);
    expect(last.error.details.provider).toBe('openai');
    expect(last.error.message).toContain(error.message.replace('sk-proj-****abcd', '[redacted]'));
    expect(last.error.message).not.toContain('****abcd');
  });

  it.each([
    ['an event that is not JSON', 'this is not json'],
    ['a chunk of the wrong shape', JSON.stringify({ choices: [{ index: 0, delta: { content: 42 } }] })],
  ])('ends with an error event, not an exception, on %s', async (_name, bad) => {
    const { client } = await fakeOpenAI({ events: [...streamFixture.slice(0, 3), bad, ...streamFixture.slice(3)], done: true });

    const received = await collect(await client.stream(request, options));

    expect(received.map((event) => event.type)).toEqual(['text', 'text', 'error']);
    expect(lastEvent(received)).toMatchObject({ type: 'error', error: { code: 'provider_error' } });
    expect(JSON.stringify(lastEvent(received))).not.toContain('this is not json');
  });

  it('ends with an error event when one event grows past the size cap without ending', async () => {
    const { client } = await fakeOpenAI({ raw: `data: ${streamFixture[1]}\n\ndata: {"choices":"${'x'.repeat(MAX_EVENT_SIZE)}` });

    const received = await collect(await client.stream(request, options));

    expect(received.map((event) => event.type)).toEqual(['text', 'error']);
    expect(lastEvent(received)).toMatchObject({
      type: 'error',
      // Named, as every other failure of a provider is: it read "The provider sent an event larger than …".
      error: {
        code: 'provider_error',
        message: `The OpenAI API sent an event larger than ${MAX_EVENT_SIZE} characters; the stream was cut off.`,
      },
    });
  });

  it('cancels the upstream request when the consumer leaves the loop early, and does not wait for the whole answer', async () => {
    const { server, client } = await fakeOpenAI({ events: streamFixture, done: true, gapMs: 5 });
    const texts: string[] = [];

    for await (const event of await client.stream(request, options)) {
      if (event.type === 'text') texts.push(event.text);
      if (texts.length === 3) break;
    }

    expect(texts).toEqual(['**', 'Holiday', ' Name']);
    // 'aborted' only if the server had not finished sending (1.5 s of events) when the client went away.
    expect(await server.ended).toBe('aborted');
  });

  it('cancels the upstream request at an error event mid-stream: the provider is not left sending the rest', async () => {
    const error = { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null };
    const events = [...streamFixture.slice(0, 5), JSON.stringify({ error }), ...streamFixture.slice(5)];
    const { server, client } = await fakeOpenAI({ events, done: true, gapMs: 5 });

    const received = await collect(await client.stream(request, options));

    expect(received.map((event) => event.type)).toEqual(['text', 'text', 'text', 'text', 'error']);
    // 'aborted' only if the server had not finished sending (1.5 s of events) when the client went away.
    expect(await server.ended).toBe('aborted');
  });

  it('aborts the upstream request when the caller aborts the signal mid-stream', async () => {
    const { server, client } = await fakeOpenAI({ events: streamFixture, done: true, gapMs: 5 });
    const controller = new AbortController();
    const events = await client.stream(request, { ...options, signal: controller.signal });
    let texts = 0;

    const iteration = (async () => {
      for await (const event of events) {
        if (event.type === 'text' && ++texts === 3) controller.abort();
      }
    })();

    // The abort is thrown as is, so an aborted answer is never taken for a finished one.
    await expect(iteration).rejects.toMatchObject({ name: 'AbortError' });
    expect(await server.ended).toBe('aborted');
    expect(texts).toBe(3);
  });
});

describe('openaiClient() upstream errors', () => {
  it("passes on OpenAI's message when it refuses a request (the recorded max_tokens refusal, HTTP 400)", async () => {
    const { client } = await fakeOpenAI({ json: fixtureJson('openai/reasoning-model-legacy-parameter-error.json'), status: 400 });

    for (const call of [client.complete(request, options), client.stream(request, options)]) {
      const error = await rejection(call);
      expect(error.code).toBe('provider_error');
      expect(error.status).toBe(502);
      expect(error.message).toContain(
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      );
    }
  });

  it('reports a refused key (HTTP 401) with the masked key OpenAI echoes scrubbed out', async () => {
    const body = {
      error: {
        message: 'Incorrect API key provided: sk-proj-****abcd. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    };
    const { client } = await fakeOpenAI({ json: body, status: 401 });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_key_rejected');
    expect(error.message).toContain('Incorrect API key provided: [redacted].');
    expect(error.message).not.toContain('****abcd');
    expect(leaksIn(['error', errorText(error)])).toEqual([]);
  });

  it('reports a rate limit (HTTP 429) with the Retry-After delay, without retrying', async () => {
    const body = { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } };
    const { server, client } = await fakeOpenAI({ json: body, status: 429, headers: { 'retry-after': '7' } });

    const error = await rejection(client.stream(request, options));

    expect(error.code).toBe('provider_rate_limited');
    expect(error.details.retryAfterSeconds).toBe(7);
    expect(server.requests).toHaveLength(1);
  });

  // The OpenAI and Anthropic SDKs read `retry-after-ms` first and take decimal seconds in `retry-after`; Azure
  // OpenAI (an OpenAI-compatible base URL) sends the delay in milliseconds.
  it.each([
    ['retry-after-ms alone', { 'retry-after-ms': '2500' }, 2.5],
    ['retry-after-ms before a coarser retry-after', { 'retry-after-ms': '1200', 'retry-after': '7' }, 1.2],
    ['decimal seconds in retry-after', { 'retry-after': '2.5' }, 2.5],
  ])('reports a rate limit with the delay the provider gave in %s', async (_what, headers, seconds) => {
    const body = { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } };
    const { client } = await fakeOpenAI({ json: body, status: 429, headers });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_rate_limited');
    expect(error.details.retryAfterSeconds).toBe(seconds);
  });

  // OpenAI answers an account without credit with 429 too, but waiting does not help: its owner must pay.
  it('reports HTTP 429 insufficient_quota as the key refused, not as a rate limit to wait out', async () => {
    const body = {
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    };
    const { client } = await fakeOpenAI({ json: body, status: 429 });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_key_rejected');
    expect(error.message).toBe(
      'The OpenAI API refused the key: You exceeded your current quota, please check your plan and billing details.',
    );
    expect(error.details.retryAfterSeconds).toBeUndefined();
  });

  // An account whose billing is not set up or was cancelled: OpenAI says 429 `billing_not_active` (as its type, and
  // as its code or with a null code: BerriAI/litellm#2743, Chanzhaoyu/chatgpt-web#1273). Waiting never helps.
  it.each([
    ['billing_not_active', 'billing_not_active'],
    ['billing_not_active', null],
  ])('reports HTTP 429 type %s (code %s) as the key refused, not as a rate limit to wait out', async (type, code) => {
    const message = 'Your account is not active, please check your billing details on our website.';
    const { client } = await fakeOpenAI({ json: { error: { message, type, param: null, code } }, status: 429 });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_key_rejected');
    expect(error.message).toBe(`The OpenAI API refused the key: ${message}`);
  });

  // OpenAI refuses calls from a server in a country it does not serve with 403 (home-assistant/core#120072,
  // songquanpeng/one-api#1692): about where byokit runs, not about the key, which works from elsewhere.
  it('reports HTTP 403 unsupported_country_region_territory as a refused request, not as a refused key', async () => {
    const { client } = await fakeOpenAI({ json: unsupportedRegion, status: 403 });

    for (const call of [client.complete(request, options), client.stream(request, options)]) {
      const error = await rejection(call);
      expect(error.code).toBe('provider_error');
      expect(error.status).toBe(502);
      expect(error.message).toBe(
        'The OpenAI API refuses calls from where this server runs (HTTP 403): Country, region, or territory not supported.',
      );
      // Answered with x-should-retry: false: the same call from the same server is refused again.
      expect(error.details.retryable).toBe(false);
    }
  });

  // A project's key without access to one model gets 403 model_not_found for it (continuedev/continue#10120,
  // Aider-AI/aider#1903), and works for the others: as a refused key it would tell a user to replace a working key.
  it("reports HTTP 403 model_not_found (a model the key's project may not use) as a refused request, not as a refused key", async () => {
    const message = 'Project `proj_JMo3Q9spNIEWhSxusokLegJY` does not have access to model `gpt-4.1-2025-04-14`';
    const { client } = await fakeOpenAI({
      json: { error: { message, type: 'invalid_request_error', param: null, code: 'model_not_found' } },
      status: 403,
    });

    for (const call of [client.complete(request, options), client.stream(request, options)]) {
      const error = await rejection(call);
      expect([error.code, error.status, error.details.retryable]).toEqual(['provider_error', 502, false]);
      expect(error.message).toBe(`The OpenAI API does not let this key use the model (HTTP 403): ${message}.`);
    }
  });

  it.each([500, 503])('reports HTTP %i as the provider being unavailable', async (status) => {
    const body = {
      error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
    };
    const { client } = await fakeOpenAI({ json: body, status });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_unavailable');
    expect(error.message).toContain('Sorry about that!');
  });

  // ProviderHttp retries 5xx itself: one retry by default.
  it.each([500, 503])('retries HTTP %i once before giving up', async (status) => {
    const { server, client } = await fakeOpenAI({ json: { error: { message: 'overloaded', type: 'server_error' } }, status });

    await rejection(client.complete(request, options));

    expect(server.requests).toHaveLength(2);
  });

  it('refuses a redirect instead of following it with the key', async () => {
    const elsewhere = await fakeOpenAI({ json: completionFixture });
    const { server, client } = await fakeOpenAI({
      json: {},
      status: 307,
      headers: { location: `${elsewhere.server.origin}/v1/chat/completions` },
    });

    const error = await rejection(client.complete(request, options));

    expect(error.code).toBe('provider_error');
    expect(error.message).toContain('redirect');
    expect(server.requests).toHaveLength(1);
    expect(elsewhere.server.requests).toHaveLength(0);
  });

  it('never sends a key of another provider to OpenAI', async () => {
    const { server, client } = await fakeOpenAI({ json: completionFixture });
    const anthropicKey = { key: new SecretKey('anthropic', fakeProviderKey('anthropic')) };
    expect(await refusalCodesOfEveryCall(client, request, anthropicKey)).toEqual(['internal_error', 'internal_error', 'internal_error']);
    expect(server.requests).toHaveLength(0);
  });
});

describe('openaiClient().checkKey()', () => {
  it('lists models with GET /v1/models and the key in the Authorization header: 200 means valid', async () => {
    const { server, client } = await fakeOpenAI({
      json: { object: 'list', data: [{ id: 'gpt-4.1-nano', object: 'model', owned_by: 'system' }] },
    });

    expect(await client.checkKey(options)).toBe('valid');
    const [sent] = server.requests as [ReceivedRequest];
    expect(sent.method).toBe('GET');
    expect(sent.url).toBe('/v1/models');
    expect(sent.headers.authorization).toBe(`Bearer ${key}`);
  });

  it('says invalid when OpenAI refuses the key', async () => {
    const body = {
      error: { message: 'Incorrect API key provided: sk-proj-****abcd.', type: 'invalid_request_error', code: 'invalid_api_key' },
    };
    const { client } = await fakeOpenAI({ json: body, status: 401 });

    expect(await client.checkKey(options)).toBe('invalid');
  });

  it('cannot tell for a restricted key that may chat but not list models', async () => {
    const body = {
      error: {
        message:
          "You have insufficient permissions for this operation. Missing scopes: api.model.read. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a restricted API key, that it has the necessary scopes.",
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    };
    const { client } = await fakeOpenAI({ json: body, status: 401 });

    expect(await client.checkKey(options)).toBe('unreachable');
  });

  it('cannot tell when OpenAI refuses calls from the country this server is in', async () => {
    const { client } = await fakeOpenAI({ json: unsupportedRegion, status: 403 });

    await expect(client.checkKey(options)).rejects.toMatchObject({ code: 'provider_error' });
  });

  it('cannot tell when OpenAI fails', async () => {
    const { client } = await fakeOpenAI({ json: { error: { message: 'Service unavailable', type: 'server_error' } }, status: 503 });

    await expect(client.checkKey(options)).rejects.toMatchObject({ code: 'provider_unavailable' });
  });
});
