import { afterEach, describe, expect, it } from 'vitest';
import type { ByokitError } from '../../errors.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { SecretKey } from '../../keys/secret-key.js';
import { fixtureChunks, fixtureJson } from '../fixtures.js';
import type { ProviderChatRequest, ProviderClient, ProviderStreamEvent } from '../provider-types.js';
import { collect, refusalCodesOfEveryCall, rejection, startReplayServer, type ReplayAnswer, type ReplayServer } from '../replay-server.js';
import { GOOGLE_LIMITS, googleClient, googleModelPath } from './google-client.js';

const key = fakeProviderKey('google');
const options = (signal?: AbortSignal) => ({ key: new SecretKey('google', key), ...(signal && { signal }) });

const request: ProviderChatRequest = {
  model: 'gemini-3-pro-preview',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'system', content: 'Answer in English.' },
    { role: 'user', content: 'How many r are in strawberry?' },
    { role: 'assistant', content: 'Let me count.' },
    { role: 'user', content: 'Go on.' },
    { role: 'user', content: 'Please.' },
  ],
  maxTokens: 1024,
  temperature: 0.7,
  topP: 0.9,
  stop: ['END'],
};

/** What Gemini must receive for `request` (https://ai.google.dev/api/generate-content#request-body). */
const expectedBody = {
  systemInstruction: { parts: [{ text: 'You are terse.\n\nAnswer in English.' }] },
  contents: [
    { role: 'user', parts: [{ text: 'How many r are in strawberry?' }] },
    { role: 'model', parts: [{ text: 'Let me count.' }] },
    { role: 'user', parts: [{ text: 'Go on.' }, { text: 'Please.' }] },
  ],
  generationConfig: { maxOutputTokens: 1024, temperature: 0.7, topP: 0.9, stopSequences: ['END'] },
};

/** Google's answer to a wrong key: HTTP 400 INVALID_ARGUMENT, reason API_KEY_INVALID, and a DebugInfo echoing the key. */
const apiKeyInvalid = {
  error: {
    code: 400,
    message: 'API key not valid. Please pass a valid API key.',
    status: 'INVALID_ARGUMENT',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: 'API_KEY_INVALID',
        domain: 'googleapis.com',
        metadata: { service: 'generativelanguage.googleapis.com' },
      },
      { '@type': 'type.googleapis.com/google.rpc.DebugInfo', detail: `Invalid API key: ${key}` },
    ],
  },
};

let servers: ReplayServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function replay(
  answer: ReplayAnswer | ((request: { url: string }) => ReplayAnswer),
): Promise<{ server: ReplayServer; client: ProviderClient }> {
  const server = await startReplayServer(answer);
  servers.push(server);
  return { server, client: googleClient({ baseUrl: server.origin, retries: 0 }) };
}

function expectNoKeyIn(error: ByokitError): void {
  expect(error.message).not.toContain(key);
  expect(JSON.stringify(error)).not.toContain(key);
  expect(error.message).not.toContain(key.slice(4, 12));
}

const streamOf = (fixture: string): ReplayAnswer => ({ events: fixtureChunks(fixture) });

describe('googleClient().complete', () => {
  it('posts the conversation to :generateContent, with system text, role model and the generation settings', async () => {
    const { server, client } = await replay({ json: fixtureJson('google/google-text.json') });
    await client.complete(request, options());
    expect(server.requests).toHaveLength(1);
    const [sent] = server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.url).toBe('/v1beta/models/gemini-3-pro-preview:generateContent');
    expect(sent?.headers['content-type']).toMatch(/^application\/json/);
    expect(sent?.body).toEqual(expectedBody);
  });

  it('sends the key only in x-goog-api-key, never in the URL', async () => {
    const { server, client } = await replay({ json: fixtureJson('google/google-text.json') });
    await client.complete(request, options());
    const [sent] = server.requests;
    expect(sent?.headers['x-goog-api-key']).toBe(key);
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.url).not.toContain('key=');
    expect(sent?.url).not.toContain(key);
    expect(JSON.stringify(sent?.body)).not.toContain(key);
  });

  it('returns the answer with STOP as stop and thinking counted as output (google-text.json)', async () => {
    const { client } = await replay({ json: fixtureJson('google/google-text.json') });
    expect(await client.complete(request, options())).toEqual({
      id: 'Un6LacrVMcjUxs0PmJfWoQc',
      model: 'gemini-3-pro-preview',
      content: "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.",
      finishReason: 'stop',
      // output = candidatesTokenCount 28 + thoughtsTokenCount 244; reasoning = thoughts.
      usage: { inputTokens: 9, outputTokens: 272, reasoningTokens: 244 },
    });
  });

  it('reports reasoning tokens as a part of the output (google-reasoning.json)', async () => {
    const { client } = await replay({ json: fixtureJson('google/google-reasoning.json') });
    const answer = await client.complete(request, options());
    expect(answer.content).toBe('There are **3** "r"s in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.');
    expect(answer.usage).toEqual({ inputTokens: 9, outputTokens: 29 + 282, reasoningTokens: 282 });
  });

  it('reports cached prompt tokens as a part of the input, and leaves unreported counts undefined', async () => {
    const { client } = await replay({
      json: {
        candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 2000, cachedContentTokenCount: 1500, candidatesTokenCount: 1, totalTokenCount: 2001 },
      },
    });
    const answer = await client.complete(request, options());
    expect(answer.usage).toEqual({ inputTokens: 2000, cachedInputTokens: 1500, outputTokens: 1 });
    expect(answer.usage.reasoningTokens).toBeUndefined();
  });

  it('adds counts up to 2^29 exactly into the output, and fails with provider_error on a count past it', async () => {
    const counting = (count: number) => ({
      json: {
        candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 1, candidatesTokenCount: count, thoughtsTokenCount: count },
      },
    });
    const largest = await (await replay(counting(2 ** 29))).client.complete(request, options());
    expect(largest.usage.outputTokens).toBe(2 * 2 ** 29);
    // What a usage record's integer columns take (PostgreSQL's integer, 2^31 - 1): why the limit is 2^29 (docs/security.md).
    expect(largest.usage.outputTokens).toBeLessThanOrEqual(2 ** 31 - 1);
    const error = await rejection((await replay(counting(2 ** 29 + 1))).client.complete(request, options()));
    expect(error.code).toBe('provider_error');
  });

  it('leaves thought summaries out of the answer text', async () => {
    const { client } = await replay({
      json: {
        candidates: [
          {
            content: { role: 'model', parts: [{ text: 'Counting the letters…', thought: true }, { text: 'Three.' }] },
            finishReason: 'STOP',
          },
        ],
      },
    });
    expect((await client.complete(request, options())).content).toBe('Three.');
  });

  it('ends with length when Gemini hit maxOutputTokens', async () => {
    const { client } = await replay({
      json: { candidates: [{ content: { parts: [{ text: 'There are' }] }, finishReason: 'MAX_TOKENS' }] },
    });
    expect(await client.complete(request, options())).toMatchObject({ content: 'There are', finishReason: 'length', usage: {} });
  });

  // Gemini 4 Argon writes at most 32,768 tokens in a non-streaming REST answer (65,536 streamed) whatever
  // maxOutputTokens asks; with budget left it ends with CONTINUATION and a token to resume from
  // (https://ai.google.dev/gemini-api/docs/generate-content/long-decode), which byokit does not resume: the answer is
  // cut at an output limit, as with MAX_TOKENS.
  it('ends with length when Gemini 4 stopped at its per-request output limit (CONTINUATION)', async () => {
    const { client } = await replay({
      json: {
        candidates: [
          { content: { parts: [{ text: 'Part one' }] }, finishReason: 'CONTINUATION', continuationToken: 'opaque-resume-token' },
        ],
      },
    });
    expect(await client.complete({ ...request, model: 'gemini-4-argon', maxTokens: 40_000 }, options())).toMatchObject({
      content: 'Part one',
      finishReason: 'length',
    });
  });

  it('ends with error, not stop, when the candidate came without a finishReason', async () => {
    const { client } = await replay({ json: { candidates: [{ content: { parts: [{ text: 'There are' }] } }] } });
    expect(await client.complete(request, options())).toMatchObject({ content: 'There are', finishReason: 'error' });
  });

  it('answers a prompt Google blocked with content_filter and no text', async () => {
    const { client } = await replay({
      json: { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } },
    });
    expect(await client.complete(request, options())).toMatchObject({
      content: '',
      finishReason: 'content_filter',
      usage: { inputTokens: 7 },
    });
  });

  it('turns an answer it cannot read into provider_error without repeating it', async () => {
    const { client } = await replay({ json: { candidates: [{ content: { parts: [{ text: 42 }] } }], secretish: 'do-not-echo' } });
    const error = await rejection(client.complete(request, options()));
    expect(error.code).toBe('provider_error');
    expect(JSON.stringify(error)).not.toContain('do-not-echo');
    expect(error.message).not.toContain('42');

    const { client: broken } = await replay({ raw: '{"candidates": [', headers: { 'content-type': 'application/json' } });
    expect((await rejection(broken.complete(request, options()))).code).toBe('provider_error');
  });
});

describe('googleClient().stream', () => {
  it('posts to :streamGenerateContent?alt=sse with the key only in x-goog-api-key', async () => {
    const { server, client } = await replay(streamOf('google/google-text.chunks.txt'));
    await collect(await client.stream(request, options()));
    const [sent] = server.requests;
    expect(sent?.url).toBe('/v1beta/models/gemini-3-pro-preview:streamGenerateContent?alt=sse');
    expect(sent?.headers['x-goog-api-key']).toBe(key);
    expect(sent?.url).not.toContain('key=');
    expect(sent?.body).toEqual(expectedBody);
  });

  it('emits each chunk’s running usage (replaced, never summed) before its text, and the finish last (google-text.chunks.txt)', async () => {
    const { client } = await replay(streamOf('google/google-text.chunks.txt'));
    expect(await collect(await client.stream(request, options()))).toEqual([
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 5 + 185, reasoningTokens: 185 } },
      { type: 'text', text: 'There are **3**' },
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 23 + 185, reasoningTokens: 185 } },
      { type: 'text', text: ' "r"s in strawberry.\n\nst**r**awbe**rr**y' },
      // The last chunk has only an empty text part (with a thoughtSignature): no text event.
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 23 + 185, reasoningTokens: 185 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('counts thinking as output and as reasoning in every usage event (google-reasoning.chunks.txt)', async () => {
    const { client } = await replay(streamOf('google/google-reasoning.chunks.txt'));
    expect(await collect(await client.stream(request, options()))).toEqual([
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 10 + 256, reasoningTokens: 256 } },
      { type: 'text', text: 'There are **3** "r"s in' },
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 29 + 256, reasoningTokens: 256 } },
      { type: 'text', text: ' strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.' },
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 29 + 256, reasoningTokens: 256 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('skips thought summaries in streamed text', async () => {
    const { client } = await replay({
      events: [
        JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Let me think', thought: true }] } }] }),
        JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Three.' }] }, finishReason: 'STOP' }] }),
      ],
    });
    expect(await collect(await client.stream(request, options()))).toEqual([
      { type: 'text', text: 'Three.' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('finishes a stream Google blocked at the prompt with content_filter and no text', async () => {
    const { client } = await replay({
      events: [JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } })],
    });
    expect(await collect(await client.stream(request, options()))).toEqual([
      { type: 'usage', usage: { inputTokens: 4 } },
      { type: 'finish', finishReason: 'content_filter' },
    ]);
  });

  it('turns a malformed event into an error event and stops there, without throwing', async () => {
    const [first, ...rest] = fixtureChunks('google/google-text.chunks.txt');
    const { client } = await replay({ events: [first!, '{"candidates": [', ...rest] });
    const events = await collect(await client.stream(request, options()));
    expect(events.map((event) => event.type)).toEqual(['usage', 'text', 'error']);
    const last = events.at(-1);
    expect(last?.type === 'error' && last.error.code).toBe('provider_error');
  });

  it('turns an event of the wrong shape into an error event', async () => {
    const { client } = await replay({ events: [JSON.stringify({ usageMetadata: { promptTokenCount: 'nine' } })] });
    const events = await collect(await client.stream(request, options()));
    expect(events).toHaveLength(1);
    expect(events[0]?.type === 'error' && events[0].error.code).toBe('provider_error');
  });

  it('passes on an error Google sends mid-stream after HTTP 200, mapped by its code', async () => {
    const [first] = fixtureChunks('google/google-text.chunks.txt');
    const overloaded = { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } };
    const { client } = await replay({ events: [first!, JSON.stringify(overloaded)] });
    const events = await collect(await client.stream(request, options()));
    expect(events.map((event) => event.type)).toEqual(['usage', 'text', 'error']);
    const last = events.at(-1);
    expect(last?.type === 'error' && last.error.code).toBe('provider_unavailable');
  });

  // spec/security.md, hostile inputs: an upstream SSE line too large is capped, aborted, a clean error; as the
  // Anthropic and OpenAI clients' tests check it for theirs.
  it('cuts off an event over the 1 MB limit with an error event and aborts the upstream request', async () => {
    const lines = fixtureChunks('google/google-text.chunks.txt');
    const huge = JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'a'.repeat(1_100_000) }] } }] });
    const { server, client } = await replay({ events: [lines[0]!, huge, ...lines.slice(1)], gapMs: 50 });
    const events = await collect(await client.stream(request, options()));
    expect(events.map((event) => event.type)).toEqual(['usage', 'text', 'error']);
    const last = events.at(-1);
    expect(last?.type === 'error' && [last.error.code, last.error.message]).toEqual([
      'provider_error',
      expect.stringContaining('larger than'),
    ]);
    expect(await server.ended).toBe('aborted');
  });

  // Gemini sends the finishReason with the last usage today; nothing in the API promises no chunk after it.
  it('still finishes as the finishReason said when a chunk without one follows it (a usage alone)', async () => {
    const usageAlone = JSON.stringify({ usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 23, thoughtsTokenCount: 185 } });
    const { client } = await replay({ events: [...fixtureChunks('google/google-text.chunks.txt'), usageAlone] });
    const events = await collect(await client.stream(request, options()));
    expect(events.slice(-2)).toEqual([
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 23 + 185, reasoningTokens: 185 } },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('reports a stream that ends before a finishReason as an error, not as a finished answer', async () => {
    const [first] = fixtureChunks('google/google-text.chunks.txt');
    const { client } = await replay({ events: [first!] });
    const events = await collect(await client.stream(request, options()));
    expect(events.map((event) => event.type)).toEqual(['usage', 'text', 'error']);
  });

  it('cancels the upstream request when the caller leaves the loop early', async () => {
    const chunks = fixtureChunks('google/google-text.chunks.txt');
    const { server, client } = await replay({ events: [chunks[0]!, chunks[1]!, chunks[1]!, chunks[1]!, chunks[2]!], gapMs: 200 });
    const seen: ProviderStreamEvent[] = [];
    for await (const event of await client.stream(request, options())) {
      seen.push(event);
      if (event.type === 'text') break;
    }
    expect(seen).toEqual([
      { type: 'usage', usage: { inputTokens: 9, outputTokens: 5 + 185, reasoningTokens: 185 } },
      { type: 'text', text: 'There are **3**' },
    ]);
    expect(await server.ended).toBe('aborted');
  });

  it('cancels the upstream request when the caller aborts mid-stream, and throws the abort (never a finish)', async () => {
    const chunks = fixtureChunks('google/google-text.chunks.txt');
    const { server, client } = await replay({ events: [chunks[0]!, chunks[1]!, chunks[1]!, chunks[1]!, chunks[2]!], gapMs: 200 });
    const controller = new AbortController();
    const seen: ProviderStreamEvent[] = [];
    const reading = (async () => {
      for await (const event of await client.stream(request, options(controller.signal))) {
        seen.push(event);
        if (event.type === 'text') controller.abort();
      }
    })();
    // The abort is thrown as is, as by the other providers' clients, so an aborted answer is never taken for a finished one.
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen.slice(0, 2).map((event) => event.type)).toEqual(['usage', 'text']);
    expect(seen.map((event) => event.type)).not.toContain('error');
    expect(seen.map((event) => event.type)).not.toContain('finish');
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(await server.ended).toBe('aborted');
  });
});

describe('errors from the Gemini API', () => {
  it('maps 429 RESOURCE_EXHAUSTED to provider_rate_limited with the RetryInfo delay rounded up (34.4s → 35)', async () => {
    const { client } = await replay({ json: fixtureJson('google/google-429-retry-info.json'), status: 429 });
    const error = await rejection(client.complete(request, options()));
    expect(error.code).toBe('provider_rate_limited');
    expect(error.details).toEqual({ provider: 'google', retryAfterSeconds: 35 });
    expect(error.message).toContain('You exceeded your current quota');
  });

  // docs/http-api.md: the delay is read from the headers first, "else from Gemini's RetryInfo".
  it('takes a Retry-After header sent with the 429 over the RetryInfo in its body', async () => {
    const { client } = await replay({
      json: fixtureJson('google/google-429-retry-info.json'),
      status: 429,
      headers: { 'retry-after': '7' },
    });
    const error = await rejection(client.complete(request, options()));
    expect(error.details).toEqual({ provider: 'google', retryAfterSeconds: 7 });
  });

  it('maps a 400 API_KEY_INVALID to provider_key_rejected, without the key the body echoed', async () => {
    const { client } = await replay({ json: apiKeyInvalid, status: 400 });
    const error = await rejection(client.complete(request, options()));
    expect(error.code).toBe('provider_key_rejected');
    expect(error.message).toBe('The Google API refused the key: API key not valid. Please pass a valid API key.');
    expectNoKeyIn(error);

    const streamError = await rejection(client.stream(request, options()));
    expect(streamError.code).toBe('provider_key_rejected');
    expectNoKeyIn(streamError);
  });

  it('keeps any other 400 a provider_error (a bad request, not a bad key)', async () => {
    const { client } = await replay({
      json: { error: { code: 400, message: 'Invalid value at generation_config.temperature', status: 'INVALID_ARGUMENT' } },
      status: 400,
    });
    expect((await rejection(client.complete(request, options()))).code).toBe('provider_error');
  });

  it('maps 403 PERMISSION_DENIED to provider_key_rejected', async () => {
    const { client } = await replay({
      json: { error: { code: 403, message: 'Method doesn\u2019t allow unregistered callers.', status: 'PERMISSION_DENIED' } },
      status: 403,
    });
    expect((await rejection(client.complete(request, options()))).code).toBe('provider_key_rejected');
  });

  // spec/security.md: upstream error text is scrubbed of anything that looks like a key. Anthropic's and OpenAI's tests
  // had a key echoed in the message; Google's only in a DebugInfo detail, which is never read, so its message went
  // unscrubbed through every test.
  it('scrubs a key Google echoes in its error message, before the answer and in a mid-stream error event', async () => {
    const echo = (code: number, status: string) => ({
      error: { code, message: `API key not valid: ${key}. Please pass a valid API key.`, status },
    });
    const expectNoPieceOfKey = (text: string) => {
      for (let at = 0; at + 8 <= key.length; at++) expect(text).not.toContain(key.slice(at, at + 8));
      expect(text).toContain('Please pass a valid API key.');
    };
    const { client } = await replay({ json: echo(400, 'INVALID_ARGUMENT'), status: 400 });
    for (const error of [await rejection(client.complete(request, options())), await rejection(client.stream(request, options()))]) {
      expect(error.code).toBe('provider_error');
      expectNoPieceOfKey(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`);
    }
    const refused = await replay({ json: echo(403, 'PERMISSION_DENIED'), status: 403 });
    const rejected = await rejection(refused.client.complete(request, options()));
    expect(rejected.code).toBe('provider_key_rejected');
    expectNoPieceOfKey(`${rejected.message} ${JSON.stringify(rejected)}`);
    const [first] = fixtureChunks('google/google-text.chunks.txt');
    const midStream = await replay({ events: [first!, JSON.stringify(echo(403, 'PERMISSION_DENIED'))] });
    const last = (await collect(await midStream.client.stream(request, options()))).at(-1);
    expect(last?.type === 'error' && last.error.code).toBe('provider_key_rejected');
    expectNoPieceOfKey(last?.type === 'error' ? `${last.error.message} ${JSON.stringify(last.error)}` : '');
  });

  it.each([500, 503])('maps HTTP %i to provider_unavailable', async (status) => {
    const { client } = await replay({
      json: { error: { code: status, message: 'An internal error has occurred.', status: 'INTERNAL' } },
      status,
    });
    expect((await rejection(client.complete(request, options()))).code).toBe('provider_unavailable');
    expect((await rejection(client.stream(request, options()))).code).toBe('provider_unavailable');
  });

  it('never sends a key of another provider to Google', async () => {
    const { server, client } = await replay({ json: fixtureJson('google/google-text.json') });
    const openaiKey = { key: new SecretKey('openai', fakeProviderKey('openai')) };
    expect(await refusalCodesOfEveryCall(client, request, openaiKey)).toEqual(['internal_error', 'internal_error', 'internal_error']);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a redirect instead of following it with the key', async () => {
    const elsewhere = await startReplayServer({ json: fixtureJson('google/google-text.json') });
    servers.push(elsewhere);
    const { client } = await replay({ raw: '', status: 307, headers: { location: `${elsewhere.origin}/v1beta/models/x:generateContent` } });
    expect((await rejection(client.complete(request, options()))).code).toBe('provider_error');
    expect((await rejection(client.stream(request, options()))).code).toBe('provider_error');
    expect(elsewhere.requests).toHaveLength(0);
  });
});

describe('googleClient().checkKey', () => {
  it('lists models with the key in x-goog-api-key and calls a 200 valid', async () => {
    const { server, client } = await replay({ json: { models: [{ name: 'models/gemini-2.5-flash' }] } });
    expect(await client.checkKey(options())).toBe('valid');
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/v1beta/models', headers: { 'x-goog-api-key': key } });
  });

  it('calls a key Google refused invalid (400 API_KEY_INVALID or 403)', async () => {
    expect(await (await replay({ json: apiKeyInvalid, status: 400 })).client.checkKey(options())).toBe('invalid');
    expect(
      await (await replay({ json: { error: { code: 403, status: 'PERMISSION_DENIED' } }, status: 403 })).client.checkKey(options()),
    ).toBe('invalid');
  });

  it('gives its failure (the key is saved unverified) on a 503 or a refused connection', async () => {
    await expect((await replay({ json: {}, status: 503 })).client.checkKey(options())).rejects.toMatchObject({
      code: 'provider_unavailable',
    });
    const { server, client } = await replay({ json: {} });
    await server.close();
    servers = servers.filter((started) => started !== server);
    await expect(client.checkKey(options())).rejects.toMatchObject({ code: 'provider_unavailable' });
  });
});

describe('model names in the URL', () => {
  const hostile = ['../../v1/files', '..', 'gemini/../../x', 'gemini?key=stolen', 'gemini#fragment', '%2e%2e%2fx', 'a:b c'];

  it.each(hostile)('keeps %j inside /v1beta/models/ as one path segment, with no query', async (model) => {
    const { server, client } = await replay({ json: fixtureJson('google/google-text.json') });
    await client.complete({ ...request, model }, options());
    const url = server.requests[0]?.url ?? '';
    expect(url).toBe(`/v1beta/models/${encodeURIComponent(model)}:generateContent`);
    const segment = url.slice('/v1beta/models/'.length, -':generateContent'.length);
    expect(segment).not.toMatch(/[/?#]/);
    expect(decodeURIComponent(segment)).toBe(model);
  });

  it('keeps the method suffix and the alt=sse query of a streamed call intact', async () => {
    const { server, client } = await replay(streamOf('google/google-text.chunks.txt'));
    await collect(await client.stream({ ...request, model: 'gemini-2.5-flash?alt=json' }, options()));
    const url = new URL(server.requests[0]?.url ?? '', server.origin);
    expect(url.pathname).toBe('/v1beta/models/gemini-2.5-flash%3Falt%3Djson:streamGenerateContent');
    expect([...url.searchParams]).toEqual([['alt', 'sse']]);
  });

  it('builds the same path against a base URL with a path of its own (a gateway)', () => {
    const url = new URL(googleModelPath('gemini-2.5-flash', 'generateContent'), 'https://gateway.example/google/');
    expect(url.href).toBe('https://gateway.example/google/v1beta/models/gemini-2.5-flash:generateContent');
  });
});

describe('GOOGLE_LIMITS', () => {
  it('states the ranges the Gemini API accepts', () => {
    expect(GOOGLE_LIMITS).toMatchObject({ temperature: { min: 0, max: 2 }, topP: { min: 0, max: 1 }, maxStopSequences: 5 });
  });
});
