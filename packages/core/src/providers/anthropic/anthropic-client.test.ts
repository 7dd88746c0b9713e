import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { SecretKey } from '../../keys/secret-key.js';
import { fixtureChunks, fixtureJson } from '../fixtures.js';
import type { FinishReason, ProviderChatRequest, ProviderStreamEvent, TokenUsage } from '../provider-types.js';
import {
  collect,
  eventNameFromType,
  refusalCodesOfEveryCall,
  rejection,
  replayServersClosedAfterEachTest,
  type ReplayAnswer,
  type ReplayServer,
} from '../replay-server.js';
import { ANTHROPIC_LIMITS, anthropicClient } from './anthropic-client.js';

const key = fakeProviderKey('anthropic');
const secret = new SecretKey('anthropic', key);

const request: ProviderChatRequest = {
  model: 'claude-sonnet-4-5',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'system', content: 'Answer in English.' },
    { role: 'user', content: 'Hello!' },
    { role: 'user', content: 'How are you?' },
  ],
  maxTokens: 1024,
  temperature: 0.7,
  stop: ['END'],
};

const replay = replayServersClosedAfterEachTest();

/** Anthropic's answer to a call from a region it does not serve. */
const unsupportedRegion = { error: { type: 'forbidden', message: 'Request not allowed' } };

const clientFor = (server: ReplayServer) => anthropicClient({ baseUrl: server.origin, retries: 0 });

/** A recorded stream as Anthropic sends it: `event: <type>` then `data: <json>` per event. */
const recordedStream = (fixture: string, gapMs?: number): ReplayAnswer => ({
  events: fixtureChunks(`anthropic/${fixture}`),
  eventName: eventNameFromType,
  ...(gapMs !== undefined && { gapMs }),
});

const texts = (events: ProviderStreamEvent[]) => events.flatMap((event) => (event.type === 'text' ? [event.text] : []));
const usages = (events: ProviderStreamEvent[]) => events.flatMap((event) => (event.type === 'usage' ? [event.usage] : []));
const finishes = (events: ProviderStreamEvent[]) => events.flatMap((event) => (event.type === 'finish' ? [event.finishReason] : []));
const errors = (events: ProviderStreamEvent[]) => events.flatMap((event) => (event.type === 'error' ? [event.error] : []));

/** No 8-character piece of the key anywhere in `text` (spec/security.md, the canary rule). */
function expectNoPieceOfKey(text: string): void {
  for (let index = 0; index + 8 <= key.length; index++) expect(text).not.toContain(key.slice(index, index + 8));
}

function expectKeyOnlyInHeader(server: ReplayServer): void {
  for (const received of server.requests) {
    expect(received.headers['x-api-key']).toBe(key);
    expectNoPieceOfKey(received.url);
    expectNoPieceOfKey(JSON.stringify(received.body ?? null));
  }
}

const expectedBody = (stream: boolean) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: 'Be brief.\n\nAnswer in English.',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Hello!' },
        { type: 'text', text: 'How are you?' },
      ],
    },
  ],
  temperature: 0.7,
  stop_sequences: ['END'],
  stream,
});

describe('anthropicClient().complete()', () => {
  it('sends the key only in x-api-key, with the API version, to /v1/messages, system messages on top', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    await clientFor(server).complete(request, { key: secret });

    expect(server.requests).toHaveLength(1);
    const [sent] = server.requests;
    expect(sent).toMatchObject({ method: 'POST', url: '/v1/messages' });
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent?.headers['content-type']).toContain('application/json');
    expect(sent?.body).toEqual(expectedBody(false));
    expectKeyOnlyInHeader(server);
  });

  it('answers with the recorded text, finish reason and usage (anthropic-text.json)', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const response = await clientFor(server).complete(request, { key: secret });
    expect(response).toEqual({
      id: 'msg_01VdEjxAP5ahtHKrrRdNBteQ',
      model: 'claude-sonnet-4-5-20250929',
      content: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?",
      finishReason: 'stop',
      usage: { inputTokens: 12, outputTokens: 29, cachedInputTokens: 0, cacheWriteTokens: 0 },
    });
  });

  it('answers with the text only, not the thinking (anthropic-clear-thinking.1.json)', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-clear-thinking.1.json') });
    const response = await clientFor(server).complete(request, { key: secret });
    expect(response.content).toBe('925 ÷ 5 = 185');
    expect(response.usage).toEqual({ inputTokens: 69, outputTokens: 33, cachedInputTokens: 0, cacheWriteTokens: 0 });
  });

  it('reports a refusal as content_filter (anthropic-refusal.json)', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-refusal.json') });
    const response = await clientFor(server).complete(request, { key: secret });
    expect(response).toMatchObject({ content: '', finishReason: 'content_filter', usage: { inputTokens: 18, outputTokens: 5 } });
  });

  it('adds counts up to 2^29 exactly into the whole prompt, and fails with provider_error on a count past it', async () => {
    const recorded = fixtureJson('anthropic/anthropic-text.json') as { usage: Record<string, number> };
    const counting = (count: number) => ({
      json: {
        ...recorded,
        usage: { ...recorded.usage, input_tokens: count, cache_read_input_tokens: count, cache_creation_input_tokens: count },
      },
    });
    const largest = await clientFor(await replay(counting(2 ** 29))).complete(request, { key: secret });
    expect(largest.usage.inputTokens).toBe(3 * 2 ** 29);
    expect(Number.isSafeInteger(largest.usage.inputTokens)).toBe(true);
    // What a usage record's integer columns take (PostgreSQL's integer, 2^31 - 1): why the limit is 2^29 (docs/security.md).
    expect(largest.usage.inputTokens).toBeLessThanOrEqual(2 ** 31 - 1);
    const error = await rejection(clientFor(await replay(counting(2 ** 29 + 1))).complete(request, { key: secret }));
    expect(error.code).toBe('provider_error');
  });

  it('fails with provider_error, quoting nothing, when a 200 body is not a message', async () => {
    const server = await replay({ json: { greeting: 'private words from upstream' } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_error');
    expect(error.message).not.toContain('private words');
  });

  it('fails with provider_error when a 200 body is not JSON', async () => {
    const server = await replay({ raw: '<html>private words</html>', headers: { 'content-type': 'application/json' } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_error');
    expect(error.message).not.toContain('private words');
  });

  it('maps an Anthropic error body passed on with HTTP 200 by its error type', async () => {
    const server = await replay({ json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_unavailable');
  });

  // Without an HTTP status to go by, the words say it: an account out of credit is a key refused, as with its own 400.
  it('maps an account out of credit passed on with HTTP 200, or sent mid-stream, to provider_key_rejected', async () => {
    const refusal = {
      type: 'error',
      error: { type: 'invalid_request_error', message: 'Your credit balance is too low to access the Anthropic API.' },
    };
    const plain = await replay({ json: refusal });
    expect((await rejection(clientFor(plain).complete(request, { key: secret }))).code).toBe('provider_key_rejected');
    const [start] = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const streamed = await replay({ events: [start!, JSON.stringify(refusal)], eventName: eventNameFromType });
    const events = await collect(await clientFor(streamed).stream(request, { key: secret }));
    expect(errors(events).map((error) => error.code)).toEqual(['provider_key_rejected']);
  });
});

/** What each recorded stream must come out as: the text pieces, the last usage and the finish reason. */
const recordedStreams: Record<string, { texts: string[]; usage: TokenUsage; finish: FinishReason }> = {
  'anthropic-text.chunks.txt': {
    texts: [
      'Hello',
      '! I',
      "'m doing well, thank you for asking",
      '. How are you doing today?',
      ' Is',
      ' there anything I can help you with?',
    ],
    usage: { inputTokens: 12, outputTokens: 30, cachedInputTokens: 0, cacheWriteTokens: 0 },
    finish: 'stop',
  },
  'anthropic-clear-thinking.1.chunks.txt': {
    texts: ['925', ' ÷ 5 ', '= 185'],
    usage: { inputTokens: 69, outputTokens: 53, cachedInputTokens: 0, cacheWriteTokens: 0 },
    finish: 'stop',
  },
  'anthropic-code-execution-20260120-prompt-cache.1.chunks.txt': {
    texts: ['The', ' sum of the squares of the numbers 1 through 12 is **650**.'],
    // 6 uncached + 6289 read from the cache + 3337 written to it: the whole prompt.
    usage: { inputTokens: 9632, outputTokens: 198, cachedInputTokens: 6289, cacheWriteTokens: 3337, reasoningTokens: 0 },
    finish: 'stop',
  },
  'anthropic-message-delta-input-tokens.chunks.txt': {
    texts: ['p', 'ong'],
    usage: { inputTokens: 61, outputTokens: 2 },
    finish: 'stop',
  },
  'anthropic-refusal.chunks.txt': {
    texts: [],
    usage: { inputTokens: 18, outputTokens: 5, cachedInputTokens: 0, cacheWriteTokens: 0 },
    finish: 'content_filter',
  },
  'duplicate-message-start.chunks.txt': {
    texts: ['Hello, World!'],
    usage: { inputTokens: 17, outputTokens: 227 },
    finish: 'stop',
  },
};

describe('anthropicClient().stream()', () => {
  it('replays every recorded Anthropic stream in this table', () => {
    const recorded = readdirSync(new URL('../../../fixtures/anthropic/', import.meta.url)).filter((file) => file.endsWith('.chunks.txt'));
    expect(Object.keys(recordedStreams).sort()).toEqual(recorded.sort());
  });

  it.each(Object.entries(recordedStreams))('streams %s as text pieces in order, then usage, then the finish', async (fixture, expected) => {
    const server = await replay(recordedStream(fixture));
    const events = await collect(await clientFor(server).stream(request, { key: secret }));

    expect(texts(events)).toEqual(expected.texts);
    expect(texts(events).join('')).toBe(expected.texts.join(''));
    expect(usages(events).at(-1)).toEqual(expected.usage);
    expect(finishes(events)).toEqual([expected.finish]);
    expect(events.at(-1)).toEqual({ type: 'finish', finishReason: expected.finish });
    expect(errors(events)).toEqual([]);
  });

  it('sends stream: true with the same mapped body and headers', async () => {
    const server = await replay(recordedStream('anthropic-text.chunks.txt'));
    await collect(await clientFor(server).stream(request, { key: secret }));
    expect(server.requests[0]).toMatchObject({ method: 'POST', url: '/v1/messages', body: expectedBody(true) });
    expect(server.requests[0]?.headers['anthropic-version']).toBe('2023-06-01');
    expectKeyOnlyInHeader(server);
  });

  it('emits usage from message_start, then text, then the usage of message_delta, then the finish (anthropic-text)', async () => {
    const server = await replay(recordedStream('anthropic-text.chunks.txt'));
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(events.map((event) => event.type)).toEqual(['usage', 'text', 'text', 'text', 'text', 'text', 'text', 'usage', 'finish']);
    expect(events[0]).toEqual({ type: 'usage', usage: { inputTokens: 12, outputTokens: 1, cachedInputTokens: 0, cacheWriteTokens: 0 } });
  });

  it('reports cache reads and writes as cumulative usage that replaces, never adds (prompt-cache fixture)', async () => {
    const server = await replay(recordedStream('anthropic-code-execution-20260120-prompt-cache.1.chunks.txt'));
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(usages(events)).toEqual([
      { inputTokens: 3070, outputTokens: 69, cachedInputTokens: 0, cacheWriteTokens: 3068 },
      { inputTokens: 9632, outputTokens: 198, cachedInputTokens: 6289, cacheWriteTokens: 3337, reasoningTokens: 0 },
    ]);
  });

  it('ignores a duplicate message_start for the open message: one prompt usage, no error (duplicate-message-start)', async () => {
    const server = await replay(recordedStream('duplicate-message-start.chunks.txt'));
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(usages(events)).toEqual([
      { inputTokens: 17, outputTokens: 1 },
      // message_delta carries only output_tokens: the prompt count from message_start is kept.
      { inputTokens: 17, outputTokens: 227 },
    ]);
  });

  it('ends with an error, not a mixed answer, when a second message with another id is spliced in', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const spliced = [...lines.slice(0, 4), lines[0]!.replace('msg_01QC4g3HwBThD4BaNtBckFDJ', 'msg_other'), ...lines.slice(4)];
    const server = await replay({ events: spliced, eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(texts(events)).toEqual(['Hello']);
    expect(finishes(events)).toEqual([]);
    expect(errors(events).map((error) => error.code)).toEqual(['provider_error']);
    expect(events.at(-1)?.type).toBe('error');
  });

  it('ignores event types it does not know, as Anthropic asks', async () => {
    const lines = fixtureChunks('anthropic/anthropic-message-delta-input-tokens.chunks.txt');
    const withNew = [lines[0]!, '{"type":"future_event","detail":{"anything":1}}', ...lines.slice(1)];
    const server = await replay({ events: withNew, eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(texts(events).join('')).toBe('pong');
    expect(finishes(events)).toEqual(['stop']);
  });

  it('turns a malformed event into an error event that quotes none of it, and ends there', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const broken = [
      ...lines.slice(0, 4),
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","words":"private words"}}',
      ...lines.slice(4),
    ];
    const server = await replay({ events: broken, eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(texts(events)).toEqual(['Hello']);
    const [error] = errors(events);
    expect(error?.code).toBe('provider_error');
    expect(error?.message).not.toContain('private words');
    expect(events.at(-1)?.type).toBe('error');
  });

  it('turns data that is not JSON into an error event, never an exception', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const server = await replay({ events: [lines[0]!, 'this is not json', ...lines.slice(1)] });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(errors(events).map((error) => error.code)).toEqual(['provider_error']);
  });

  it('ends with an error event when the stream closes before message_stop', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const server = await replay({ events: lines.slice(0, -2), eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(texts(events)).toHaveLength(6);
    expect(finishes(events)).toEqual([]);
    expect(errors(events).map((error) => error.code)).toEqual(['provider_error']);
  });

  it('reads nothing after message_stop: the finish is the last event, whatever follows it', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const late = lines.filter((line) => /content_block_delta|message_delta/.test(line));
    const server = await replay({ events: [...lines, ...late], eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(events.map((event) => event.type)).toEqual(['usage', 'text', 'text', 'text', 'text', 'text', 'text', 'usage', 'finish']);
  });

  it('yields each event as it arrives rather than at the end', async () => {
    const server = await replay(recordedStream('anthropic-text.chunks.txt', 40));
    const started = Date.now();
    let firstText: number | undefined;
    for await (const event of await clientFor(server).stream(request, { key: secret })) {
      if (event.type === 'text') firstText ??= Date.now();
    }
    const ended = Date.now();
    // 12 events 40 ms apart: the first text is in hand well before the last event was even sent.
    expect(firstText).toBeDefined();
    expect(ended - firstText!).toBeGreaterThan(200);
    expect(firstText! - started).toBeLessThan(ended - started);
  });
});

describe('Anthropic errors', () => {
  it('maps a 401 with Anthropic error body to provider_key_rejected', async () => {
    const server = await replay({
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_key_rejected');
    expect(error.message).toContain('invalid x-api-key');
    expect(error.details.provider).toBe('anthropic');
  });

  it('maps a 401 before a stream starts to provider_key_rejected, thrown by stream()', async () => {
    const server = await replay({
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    });
    const error = await rejection(clientFor(server).stream(request, { key: secret }));
    expect(error.code).toBe('provider_key_rejected');
  });

  it('scrubs a piece of the key that Anthropic echoes in its 401 message', async () => {
    const echoed = `invalid x-api-key ${key.slice(0, 20)}…${key.slice(-8)}`;
    const server = await replay({ status: 401, json: { type: 'error', error: { type: 'authentication_error', message: echoed } } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_key_rejected');
    expectNoPieceOfKey(error.message);
    expectNoPieceOfKey(JSON.stringify({ ...error, message: error.message }));
    expectNoPieceOfKey(String(error.stack));
  });

  it('maps a 429 to provider_rate_limited with Retry-After passed on', async () => {
    const server = await replay({
      status: 429,
      headers: { 'retry-after': '12' },
      json: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your rate limit.' } },
    });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_rate_limited');
    expect(error.details.retryAfterSeconds).toBe(12);
  });

  it.each([
    ['an HTTP date', (sent: number) => new Date(sent + 30_000).toUTCString(), 30],
    ['a number too long to be one (400 digits)', () => '9'.repeat(400), undefined],
    ['not a delay at all', () => 'soon', undefined],
  ])('reads a Retry-After of %s as a finite delay or none', async (_what, header, seconds) => {
    // The answer's own Date is when its Retry-After was made: the delay counts from it, as from a provider's clock,
    // however long this machine then takes to read the answer (one made 30 s ahead of the real time, read 5 s later,
    // was a 25 s delay).
    const sent = Date.now();
    const server = await replay({
      status: 429,
      headers: { date: new Date(sent).toUTCString(), 'retry-after': header(sent) },
      json: { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down' } },
    });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_rate_limited');
    expect(error.details.retryAfterSeconds).toBe(seconds);
  });

  // An account that cannot pay: only the key's owner can put it right, and retrying never does.
  it.each([
    [
      400,
      'invalid_request_error',
      'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
    ],
    [402, 'billing_error', 'There is an issue with your billing or payment information.'],
    // What a key of a disabled organization gets (anthropics/claude-code#19028, #54311, #72457 and many more).
    [400, 'invalid_request_error', 'This organization has been disabled.'],
  ])('maps an account that cannot be used (HTTP %i %s) to provider_key_rejected, its words kept', async (status, type, message) => {
    const server = await replay({ status, json: { type: 'error', error: { type, message } } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_key_rejected');
    expect(error.message).toBe(`The Anthropic API refused the key: ${message}`);
  });

  // What Anthropic's edge answers a call from a country it does not serve, whatever the key (no top-level "type"):
  // anthropics/anthropic-sdk-typescript#457, enricoros/big-AGI#485, corbt/agent.exe#15. The key works from elsewhere.
  it('maps the 403 "Request not allowed" of an unsupported region to provider_error, not to a refused key', async () => {
    const server = await replay({ status: 403, json: unsupportedRegion });
    for (const call of [clientFor(server).complete(request, { key: secret }), clientFor(server).stream(request, { key: secret })]) {
      const error = await rejection(call);
      expect(error.code).toBe('provider_error');
      expect(error.message).toBe('The Anthropic API refuses calls from where this server runs (HTTP 403): Request not allowed.');
    }
  });

  it('maps a 529 overloaded to provider_unavailable', async () => {
    const server = await replay({ status: 529, json: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_unavailable');
    expect(server.requests).toHaveLength(1);
  });

  it('passes an error event after HTTP 200 mid-stream on as an error event, after what came before', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const overloaded = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    const server = await replay({ events: [...lines.slice(0, 5), overloaded, ...lines.slice(5)], eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(texts(events)).toEqual(['Hello', '! I']);
    expect(errors(events).map((error) => error.code)).toEqual(['provider_unavailable']);
    expect(events.at(-1)?.type).toBe('error');
    expect(finishes(events)).toEqual([]);
  });

  it('delivers an error event that comes right after HTTP 200 as the first event (the chat service turns it into a clean HTTP error)', async () => {
    const overloaded = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
    const server = await replay({ events: [overloaded], eventName: eventNameFromType });
    const events = [];
    for await (const event of await clientFor(server).stream(request, { key: secret })) events.push(event);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', error: { code: 'provider_unavailable' } });
  });

  it.each([
    ['overloaded_error', 'provider_unavailable'],
    ['api_error', 'provider_unavailable'],
    ['rate_limit_error', 'provider_rate_limited'],
    ['authentication_error', 'provider_key_rejected'],
    ['permission_error', 'provider_key_rejected'],
    ['timeout_error', 'provider_timeout'],
    ['billing_error', 'provider_key_rejected'],
    ['invalid_request_error', 'provider_error'],
    ['an_error_type_from_the_future', 'provider_error'],
  ])('maps a mid-stream %s event to %s', async (type, code) => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const event = JSON.stringify({ type: 'error', error: { type, message: 'Something happened' } });
    const server = await replay({ events: [...lines.slice(0, 4), event], eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(errors(events).map((error) => error.code)).toEqual([code]);
  });

  it('scrubs a piece of the key echoed in a mid-stream error event', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const event = JSON.stringify({
      type: 'error',
      error: { type: 'authentication_error', message: `invalid x-api-key ${key.slice(0, 20)}…${key.slice(-8)}` },
    });
    const server = await replay({ events: [...lines.slice(0, 4), event], eventName: eventNameFromType });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    const [error] = errors(events);
    expect(error?.code).toBe('provider_key_rejected');
    expectNoPieceOfKey(String(error?.message));
  });

  it('refuses a redirect without following it, so the key never reaches the other host', async () => {
    const elsewhere = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const server = await replay({ raw: '', status: 307, headers: { location: `${elsewhere.origin}/steal` } });
    const error = await rejection(clientFor(server).complete(request, { key: secret }));
    expect(error.code).toBe('provider_error');
    expect(server.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('refuses a redirect to an unreachable address without trying it', async () => {
    const server = await replay({ raw: '', status: 307, headers: { location: 'http://127.0.0.1:1/steal' } });
    const error = await rejection(clientFor(server).stream(request, { key: secret }));
    expect(error.code).toBe('provider_error');
  });

  it('cuts off an event over the 1 MB limit with an error event and aborts the upstream request', async () => {
    const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const huge = JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'a'.repeat(1_100_000) } });
    const server = await replay({ events: [lines[0]!, huge, ...lines.slice(1)], gapMs: 50 });
    const events = await collect(await clientFor(server).stream(request, { key: secret }));
    expect(events[0]?.type).toBe('usage');
    expect(texts(events)).toEqual([]);
    expect(errors(events).map((error) => error.code)).toEqual(['provider_error']);
    expect(await server.ended).toBe('aborted');
  });

  it('does not send a key of another provider', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const wrong = { key: new SecretKey('openai', fakeProviderKey('openai')) };
    expect(await refusalCodesOfEveryCall(clientFor(server), request, wrong)).toEqual([
      'internal_error',
      'internal_error',
      'internal_error',
    ]);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a conversation that starts with the assistant before calling Anthropic', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const assistantFirst: ProviderChatRequest = {
      ...request,
      messages: [
        { role: 'assistant', content: 'Hi!' },
        { role: 'user', content: 'Hello' },
      ],
    };
    const error = await rejection(clientFor(server).complete(assistantFirst, { key: secret }));
    expect(error.code).toBe('validation_failed');
    expect(error.status).toBe(422);
    expect(server.requests).toHaveLength(0);
  });
});

describe('leaving a stream early', () => {
  it('aborts the upstream request when the loop is left mid-stream', async () => {
    const server = await replay(recordedStream('anthropic-text.chunks.txt', 50));
    const seen: string[] = [];
    for await (const event of await clientFor(server).stream(request, { key: secret })) {
      if (event.type === 'text') {
        seen.push(event.text);
        break;
      }
    }
    expect(seen).toEqual(['Hello']);
    expect(await server.ended).toBe('aborted');
  });

  it('aborts the upstream request when the caller aborts its signal mid-stream, and throws the abort', async () => {
    const server = await replay(recordedStream('anthropic-text.chunks.txt', 50));
    const controller = new AbortController();
    const events = await clientFor(server).stream(request, { key: secret, signal: controller.signal });
    const seen: ProviderStreamEvent[] = [];
    const consumed = (async () => {
      for await (const event of events) {
        seen.push(event);
        if (event.type === 'text') controller.abort();
      }
    })();
    await expect(consumed).rejects.toMatchObject({ name: 'AbortError' });
    expect(await server.ended).toBe('aborted');
    expect(texts(seen)).toEqual(['Hello']);
    expect(errors(seen)).toEqual([]);
  });
});

describe('anthropicClient().checkKey()', () => {
  it('says valid when listing models works, asking GET /v1/models with the key in its header', async () => {
    const server = await replay({ json: { data: [], has_more: false, first_id: null, last_id: null } });
    expect(await clientFor(server).checkKey({ key: secret })).toBe('valid');
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/v1/models?limit=1' });
    expect(server.requests[0]?.headers['anthropic-version']).toBe('2023-06-01');
    expectKeyOnlyInHeader(server);
  });

  it('says invalid when Anthropic refuses the key', async () => {
    const server = await replay({
      status: 401,
      json: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    });
    expect(await clientFor(server).checkKey({ key: secret })).toBe('invalid');
  });

  it('gives its failure (the key is saved unverified) when Anthropic refuses calls from the region this server is in', async () => {
    const server = await replay({ status: 403, json: unsupportedRegion });
    await expect(clientFor(server).checkKey({ key: secret })).rejects.toMatchObject({ code: 'provider_error' });
  });

  it('gives its failure (the key is saved unverified) when Anthropic fails', async () => {
    const server = await replay({ status: 500, json: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } } });
    await expect(clientFor(server).checkKey({ key: secret })).rejects.toMatchObject({ code: 'provider_unavailable' });
  });

  it('gives its failure (the key is saved unverified) when nothing answers', async () => {
    const client = anthropicClient({ baseUrl: 'http://127.0.0.1:1', retries: 0 });
    await expect(client.checkKey({ key: secret })).rejects.toMatchObject({ code: 'provider_unavailable' });
  });
});

describe('ANTHROPIC_LIMITS', () => {
  it('gives the ranges Anthropic accepts', () => {
    expect(ANTHROPIC_LIMITS).toMatchObject({ temperature: { min: 0, max: 1 }, topP: { min: 0, max: 1 }, maxStopSequences: 8191 });
  });
});
