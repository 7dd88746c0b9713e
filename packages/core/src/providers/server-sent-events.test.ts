import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { Provider } from '../keys/providers.js';
import { SecretKey } from '../keys/secret-key.js';
import { anthropicClient } from './anthropic/anthropic-client.js';
import { anthropicStreamDecoder } from './anthropic/anthropic-stream.js';
import { fixtureChunks, fixtureJson } from './fixtures.js';
import { googleClient } from './google/google-client.js';
import { googleStreamDecoder } from './google/google-stream.js';
import { openaiClient } from './openai/openai-client.js';
import { openaiStreamDecoder } from './openai/openai-stream.js';
import type { ProviderChatRequest, ProviderClient, ProviderStreamEvent } from './provider-types.js';
import { eventNameFromType, startReplayServer } from './replay-server.js';
import { MAX_REFUSAL_BYTES, ServerSentEvents, type StreamDecoder } from './server-sent-events.js';

/** Each event's data as one text event: the pipeline's own behaviour, without a provider's format. */
const textDecoder: StreamDecoder = { event: (data) => [{ type: 'text', text: data }], end: () => [] };

/**
 * A dispatcher answering 200 with `events` in one piece of body, then ending the body when `ends`; it records
 * every abort undici's controller is told of, as the exchange's owner would act on it.
 */
function upstream(events: string[], { ends }: { ends: boolean }): { dispatcher: Dispatcher; aborts: unknown[] } {
  const aborts: unknown[] = [];
  const controller = {
    get aborted() {
      return aborts.length > 0;
    },
    paused: false,
    reason: null,
    abort: (reason: unknown) => void aborts.push(reason),
    pause() {},
    resume() {},
  } as unknown as Dispatcher.DispatchController;
  const dispatcher = {
    dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      queueMicrotask(() => {
        handler.onRequestStart?.(controller, {});
        handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
        handler.onResponseData?.(controller, Buffer.from(events.map((data) => `data: ${data}\n\n`).join('')));
        if (ends) handler.onResponseEnd?.(controller, {});
      });
      return true;
    },
  } as unknown as Dispatcher;
  return { dispatcher, aborts };
}

async function answerOf(dispatcher: Dispatcher): Promise<ServerSentEvents> {
  const head = await new ServerSentEvents('anthropic', textDecoder, undefined).start(dispatcher, {
    origin: 'http://provider.test',
    path: '/v1/messages',
    method: 'POST',
  });
  return head.events;
}

describe('a streamed answer', () => {
  it('read to its end leaves the finished exchange alone: nothing is aborted once the provider ended it', async () => {
    const { dispatcher, aborts } = upstream(['one', 'two'], { ends: true });
    const answer = await answerOf(dispatcher);
    const read: ProviderStreamEvent[] = [];
    for await (const event of answer) read.push(event);
    // As the chat service does when its chunks end, however they end.
    await answer.return();
    expect(read).toEqual([
      { type: 'text', text: 'one' },
      { type: 'text', text: 'two' },
    ]);
    expect(aborts).toEqual([]);
  });

  it('left after its first event, while the provider is still sending, aborts the upstream exchange', async () => {
    const { dispatcher, aborts } = upstream(['one', 'two'], { ends: false });
    for await (const event of await answerOf(dispatcher)) {
      expect(event).toEqual({ type: 'text', text: 'one' });
      break;
    }
    expect(aborts).toHaveLength(1);
  });

  it('paused on a run of events that carry nothing (pings), flows again once the reader has taken them, and ends', async () => {
    // Pings decode to nothing, as Anthropic's do; any other event to its text.
    const decoder: StreamDecoder = { event: (data) => (data === 'ping' ? [] : [{ type: 'text', text: data }]), end: () => [] };
    let paused = false;
    let resumed = 0;
    const controller = {
      aborted: false,
      reason: null,
      get paused() {
        return paused;
      },
      abort() {},
      pause: () => void (paused = true),
      resume: () => {
        paused = false;
        resumed++;
      },
    } as unknown as Dispatcher.DispatchController;
    let handler!: Dispatcher.DispatchHandler;
    const dispatcher = {
      dispatch(_options: Dispatcher.DispatchOptions, given: Dispatcher.DispatchHandler) {
        handler = given;
        queueMicrotask(() => {
          handler.onRequestStart?.(controller, {});
          handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
          handler.onResponseData?.(controller, Buffer.from('data: ping\n\n'.repeat(100)));
        });
        return true;
      },
    } as unknown as Dispatcher;
    const answer = (
      await new ServerSentEvents('anthropic', decoder, undefined).start(dispatcher, {
        origin: 'http://provider.test',
        path: '/',
        method: 'POST',
      })
    ).events;
    expect(paused).toBe(true);

    const next = answer.next();

    // The body flows again (a paused body would never bring the rest), and what it brings is read.
    expect([paused, resumed]).toEqual([false, 1]);
    handler.onResponseData?.(controller, Buffer.from('data: after\n\n'));
    handler.onResponseEnd?.(controller, {});
    expect(await next).toEqual({ value: { type: 'text', text: 'after' }, done: false });
    expect(await answer.next()).toEqual({ value: undefined, done: true });
  });
});

/**
 * Each provider's recorded stream as it sends it (Anthropic names each event, OpenAI ends with `[DONE]`), its lines
 * ended by `eol`, after a UTF-8 byte order mark when `bom`. OpenAI's is cut to its first and last chunks: whole it is
 * 98 KB, and a byte-by-byte delivery of it would prove nothing more.
 */
function recordedWire(provider: Provider, eol: string, bom = false): Buffer {
  const lines = fixtureChunks(RECORDED[provider]);
  const kept = provider === 'openai' ? [...lines.slice(0, 6), ...lines.slice(-2)] : lines;
  const named = (line: string) => (provider === 'anthropic' ? `event: ${eventNameFromType(line)}${eol}` : '');
  const events = kept.map((line) => `${named(line)}data: ${line}${eol}${eol}`).join('');
  return Buffer.from(`${bom ? '\ufeff' : ''}${events}${provider === 'openai' ? `data: [DONE]${eol}${eol}` : ''}`);
}

// Multi-byte UTF-8 in each (÷ in Anthropic's, curly quotes in OpenAI's), to be cut in the middle.
const RECORDED: Record<Provider, string> = {
  anthropic: 'anthropic/anthropic-clear-thinking.1.chunks.txt',
  openai: 'openai/openai-text.chunks.txt',
  google: 'google/google-text.chunks.txt',
};
const DECODERS: Record<Provider, () => StreamDecoder> = {
  anthropic: anthropicStreamDecoder,
  openai: openaiStreamDecoder,
  google: googleStreamDecoder,
};

/** A dispatcher answering 200 with `pieces`, each its own read of the body, then the body's end. */
function piecewise(pieces: Buffer[]): Dispatcher {
  const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
  return {
    dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      queueMicrotask(() => {
        const control = controller as unknown as Dispatcher.DispatchController;
        handler.onRequestStart?.(control, {});
        handler.onResponseStart?.(control, 200, { 'content-type': 'text/event-stream' }, 'OK');
        for (const piece of pieces) handler.onResponseData?.(control, piece);
        handler.onResponseEnd?.(control, {});
      });
      return true;
    },
  } as unknown as Dispatcher;
}

async function eventsOf(provider: Provider, pieces: Buffer[]): Promise<ProviderStreamEvent[]> {
  const head = await new ServerSentEvents(provider, DECODERS[provider](), undefined).start(piecewise(pieces), {
    origin: 'http://provider.test',
    path: '/',
    method: 'POST',
  });
  const read: ProviderStreamEvent[] = [];
  for await (const event of head.events) read.push(event);
  return read;
}

const LINE_ENDINGS = [
  ['LF', '\n'],
  ['CRLF', '\r\n'],
  ['a lone CR', '\r'],
] as const;

describe('a stream whose connection fails after its events', () => {
  /** `events` in one piece of body, then the body's wait for more running out (undici's body timeout). */
  function silentAfter(events: string[]): Dispatcher {
    const controller = { aborted: false, paused: false, reason: null, abort() {}, pause() {}, resume() {} };
    return {
      dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
        const exchange = controller as unknown as Dispatcher.DispatchController;
        queueMicrotask(() => {
          handler.onRequestStart?.(exchange, {});
          handler.onResponseStart?.(exchange, 200, { 'content-type': 'text/event-stream' }, 'OK');
          handler.onResponseData?.(exchange, Buffer.from(events.map((data) => `data: ${data}\n\n`).join('')));
          const timedOut = Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });
          handler.onResponseError?.(exchange, timedOut);
        });
        return true;
      },
    } as unknown as Dispatcher;
  }

  async function eventsOf(decoder: StreamDecoder, events: string[]): Promise<ProviderStreamEvent[]> {
    const head = await new ServerSentEvents('anthropic', decoder, undefined).start(silentAfter(events), {
      origin: 'http://provider.test',
      path: '/v1/messages',
      method: 'POST',
    });
    const read: ProviderStreamEvent[] = [];
    for await (const event of head.events) read.push(event);
    return read;
  }

  const lines = fixtureChunks('anthropic/anthropic-text.chunks.txt');

  it("once the answer was whole (after message_stop): its usage and finish, as at the body's end", async () => {
    const read = await eventsOf(anthropicStreamDecoder(), lines);
    expect(read.slice(-2)).toEqual([
      { type: 'usage', usage: expect.objectContaining({ inputTokens: 12, outputTokens: 30 }) },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('before the answer was whole (no message_stop): the text so far, then the failure itself, provider_timeout', async () => {
    const read = await eventsOf(anthropicStreamDecoder(), lines.slice(0, -1));
    expect(read.at(-1)).toMatchObject({ type: 'error', error: { code: 'provider_timeout' } });
    expect(read.some((event) => event.type === 'finish')).toBe(false);
  });
});

describe('a recorded stream, however the wire cuts it', () => {
  // The SSE format ends a line with CRLF, LF or a lone CR (WHATWG HTML, "Parsing an event stream"), and a stream may
  // start with a byte order mark. What a proxy does to a stream's line endings or its pieces changes no event.
  for (const provider of ['anthropic', 'openai', 'google'] as const)
    for (const [name, eol] of LINE_ENDINGS)
      it(`${provider}, its lines ended by ${name}, after a byte order mark or not: the same events as LF, read whole, cut at every byte or a byte at a time`, async () => {
        const expected = await eventsOf(provider, [recordedWire(provider, '\n')]);
        expect(expected.at(-1)?.type).toBe('finish');
        for (const bom of [false, true]) {
          const wire = recordedWire(provider, eol, bom);
          expect(await eventsOf(provider, [wire])).toEqual(expected);
          const differing: number[] = [];
          for (let at = 1; at < wire.length; at++) {
            const read = await eventsOf(provider, [wire.subarray(0, at), wire.subarray(at)]);
            if (!isDeepStrictEqual(read, expected)) differing.push(at);
          }
          expect(differing).toEqual([]);
          expect(
            await eventsOf(
              provider,
              [...wire].map((byte) => Buffer.of(byte)),
            ),
          ).toEqual(expected);
        }
      });
});

describe('a recorded stream with the rest of what the SSE format allows', () => {
  // An event's data over several `data:` lines (joined by LF: here after the JSON's first `{`, where an LF is only
  // whitespace), `id:` and `retry:` fields, comments, and event names byokit does not read.
  for (const provider of ['anthropic', 'openai', 'google'] as const)
    it(`${provider}: the same events as the plain recorded stream`, async () => {
      const expected = await eventsOf(provider, [recordedWire(provider, '\n')]);
      const lines = fixtureChunks(RECORDED[provider]);
      const kept = provider === 'openai' ? [...lines.slice(0, 6), ...lines.slice(-2)] : lines;
      const events = kept.map((line, index) => {
        const name = provider === 'anthropic' ? eventNameFromType(line) : 'chunk-of-a-newer-api';
        return `: comment ${index}\nid: ${index}\nretry: 3000\nevent: ${name}\ndata: {\ndata: ${line.slice(1)}\n\n`;
      });
      const wire = `retry: 1000\n\n${events.join('')}${provider === 'openai' ? 'id: last\ndata: [DONE]\n\n' : ''}`;
      expect(await eventsOf(provider, [Buffer.from(wire)])).toEqual(expected);
    });
});

describe('a recorded stream through each client over a real connection, a byte per write', () => {
  const request: ProviderChatRequest = { model: 'any-model', messages: [{ role: 'user', content: 'Hi' }], maxTokens: 64 };
  const clients: Record<Provider, (origin: string) => ProviderClient> = {
    anthropic: (origin) => anthropicClient({ baseUrl: origin, retries: 0 }),
    openai: (origin) => openaiClient({ baseUrl: `${origin}/v1`, retries: 0 }),
    google: (origin) => googleClient({ baseUrl: origin, retries: 0 }),
  };

  for (const provider of ['anthropic', 'openai', 'google'] as const)
    for (const [name, eol] of LINE_ENDINGS)
      it(`${provider}, its lines ended by ${name}: every text, the usage and the finish, as from the same stream whole`, async () => {
        const expected = await eventsOf(provider, [recordedWire(provider, '\n')]);
        const wire = recordedWire(provider, eol);
        const server = createServer((_request, response) => {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.flushHeaders();
          let at = 0;
          // Each byte its own write, the next only once the last one left: nothing joins them on the way.
          const next = () => (at < wire.length ? response.write(wire.subarray(at, ++at), () => setImmediate(next)) : response.end());
          next();
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const client = clients[provider](`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
        try {
          const read: ProviderStreamEvent[] = [];
          const key = new SecretKey(provider, fakeProviderKey(provider));
          for await (const event of await client.stream(request, { key })) read.push(event);
          expect(read).toEqual(expected);
        } finally {
          await client.close!();
          await new Promise((resolve) => server.close(resolve));
        }
      });
});

describe('a 200 to a streamed call that holds no server-sent events', () => {
  const request: ProviderChatRequest = { model: 'any-model', messages: [{ role: 'user', content: 'Hi' }], maxTokens: 64 };
  const clientFor: Record<Provider, (origin: string) => ProviderClient> = {
    anthropic: (origin) => anthropicClient({ baseUrl: origin, retries: 0 }),
    openai: (origin) => openaiClient({ baseUrl: `${origin}/v1`, retries: 0 }),
    google: (origin) => googleClient({ baseUrl: origin, retries: 0 }),
  };
  const label: Record<Provider, string> = { anthropic: 'Anthropic', openai: 'OpenAI', google: 'Google' };

  async function streamed(provider: Provider, answer: { raw: string; headers: Record<string, string> }): Promise<ProviderStreamEvent[]> {
    const server = await startReplayServer(answer);
    const client = clientFor[provider](server.origin);
    try {
      const read: ProviderStreamEvent[] = [];
      for await (const event of await client.stream(request, { key: new SecretKey(provider, fakeProviderKey(provider)) })) read.push(event);
      return read;
    } finally {
      await client.close!();
      await server.close();
    }
  }
  const outcome = (events: ProviderStreamEvent[]) =>
    events.map((event) => (event.type === 'error' ? [event.error.code, event.error.message] : event.type));

  // A gateway that answers a streamed call's error as a plain JSON body with 200, as some answer a plain call's
  // (which each client maps by its shape): the same error, not "the stream was cut off".
  const refusedKey: Record<Provider, unknown> = {
    anthropic: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    openai: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } },
    google: {
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
      },
    },
  };
  // A gateway that ignores `stream: true` and answers with a whole answer: OpenAI's chat.completion would read as a
  // chunk without text (its `message` is no `delta`), then its finish: an empty answer taken for a whole one.
  it.each([
    ['openai', 'openai/openai-text.json'],
    ['anthropic', 'anthropic/anthropic-text.json'],
    ['google', 'google/google-text.json'],
  ] as const)(
    '%s: a whole answer (%s) instead of a stream ends it with an error, never as an answer, empty or not',
    async (provider, fixture) => {
      const events = await streamed(provider, {
        raw: JSON.stringify(fixtureJson(fixture)),
        headers: { 'content-type': 'application/json' },
      });
      expect(outcome(events)).toEqual([
        [
          'provider_error',
          `The ${label[provider]} API answered without a stream of events (content-type: application/json): a gateway that does not stream, a proxy's page, or a base URL that points elsewhere.`,
        ],
      ]);
    },
  );

  it('names no content type that holds a piece of a key', async () => {
    const key = fakeProviderKey('openai');
    const events = await streamed('openai', { raw: '<html></html>', headers: { 'content-type': `text/${key.slice(0, 30)}` } });
    expect(outcome(events)).toEqual([
      [
        'provider_error',
        "The OpenAI API answered without a stream of events: a gateway that does not stream, a proxy's page, or a base URL that points elsewhere.",
      ],
    ]);
  });

  // A stream of events that broke off (cleanly, as a proxy may end it) before its first event was whole, or had sent
  // only a comment, is a stream cut off, as one cut after its first event is: no page, no base URL pointing elsewhere.
  // Worded alike for every provider: Anthropic's "closed the stream" and Google's "stream ended before the answer
  // finished" said the same thing three ways.
  const cutOff: Record<Provider, string> = {
    anthropic: 'The Anthropic API ended the stream before the answer was complete.',
    openai: 'The OpenAI API ended the stream before the answer was complete.',
    google: 'The Google API ended the stream before the answer was complete.',
  };
  for (const provider of ['anthropic', 'openai', 'google'] as const) {
    it.each([
      ['inside its first event', 'data: {"type":"message_start","message":{"id":"msg_1"'],
      ['after a comment alone', ': keep-alive\n\n'],
      ['at once, empty', ''],
    ])(`${provider}: a stream of events that ends %s is reported cut off, not as an answer without a stream`, async (_name, raw) => {
      const events = await streamed(provider, { raw, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
      expect(outcome(events)).toEqual([['provider_error', cutOff[provider]]]);
    });
  }

  for (const provider of ['anthropic', 'openai', 'google'] as const) {
    it(`${provider}: an error in the provider's own shape as a JSON body ends it with that error (a refused key), as a plain call's would`, async () => {
      const events = await streamed(provider, {
        raw: JSON.stringify(refusedKey[provider]),
        headers: { 'content-type': 'application/json' },
      });
      expect(events.map((event) => event.type === 'error' && event.error.code)).toEqual(['provider_key_rejected']);
    });

    it(`${provider}: a page (a proxy's sign-in, a base URL pointing at a website) ends it saying so, not as a stream cut off`, async () => {
      const events = await streamed(provider, {
        raw: '<html><body>Please sign in</body></html>',
        headers: { 'content-type': 'text/html; charset=utf-8' },
      });
      expect(outcome(events)).toEqual([
        [
          'provider_error',
          `The ${label[provider]} API answered without a stream of events (content-type: text/html): a gateway that does not stream, a proxy's page, or a base URL that points elsewhere.`,
        ],
      ]);
    });
  }

  it('reads a page of exactly 64 KiB, as much as it keeps, for what it is, not as a stream cut off', async () => {
    const page = `<html><body>${'Please sign in. '.repeat(MAX_REFUSAL_BYTES)}`.slice(0, MAX_REFUSAL_BYTES);
    const events = await streamed('anthropic', { raw: page, headers: { 'content-type': 'text/html' } });
    expect(outcome(events)).toEqual([
      [
        'provider_error',
        "The Anthropic API answered without a stream of events (content-type: text/html): a gateway that does not stream, a proxy's page, or a base URL that points elsewhere.",
      ],
    ]);
  });
});
