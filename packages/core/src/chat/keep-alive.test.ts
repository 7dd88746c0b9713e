import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createParser } from 'eventsource-parser';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Byokit, ByokitOptions } from '../byokit.js';
import { serveFetchOverNode } from '../fetch/test-helpers.js';
import { alice, testByokit } from '../http/test-helpers.js';
import type { Principal } from '../http/types.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { createNodeHandler } from '../node/node-handler.js';
import { listenOnLoopback } from '../testing/adapter-conformance/listen.js';
import { KEEP_ALIVE_COMMENT, KeepAlive, keptAlive } from './keep-alive.js';

// GPT-6 Luna (built-in-models.ts): an active OpenAI model.
const MODEL_ID = '819788db-460f-5f1e-83b7-6c1c762b267f';
const INTERVAL_MS = 10_000;

/** OpenAI's stream as a reasoning model sends it: the role chunk at once, then nothing until the reasoning ends. */
const chunkOf = (delta: object, finish: string | null = null, usage: object | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-6-luna', choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
const ROLE_CHUNK = chunkOf({ role: 'assistant', content: '' });
const ANSWER =
  chunkOf({ content: 'Forty-two' }) +
  chunkOf({}, 'stop') +
  chunkOf({}, null, { prompt_tokens: 5, completion_tokens: 900, total_tokens: 905 }) +
  'data: [DONE]\n\n';

/** OpenAI's failure as an event of a stream it answered with 200. */
const SERVER_ERROR = `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } })}\n\n`;

/** A fake OpenAI that answers each chat with its headers and the role chunk, then waits to be told what to send. */
async function thinkingProvider() {
  const calls: ServerResponse[] = [];
  let arrived: (() => void) | undefined;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.once('end', () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(ROLE_CHUNK);
      calls.push(response);
      arrived?.();
    });
  });
  const { baseUrl, close } = await listenOnLoopback(server);
  return {
    baseUrl,
    close: () => {
      server.closeAllConnections();
      return close();
    },
    /** The `nth` call, once the provider has it. */
    async call(nth = 1): Promise<ServerResponse> {
      while (calls.length < nth) await new Promise<void>((resolve) => (arrived = resolve));
      return calls[nth - 1]!;
    },
  };
}

const authenticate = (request: IncomingMessage | Request): Principal | null => {
  const authorization = request instanceof Request ? request.headers.get('authorization') : request.headers.authorization;
  return authorization === 'Bearer alice' ? alice : null;
};

type Mount = 'node' | 'fetch';

/** byokit behind the node handler, or the fetch handler (served over node:http as @hono/node-server does). */
async function mounted(byokit: Byokit, mount: Mount): Promise<{ baseUrl: string; close(): Promise<void> }> {
  if (mount === 'fetch') return serveFetchOverNode((request) => byokit.fetch(request));
  const handler = createNodeHandler(byokit, { authenticate, prefix: '/v2' });
  return listenOnLoopback(
    createServer((request, response) => {
      void handler(request, response).then((handled) => {
        if (!handled) response.writeHead(404).end();
      });
    }),
  );
}

/** Reads a streamed body as it comes. */
function reader(response: Response) {
  const bytes = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    get text() {
      return text;
    },
    /** Reads until `seen` holds of what came so far (the body's end fails the test). */
    async until(seen: (text: string) => boolean): Promise<string> {
      while (!seen(text)) {
        const part = await bytes.read();
        if (part.done) throw new Error(`the stream ended first: ${JSON.stringify(text)}`);
        text += decoder.decode(part.value, { stream: true });
      }
      return text;
    },
    async rest(): Promise<string> {
      for (let part = await bytes.read(); !part.done; part = await bytes.read()) text += decoder.decode(part.value, { stream: true });
      return text;
    },
  };
}

/** What an SSE client makes of a body: its events' data, comments skipped (eventsource-parser, which the `openai` SDK's own parser follows). */
function parsedEvents(text: string): string[] {
  const events: string[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event.data) });
  parser.feed(text);
  return events;
}

const count = (text: string, part: string) => text.split(part).length - 1;

/** One tick of byokit's keep-alive interval. */
const tick = () => vi.advanceTimersByTime(INTERVAL_MS);

let provider: Awaited<ReturnType<typeof thinkingProvider>>;
const closing: (() => Promise<void>)[] = [];

beforeEach(async () => {
  // Only the intervals: sockets and the provider's client keep their own timers.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  provider = await thinkingProvider();
  closing.push(() => provider.close());
});

afterEach(async () => {
  vi.useRealTimers();
  for (const close of closing.splice(0).reverse()) await close();
});

/**
 * A provider failing before its first event is tried again once by default, as after a 5xx (provider-http.ts): the
 * tests of how that failure reaches the client ask for no second try.
 */
const notTriedAgain = (): Partial<ByokitOptions> => ({ providers: { openai: { baseUrl: provider.baseUrl, retries: 0 } } });

async function start(mount: Mount, options: Partial<ByokitOptions> = {}) {
  const { byokit } = await testByokit({
    environment: { OPENAI_API_KEY: fakeProviderKey('openai') },
    providers: { openai: { baseUrl: provider.baseUrl } },
    fetchHandler: { authenticate },
    streamKeepAliveMs: INTERVAL_MS,
    ...options,
  });
  const server = await mounted(byokit, mount);
  closing.push(
    () => byokit.close(),
    () => server.close(),
  );
  return { byokit, baseUrl: `${server.baseUrl}/v2` };
}

const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

const NATIVE = { model_id: MODEL_ID, messages: [{ role: 'user', content: 'Think hard.' }], max_tokens: 1000, stream: true };
const OPENAI = { model: 'gpt-6-luna', messages: [{ role: 'user', content: 'Think hard.' }], max_tokens: 1000, stream: true };

describe.each<Mount>(['node', 'fetch'])('a stream whose model thinks silently, behind the %s handler', (mount) => {
  it('gets its head and a keep-alive comment while the provider has sent nothing byokit passes on, then the answer', async () => {
    const { byokit, baseUrl } = await start(mount);
    const answer = post(`${baseUrl}/llm/chat/completions`, NATIVE);
    const upstream = await provider.call();
    // One tick clears the stamp the stream started with; the next finds it silent a whole interval.
    tick();
    tick();
    const response = await answer;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-byok-key-source')).toBe('system');
    const body = reader(response);
    expect(await body.until((text) => text.includes('\n\n'))).toBe(': keep-alive\n\n');

    // Still thinking: another comment at each silent interval, none while nothing was silent a whole one.
    tick();
    expect(await body.until((text) => count(text, ': keep-alive') === 2)).toBe(': keep-alive\n\n: keep-alive\n\n');

    upstream.end(ANSWER);
    const text = await body.rest();
    const events = parsedEvents(text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: 'Forty-two' });
    expect(chunks.at(-1).usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 900 });
    await expect
      .poll(async () => (await byokit.usage.events(alice.userId)).records.map(({ status, outputTokens }) => ({ status, outputTokens })))
      .toEqual([{ status: 'ok', outputTokens: 900 }]);
  });

  it('writes a keep-alive between chunks when the provider falls silent mid-answer, and nothing more while chunks flow', async () => {
    const { baseUrl } = await start(mount);
    const answer = post(`${baseUrl}/llm/chat/completions`, NATIVE);
    const upstream = await provider.call();
    upstream.write(chunkOf({ content: 'Hmm' }));
    const body = reader(await answer);
    await body.until((text) => text.includes('Hmm'));
    tick();
    upstream.write(chunkOf({ content: ', let me see' }));
    await body.until((text) => text.includes('let me see'));
    // A chunk came in this interval: not silent.
    tick();
    upstream.write(chunkOf({ content: '.' }));
    await body.until((text) => text.includes('"content":"."'));
    expect(body.text).not.toContain(': keep-alive');
    tick();
    tick();
    await body.until((text) => text.includes(': keep-alive'));
    upstream.end(ANSWER);
    const events = parsedEvents(await body.rest());
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.slice(0, -1).map((data) => JSON.parse(data).choices[0]?.delta.content)).toEqual([
      'Hmm',
      ', let me see',
      '.',
      'Forty-two',
      undefined,
      undefined,
    ]);
  });

  /** A native stream whose head and first comment have reached the client while the provider still thinks. */
  async function headGoneEarly(options: Partial<ByokitOptions> = {}) {
    const { byokit, baseUrl } = await start(mount, options);
    const answer = post(`${baseUrl}/llm/chat/completions`, NATIVE);
    const upstream = await provider.call();
    tick();
    tick();
    const body = reader(await answer);
    await body.until((text) => text.includes(': keep-alive'));
    return { byokit, upstream, body };
  }

  it('ends a stream whose head went early with the in-stream error event when the provider then fails', async () => {
    const { byokit, upstream, body } = await headGoneEarly(notTriedAgain());
    upstream.end(SERVER_ERROR);
    const events = parsedEvents(await body.rest());
    expect(events).toHaveLength(1);
    // OpenAI's `server_error`, as it is answered before a stream begins (docs/http-api.md).
    expect(JSON.parse(events[0]!)).toEqual({
      error: { code: 'provider_unavailable', message: expect.any(String), request_id: expect.any(String), provider: 'openai' },
    });
    // The call is recorded as any failed call is.
    await expect.poll(async () => (await byokit.usage.events(alice.userId)).records.map((record) => record.status)).toEqual(['error']);
  });

  it('tries the call once more when the provider fails before its first event, its head gone early: the second answer, one record', async () => {
    const { byokit, upstream, body } = await headGoneEarly();
    // The second try, when it comes, answers; the body's end says whether it came.
    void provider.call(2).then((second) => second.end(ANSWER));
    upstream.end(SERVER_ERROR);
    const events = parsedEvents(await body.rest());
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.map((data) => (data === '[DONE]' ? '' : (JSON.parse(data).choices[0]?.delta.content ?? ''))).join('')).toBe('Forty-two');
    await expect.poll(async () => (await byokit.usage.events(alice.userId)).records.map((record) => record.status)).toEqual(['ok']);
  });

  it('on the OpenAI-compatible route: the openai SDK skips the comments and reads the answer', async () => {
    const { baseUrl } = await start(mount);
    const client = new OpenAI({ baseURL: `${baseUrl}/openai/v1`, apiKey: 'alice', maxRetries: 0 });
    const pieces: string[] = [];
    const reading = (async () => {
      const stream = await client.chat.completions.create({ ...OPENAI, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
      for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content ?? '');
    })();
    const upstream = await provider.call();
    tick();
    tick();
    tick();
    upstream.end(ANSWER);
    await reading;
    expect(pieces.join('')).toBe('Forty-two');
  });

  it("on the OpenAI-compatible route: the comments come, and a failure after them is the stream's last event in OpenAI's shape", async () => {
    const { baseUrl } = await start(mount, notTriedAgain());
    const answer = post(`${baseUrl}/openai/v1/chat/completions`, OPENAI);
    const upstream = await provider.call();
    tick();
    tick();
    const response = await answer;
    expect(response.status).toBe(200);
    const body = reader(response);
    await body.until((text) => text.startsWith(': keep-alive\n\n'));
    upstream.destroy();
    const events = parsedEvents(await body.rest());
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!).error).toMatchObject({ code: 'provider_unavailable', type: expect.any(String) });
  });

  it('still refuses at once with a clean HTTP error when the provider refuses before any tick', async () => {
    const { baseUrl } = await start(mount, { environment: {} });
    tick();
    tick();
    const response = await post(`${baseUrl}/llm/chat/completions`, NATIVE);
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('api_key_required');
  });

  it('keeps a stream alive when the host sets no streamKeepAliveMs: its head and a comment by the second 10 s tick', async () => {
    const { baseUrl } = await start(mount, { streamKeepAliveMs: undefined });
    const answer = post(`${baseUrl}/llm/chat/completions`, NATIVE);
    const upstream = await provider.call();
    tick();
    tick();
    const body = reader(await answer);
    expect(await body.until((text) => text.includes('\n\n'))).toBe(': keep-alive\n\n');
    tick();
    expect(await body.until((text) => count(text, ': keep-alive') === 2)).toBe(': keep-alive\n\n: keep-alive\n\n');
    upstream.end(ANSWER);
    const text = await body.rest();
    expect([count(text, ': keep-alive'), parsedEvents(text).at(-1)]).toEqual([2, '[DONE]']);
  });

  it('writes no comment with streamKeepAliveMs: 0, and arms no interval', async () => {
    const { baseUrl } = await start(mount, { streamKeepAliveMs: 0 });
    expect(vi.getTimerCount()).toBe(0);
    const answer = post(`${baseUrl}/llm/chat/completions`, NATIVE);
    const upstream = await provider.call();
    tick();
    tick();
    upstream.end(ANSWER);
    const text = await (await answer).text();
    expect(text).not.toContain(': keep-alive');
    expect(parsedEvents(text).at(-1)).toBe('[DONE]');
  });
});

describe.each<Mount>(['node', 'fetch'])('a client that stops reading its stream, behind the %s handler', (mount) => {
  it("is let go once it has taken nothing for the provider's timeout: the provider call aborted, the call recorded as aborted", async () => {
    // timeoutMs, the longest silence byokit allows inside a provider's stream, is three ticks here.
    const { byokit, baseUrl } = await start(mount, { providers: { openai: { baseUrl: provider.baseUrl, timeoutMs: 3 * INTERVAL_MS } } });
    const { port, pathname } = new URL(baseUrl);
    const client = connect(Number(port), '127.0.0.1');
    closing.push(async () => void client.destroy());
    await once(client, 'connect');
    const body = JSON.stringify(NATIVE);
    client.write(
      `POST ${pathname}/llm/chat/completions HTTP/1.1\r\nHost: byokit\r\nAuthorization: Bearer alice\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const upstream = await provider.call();
    // The provider answers on and on, far more than the sockets between it and the client hold; the client reads
    // the head and then nothing more, its connection left open.
    const text = chunkOf({ content: 'x'.repeat(1_000) });
    for (let index = 0; index < 20_000; index++) upstream.write(text);
    await once(client, 'data');
    client.pause();
    const upstreamClosed = once(upstream, 'close');
    let closed = false;
    void upstreamClosed.then(() => (closed = true));
    // Ticks of the interval, each after what is under way has run, until byokit lets the provider call go.
    while (!closed) {
      tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await upstreamClosed;
    expect(upstream.writableFinished).toBe(false);
    await expect.poll(async () => (await byokit.usage.events(alice.userId)).records.map(({ status }) => status)).toEqual(['aborted']);
  });
});

describe('the keep-alive interval', () => {
  it('is one for the whole byokit, whatever the number of streams, and byokit.close() stops it', async () => {
    const { byokit, baseUrl } = await start('node');
    expect(vi.getTimerCount()).toBe(1);
    const answers = [post(`${baseUrl}/llm/chat/completions`, NATIVE), post(`${baseUrl}/llm/chat/completions`, NATIVE)];
    await provider.call(2);
    tick();
    tick();
    const responses = await Promise.all(answers);
    expect(vi.getTimerCount()).toBe(1);
    const bodies = responses.map(reader);
    await Promise.all(bodies.map((body) => body.until((text) => text.includes(': keep-alive'))));
    (await Promise.all([provider.call(1), provider.call(2)])).forEach((upstream) => upstream.end(ANSWER));
    await Promise.all(bodies.map((body) => body.rest()));
    await byokit.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the events of a kept-alive stream, read as any async iterable', () => {
  /** Lets every pending promise job run (setImmediate is not faked here): what has not settled by then never will by itself. */
  const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** A source whose each step waits to be let through, as a provider's silent stream does. */
  function gatedSource(values: string[]) {
    const gates: Array<() => void> = [];
    const source = (async function* () {
      for (const value of values) {
        await new Promise<void>((resolve) => gates.push(resolve));
        yield value;
      }
    })();
    return { source, letThrough: () => gates.shift()?.() };
  }

  /** Each call's answer once it settles, in the order they settled. */
  function answersOf(calls: Promise<IteratorResult<string>>[]) {
    const answers: Array<[number, IteratorResult<string>]> = [];
    calls.forEach((call, index) => void call.then((answer) => answers.push([index, answer])));
    return answers;
  }

  it('answers two calls of next() made without waiting, each once and in order, as an async generator does', async () => {
    const keepAlive = new KeepAlive(INTERVAL_MS);
    const { source, letThrough } = gatedSource(['one', 'two']);
    const events = keptAlive(source, keepAlive)[Symbol.asyncIterator]();
    const answers = answersOf([events.next(), events.next(), events.next()]);
    await settled();
    letThrough();
    await settled();
    letThrough();
    await settled();
    expect(answers).toEqual([
      [0, { done: false, value: 'one' }],
      [1, { done: false, value: 'two' }],
      [2, { done: true, value: undefined }],
    ]);
    keepAlive.close();
  });

  it.each([
    ['while a call waits on the source', false],
    ['before its head comment was read', true],
  ])('answers done to every next() after return() (%s), as an async generator does', async (_, commentFirst) => {
    const keepAlive = new KeepAlive(INTERVAL_MS);
    const { source, letThrough } = gatedSource(['one', 'two']);
    const events = keptAlive(source, keepAlive, commentFirst)[Symbol.asyncIterator]();
    const waiting = commentFirst ? undefined : events.next();
    await settled();
    const returned = events.return!();
    // The source's step under way comes in after the end: it is no one's answer.
    letThrough();
    expect(await returned).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual(commentFirst ? undefined : { done: true, value: undefined });
    const after = answersOf([events.next(), events.next()]);
    tick();
    tick();
    await settled();
    expect(after).toEqual([
      [0, { done: true, value: undefined }],
      [1, { done: true, value: undefined }],
    ]);
    keepAlive.close();
  });

  it("answers a silent tick's comment to the first call waiting, and the source's step to the next", async () => {
    const keepAlive = new KeepAlive(INTERVAL_MS);
    const { source, letThrough } = gatedSource(['one']);
    const events = keptAlive(source, keepAlive)[Symbol.asyncIterator]();
    const answers = answersOf([events.next(), events.next()]);
    tick();
    tick();
    await settled();
    letThrough();
    await settled();
    expect(answers).toEqual([
      [0, { done: false, value: KEEP_ALIVE_COMMENT }],
      [1, { done: false, value: 'one' }],
    ]);
    keepAlive.close();
  });
});
