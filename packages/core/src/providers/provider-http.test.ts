import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, interceptors, Pool } from 'undici';
import { isByokitError } from '../errors.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { SecretKey } from '../keys/secret-key.js';
import { anthropicClient } from './anthropic/anthropic-client.js';
import { googleClient } from './google/google-client.js';
import { openaiClient } from './openai/openai-client.js';
import { fixtureChunks, fixtureJson } from './fixtures.js';
import type { ProviderChatRequest, ProviderStreamEvent } from './provider-types.js';
import { MAX_ANSWER_BYTES } from './provider-http.js';
import {
  collect,
  eventNameFromType,
  replayServersClosedAfterEachTest,
  startFloodingProvider,
  untilStill,
  type FloodingProvider,
} from './replay-server.js';
import { MAX_REFUSAL_BYTES } from './server-sent-events.js';

// The transport under every provider client (ProviderHttp), seen through the Anthropic client: what a host
// relies on beyond the wire format, namely timeouts, connection reuse and closing.
const options = () => ({ key: new SecretKey('anthropic', fakeProviderKey('anthropic')) });
const request: ProviderChatRequest = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }], maxTokens: 64 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const replay = replayServersClosedAfterEachTest();

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A server that accepts connections and never answers; counts its open sockets. */
async function silentServer(): Promise<{ origin: string; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(() => {});
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

describe("a provider's settings", () => {
  it.each([
    ['timeoutMs', 0],
    ['timeoutMs', -1],
    ['timeoutMs', 1.5],
    ['timeoutMs', 2 ** 31],
    ['timeoutMs', Number.NaN],
    ['retries', -1],
    ['retries', 11],
    ['retries', Number.NaN],
    ['retries', Number.POSITIVE_INFINITY],
  ])('refuse %s: %s where the client is made, not on every call', (name, value) => {
    expect(() => anthropicClient({ baseUrl: 'https://api.anthropic.com', [name]: value })).toThrow(
      new TypeError(`anthropic ${name} must be a whole number from ${name === 'retries' ? '0 to 10' : '1 to 2147483647'}, got ${value}`),
    );
  });

  it.each([
    ['a value with CR LF', { 'x-gateway': 'secret-token\r\nx-injected: 1' }, 'x-gateway'],
    ['a value with NUL', { 'x-gateway': 'secret-token\u0000' }, 'x-gateway'],
    ['a name with a space', { 'x gateway': 'secret-token' }, 'x gateway'],
    ['a value that is not a string', { 'x-gateway': 5 as unknown as string }, 'x-gateway'],
  ])('refuse static headers with %s, naming the header and never quoting its value', (_what, headers, name) => {
    const make = () => anthropicClient({ baseUrl: 'https://api.anthropic.com', headers });
    expect(make).toThrow(
      new TypeError(`anthropic headers: "${name}" needs a token for a name and a string without CR, LF or NUL for a value`),
    );
  });

  it.each([
    ['a string', 'x-gateway: secret-token', 'a string'],
    ['null', null, 'null'],
    ['an array', ['x-gateway', 'secret-token'], 'an array'],
    ['a Map', new Map([['x-gateway', 'secret-token']]), 'a Map'],
    ['a Headers', new Headers({ 'x-gateway': 'secret-token' }), 'a Headers'],
  ])('refuse static headers given as %s, which were sent as headers named 0, 1, 2… or dropped without a word', (_what, headers, got) => {
    const make = () => anthropicClient({ baseUrl: 'https://api.anthropic.com', headers: headers as unknown as Record<string, string> });
    expect(make).toThrow(new TypeError(`anthropic headers must be an object of header names and string values, got ${got}`));
  });

  it.each([
    ['empty (an unset variable read as "")', '', 'an empty string'],
    ['without its scheme', 'api.anthropic.com', 'text that is not a URL'],
    ['a number', 5, 'a number'],
  ])('refuse a base URL %s, naming the option and never quoting it', (_what, baseUrl, got) => {
    const make = () => anthropicClient({ baseUrl: baseUrl as string });
    expect(make).toThrow(new TypeError(`anthropic baseUrl must be an http(s) URL; got ${got}`));
  });

  it.each([
    [
      'with a user name and password, which no call carried (and never quoted: it is a credential)',
      'https://byokit:s3cret-gateway-password@gateway.internal/anthropic',
      "anthropic baseUrl carries a user name or password (user:password@), which byokit would not send: give the gateway's credential in headers instead",
    ],
    [
      'with a user name alone',
      'https://token-abc@gateway.internal',
      "anthropic baseUrl carries a user name or password (user:password@), which byokit would not send: give the gateway's credential in headers instead",
    ],
    [
      'with a query, which no call carried',
      'https://gateway.internal/anthropic?tenant=acme&token=s3cret',
      "anthropic baseUrl has a query (?…), which byokit would not send: calls go to the base URL's origin and path alone; give a gateway's parameters in headers instead",
    ],
    [
      'with a fragment',
      'https://gateway.internal/anthropic#v1',
      "anthropic baseUrl has a fragment (#…), which byokit would not send: calls go to the base URL's origin and path alone",
    ],
  ])('refuse a base URL %s, rather than call without it', (_what, baseUrl, message) => {
    expect(() => anthropicClient({ baseUrl })).toThrow(new TypeError(message));
  });

  it('take a base URL that ends in an empty query or fragment, which drop nothing', () => {
    expect(() => anthropicClient({ baseUrl: 'https://gateway.internal/anthropic?' })).not.toThrow();
    expect(() => anthropicClient({ baseUrl: 'https://gateway.internal/anthropic#' })).not.toThrow();
  });

  it('refuse a base URL of another scheme than http(s), naming it', () => {
    expect(() => anthropicClient({ baseUrl: 'ftp://gateway.internal' })).toThrow(new TypeError('anthropic baseUrl must be http(s): ftp:'));
  });

  it('take the edges of each range', () => {
    expect(() => anthropicClient({ baseUrl: 'https://api.anthropic.com', timeoutMs: 1, retries: 0 })).not.toThrow();
    expect(() => anthropicClient({ baseUrl: 'https://api.anthropic.com', timeoutMs: 2 ** 31 - 1, retries: 10 })).not.toThrow();
  });
});

describe('provider calls', () => {
  it("a key check ends at once with its caller's abort while it waits for a connection, and is never sent", async () => {
    const { origin, sockets } = await silentServer();
    // A host that caps its connections to the provider (the `dispatcher` option): one, busy with a call never answered.
    const pool = new Pool(origin, { connections: 1 });
    closers.push(() => pool.destroy());
    const client = anthropicClient({ baseUrl: origin, retries: 0, dispatcher: pool });
    void client.complete(request, options()).catch(() => {});
    while (sockets.size === 0) await nextTurn();

    const controller = new AbortController();
    const check = client.checkKey({ ...options(), signal: controller.signal }).then(
      (outcome) => outcome,
      (error: unknown) => (error as Error).name,
    );
    while (pool.stats.queued === 0) await nextTurn();
    controller.abort();
    // What the abort sets off is done by the next turn of the event loop: no timing is involved.
    expect(await Promise.race([check, nextTurn().then(() => 'still waiting')])).toBe('AbortError');
    expect(sockets.size).toBe(1);
  });

  it('give up with provider_timeout when the provider does not answer within timeoutMs', async () => {
    const { origin } = await silentServer();
    const client = anthropicClient({ baseUrl: origin, retries: 0, timeoutMs: 150 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect(isByokitError(error) && error.code).toBe('provider_timeout');
  });

  // The provider may be at work on the request that timed out, and bill it: another try would be a second call.
  it('give up at the first timeout, however many retries are set: one request, provider_timeout', async () => {
    let requests = 0;
    const { origin } = await answeringServer(() => void requests++);
    const client = anthropicClient({ baseUrl: origin, retries: 2, timeoutMs: 150 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect([isByokitError(error) && error.code, requests]).toEqual(['provider_timeout', 1]);
  });

  it('end a stream that goes silent for longer than timeoutMs with a provider_timeout error event', async () => {
    const server = await replay({
      events: fixtureChunks('anthropic/anthropic-text.chunks.txt'),
      eventName: eventNameFromType,
      gapMs: 2500,
    });
    // undici checks timeouts on a coarse clock (about 1 s), hence a long gap.
    const client = anthropicClient({ baseUrl: server.origin, retries: 0, timeoutMs: 100 });
    closers.push(() => client.close!());
    const events: ProviderStreamEvent[] = [];
    for await (const event of await client.stream(request, options())) events.push(event);
    const last = events.at(-1);
    expect(last?.type === 'error' && last.error.code).toBe('provider_timeout');
    expect(events.filter((event) => event.type === 'finish')).toEqual([]);
    expect(await server.ended).toBe('aborted');
  });

  it('reuse keep-alive connections instead of opening one per call, plain and streamed', async () => {
    let connections = 0;
    const server = await replay((received) =>
      received.url.endsWith('/v1/messages') && (received.body as { stream?: boolean }).stream
        ? { events: fixtureChunks('anthropic/anthropic-text.chunks.txt'), eventName: eventNameFromType }
        : { json: fixtureJson('anthropic/anthropic-text.json') },
    );
    const client = anthropicClient({ baseUrl: server.origin, retries: 0 });
    closers.push(() => client.close!());
    // Counted on the client's side: every new connection is a new socket to the server's port.
    const { default: diagnostics } = await import('node:diagnostics_channel');
    const onConnect = () => connections++;
    diagnostics.subscribe('undici:client:connected', onConnect);
    try {
      for (let round = 0; round < 10; round++) {
        await client.complete(request, options());
        for await (const event of await client.stream(request, options())) void event;
      }
    } finally {
      diagnostics.unsubscribe('undici:client:connected', onConnect);
    }
    expect(server.requests).toHaveLength(20);
    // A call may be sent just before the previous connection is marked free: one more, never one per call.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('leave no connection open once the client is closed', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const client = anthropicClient({ baseUrl: server.origin, retries: 0 });
    await client.complete(request, options());
    await client.close!();
    await expect(client.complete(request, options())).rejects.toMatchObject({ code: 'provider_unavailable' });
  });

  it.each(['complete', 'stream'] as const)(
    'read a refusal body only up to 64 KiB (%s): a huge one is cut off, the error mapped without it',
    async (call) => {
      let sent = 0;
      const { origin } = await answeringServer((_request, response) => {
        response.writeHead(400, { 'content-type': 'application/json' });
        // A body that never ends: without the cap the call would wait on it (and hold it) forever.
        const more = () => {
          while (response.write(`"${'x'.repeat(16 * 1024)}",`)) sent += 16 * 1024;
          sent += 16 * 1024;
        };
        response.write('{"error":{"message":"huge","padding":[');
        response.on('drain', more);
        more();
      });
      const client = anthropicClient({ baseUrl: origin, retries: 0 });
      closers.push(() => client.close!());
      const error = await client[call](request, options()).catch((caught: unknown) => caught);
      expect(isByokitError(error) && error.code).toBe('provider_error');
      expect((error as Error).message).toBe('The Anthropic API refused the request (HTTP 400).');
      // What the server got to write is mostly what loopback's socket buffers took in (they grow to several MiB on a
      // loaded machine: 4.1 MiB was seen), not what the client read; without the cap the call would never end at all.
      expect(sent).toBeLessThan(32 * 1024 * 1024);
    },
  );

  it.each(['complete', 'stream'] as const)(
    'say what a 404 means (%s): a model the provider no longer serves, as a retired one gets it, or a base URL elsewhere',
    async (call) => {
      const { origin } = await answeringServer((_request, response) => {
        // Anthropic's answer to a retired model.
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'The requested resource could not be found.' } }),
        );
      });
      const client = anthropicClient({ baseUrl: origin, retries: 0 });
      closers.push(() => client.close!());
      const error = await client[call](request, options()).catch((caught: unknown) => caught);
      expect(isByokitError(error) && [error.code, error.message, error.details.retryable]).toEqual([
        'provider_error',
        'The Anthropic API has no such resource (HTTP 404): a model it no longer serves (retired) or a misnamed one, or a base URL that points elsewhere: The requested resource could not be found.',
        // Answered 502, which clients retry unless told not to: the same call would find nothing again.
        false,
      ]);
    },
  );

  it.each([
    [300, 'provider_error', 'The Anthropic API answered with a redirect, which byokit never follows with a key attached.'],
    [408, 'provider_timeout', 'The Anthropic API timed out.'],
    // A gateway's timeout before the provider: a timeout too, not the provider failing (502).
    [504, 'provider_timeout', 'The Anthropic API timed out.'],
  ])('say what a %s means: %s', async (status, code, message) => {
    const { origin } = await answeringServer((_request, response) => void response.writeHead(status).end());
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual([code, message]);
  });

  // spec/security.md, "No SSRF": a host's dispatcher may follow redirects (undici's redirect interceptor, an Agent of
  // undici 6 made with maxRedirections), which drop Authorization on a cross-origin redirect but not x-api-key or
  // x-goog-api-key: the key would reach the host the provider, or whoever answers for it, names.
  it.each(['complete', 'stream', 'checkKey'] as const)(
    "refuse a redirect through a host's dispatcher that follows redirects, never sending the key to the host it names (%s)",
    async (call) => {
      const elsewhere = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
      const server = await replay({ raw: '', status: 307, headers: { location: `${elsewhere.origin}/steal` } });
      const dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 3 }));
      closers.push(() => dispatcher.close());
      const client = anthropicClient({ baseUrl: server.origin, retries: 0, dispatcher });
      closers.push(() => client.close!());
      const outcome = await (call === 'checkKey' ? client.checkKey(options()) : client[call](request, options())).then(
        async (answer) => (call === 'stream' ? (await collect(answer as AsyncIterable<ProviderStreamEvent>)).at(-1) : answer),
        (caught: unknown) => caught,
      );
      expect(elsewhere.requests).toHaveLength(0);
      expect(server.requests).toHaveLength(1);
      expect(outcome).toMatchObject({ code: 'provider_error' });
    },
  );

  // The clock that set both is the provider's: this server's clock, 11 years on, would make any such date a delay of 0.
  it.each([
    ["count a Retry-After date from the answer's own Date, not from this server's clock", '07:28:00', '07:28:30', 30],
    ["take a Retry-After date already past by the answer's own Date as a delay of 0, never a negative one", '07:28:10', '07:28:00', 0],
  ])('%s', async (_name, date, retryAfter, seconds) => {
    const { origin } = await answeringServer((_request, response) => {
      response.sendDate = false;
      response.writeHead(429, { date: `Wed, 21 Oct 2015 ${date} GMT`, 'retry-after': `Wed, 21 Oct 2015 ${retryAfter} GMT` }).end();
    });
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.details.retryAfterSeconds]).toEqual(['provider_rate_limited', seconds]);
  });

  it.each(['complete', 'stream'] as const)('read a refusal of exactly 64 KiB whole, its message passed on (%s)', async (call) => {
    const envelope = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: '' } });
    // Words, not one run of key-like characters, which the cut of a long message would drop whole (upstream-text.ts).
    const message = `Too long. ${'ab '.repeat(MAX_REFUSAL_BYTES)}`.slice(0, MAX_REFUSAL_BYTES - envelope.length);
    const body = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } });
    expect(Buffer.byteLength(body)).toBe(MAX_REFUSAL_BYTES);
    const { origin } = await answeringServer(
      (_request, response) => void response.writeHead(400, { 'content-type': 'application/json' }).end(body),
    );
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const error = await (call === 'complete' ? client.complete(request, options()) : client.stream(request, options())).catch(
      (caught: unknown) => caught,
    );
    const said = 'The Anthropic API refused the request (HTTP 400): Too long. ab ab';
    expect(isByokitError(error) && [error.code, error.message.slice(0, said.length)]).toEqual(['provider_error', said]);
  });

  // docs/security.md: 64 KiB per refusal. Written out rather than read from MAX_REFUSAL_BYTES, which the test above sizes by.
  it.each(['complete', 'stream'] as const)('cut a refusal of 64 KiB and one byte off, its message not passed on (%s)', async (call) => {
    const envelope = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: '' } });
    const message = `Too long. ${'ab '.repeat(64 * 1024)}`.slice(0, 64 * 1024 + 1 - envelope.length);
    const body = JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } });
    expect(Buffer.byteLength(body)).toBe(64 * 1024 + 1);
    const { origin } = await answeringServer(
      (_request, response) => void response.writeHead(400, { 'content-type': 'application/json' }).end(body),
    );
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const error = await client[call](request, options()).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual([
      'provider_error',
      'The Anthropic API refused the request (HTTP 400).',
    ]);
  });

  it('read a plain answer only up to 32 MiB: an endless one is cut off with provider_error, not held in memory', async () => {
    let sent = 0;
    const { origin } = await answeringServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const piece = `"${'x'.repeat(1024 * 1024 - 3)}",`;
      const more = () => {
        while (!response.destroyed && response.write(piece)) sent += piece.length;
        sent += piece.length;
      };
      response.write('{"id":"msg_1","padding":[');
      response.on('drain', more);
      more();
    });
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect(isByokitError(error) && error.code).toBe('provider_error');
    expect((error as Error).message).toBe('The Anthropic API sent an answer larger than byokit reads (32 MiB).');
    expect(sent).toBeLessThan(MAX_ANSWER_BYTES + 8 * 1024 * 1024);
  });

  it('give up with provider_unavailable, not trying again, when a plain answer breaks off after its head', async () => {
    let calls = 0;
    const { origin } = await answeringServer((_request, response) => {
      calls++;
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"id":"msg_');
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const client = anthropicClient({ baseUrl: origin, retries: 1 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect(isByokitError(error) && error.code).toBe('provider_unavailable');
    expect((error as Error).message).toBe('The Anthropic API broke off during the answer.');
    expect(calls).toBe(1);
  });

  it('make a provider wait while nobody reads its stream, rather than buffer it without bound', async () => {
    // 64 MB of text, as fast as the connection takes it.
    const flood = await floodingProvider(1000, 64 * 1024 * 1024);
    const client = anthropicClient({ baseUrl: flood.origin, retries: 0 });
    closers.push(() => client.close!());
    const events = (await client.stream(request, options()))[Symbol.asyncIterator]();
    expect((await events.next()).done).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Held back by what the kernel's buffers take, not read into byokit's memory.
    expect(flood.finished()).toBe(false);
    expect(flood.written()).toBeLessThan(16 * 1024 * 1024);
    // Reading on lets it go on.
    const before = flood.written();
    for (let read = 0; read < 20_000; read++) await events.next();
    expect(flood.written()).toBeGreaterThan(before);
    await events.return!();
  });

  it('make a provider whose events are large wait once about a megabyte of them waits, not 64 of them', async () => {
    // Events far larger than a model's deltas (a gateway's, a tool's long arguments, inline data) but within what
    // byokit reads of one (MAX_EVENT_SIZE): 512 KiB of text each, 96 MiB in all, as fast as the connection takes them.
    const EVENT_CHARS = 512 * 1024;
    const flood = await floodingProvider(EVENT_CHARS, 96 * 1024 * 1024);
    const client = anthropicClient({ baseUrl: flood.origin, retries: 0 });
    closers.push(() => client.close!());
    const events = (await client.stream(request, options()))[Symbol.asyncIterator]();
    // Left (the upstream request aborted) however the test ends: the client's close waits for it.
    closers.push(async () => void (await events.return!()));
    expect((await events.next()).done).toBe(false);
    await untilStill(flood);
    // What the kernel's buffers take (several MiB on loopback) and about a megabyte in byokit; 64 such events
    // waiting for the reader would be 32 MiB.
    expect(flood.finished()).toBe(false);
    expect(flood.written()).toBeLessThan(16 * 1024 * 1024);
    // Reading on lets it go on, each event whole.
    const before = flood.written();
    for (let read = 0; read < 64; read++) {
      const { value } = await events.next();
      expect(value).toEqual({ type: 'text', text: 'x'.repeat(EVENT_CHARS) });
    }
    expect(flood.written()).toBeGreaterThan(before);
  });

  /** Anthropic's recorded plain-text stream, whole. */
  const sendRecordedAnthropicStream = (response: ServerResponse) => {
    for (const line of fixtureChunks('anthropic/anthropic-text.chunks.txt'))
      response.write(`event: ${eventNameFromType(line)}\ndata: ${line}\n\n`);
    response.end();
  };

  it('try a streamed call once more after a 503, and stream the second answer', async () => {
    let calls = 0;
    const { origin } = await answeringServer((_request, response) => {
      if (calls++ === 0) {
        response
          .writeHead(503, { 'content-type': 'application/json' })
          .end('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      sendRecordedAnthropicStream(response);
    });
    const client = anthropicClient({ baseUrl: origin, retries: 1 });
    closers.push(() => client.close!());
    const events: ProviderStreamEvent[] = [];
    for await (const event of await client.stream(request, options())) events.push(event);
    expect(calls).toBe(2);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  // Anthropic reports an overload in a stream as an error event after HTTP 200, "which would normally correspond to an
  // HTTP 529 in a non-streaming context" (streaming docs, "Error events"); OpenAI and Gemini send theirs alike.
  const errorEvent = (type: string) => `event: error\ndata: {"type":"error","error":{"type":"${type}","message":"Something happened"}}\n\n`;
  const messageStart = `event: message_start\ndata: ${fixtureChunks('anthropic/anthropic-text.chunks.txt')[0]}\n\n`;

  it.each([
    { first: 'overloaded_error', wire: errorEvent('overloaded_error'), again: true },
    { first: 'api_error', wire: errorEvent('api_error'), again: true },
    { first: 'rate_limit_error (a 429 is not tried again)', wire: errorEvent('rate_limit_error'), again: false },
    { first: 'message_start, then overloaded_error', wire: messageStart + errorEvent('overloaded_error'), again: false },
  ])('try a streamed call once more when its first event is an error a 5xx would be: $first (again: $again)', async ({ wire, again }) => {
    let calls = 0;
    const { origin } = await answeringServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      if (calls++ === 0) return void response.end(wire);
      sendRecordedAnthropicStream(response);
    });
    const client = anthropicClient({ baseUrl: origin, retries: 1 });
    closers.push(() => client.close!());
    const events: ProviderStreamEvent[] = [];
    for await (const event of await client.stream(request, options())) events.push(event);
    expect(calls).toBe(again ? 2 : 1);
    expect(events.at(-1)).toMatchObject(again ? { type: 'finish', finishReason: 'stop' } : { type: 'error' });
  });

  it('give a streamed call whose first event is overloaded_error up after its retries, with that error as its first event', async () => {
    let calls = 0;
    const { origin } = await answeringServer((_request, response) => {
      calls++;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.end(errorEvent('overloaded_error'));
    });
    const client = anthropicClient({ baseUrl: origin, retries: 2 });
    closers.push(() => client.close!());
    const events: ProviderStreamEvent[] = [];
    for await (const event of await client.stream(request, options())) events.push(event);
    expect(calls).toBe(3);
    expect(events).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'provider_unavailable' }) }]);
  });

  // RFC 9110 §12.5.3: a request without Accept-Encoding takes any content coding, so a proxy or gateway on the
  // way may compress the answer, which byokit does not decompress.
  it.each(['complete', 'stream'] as const)(
    'ask for an uncompressed answer, so that a proxy compressing what the request allows leaves it readable (%s)',
    async (call) => {
      const { origin } = await gzippingWhen(
        call,
        (request) => !/^identity$/i.test(String(request.headers['accept-encoding'] ?? '').trim()),
      );
      const client = anthropicClient({ baseUrl: origin, retries: 0 });
      closers.push(() => client.close!());
      expect(await endOf(client, call)).toEqual({ type: 'finish', finishReason: 'stop' });
    },
  );

  // `identity` is no coding at all (RFC 9110 §8.4.1): some servers and proxies name it all the same.
  it.each(['complete', 'stream'] as const)('read an answer whose Content-Encoding is identity as the answer it is (%s)', async (call) => {
    const { origin } = await answeringServer((_request, response) => {
      const { body, type } = recordedAnswer(call);
      response.writeHead(200, { 'content-type': type, 'content-encoding': 'Identity' }).end(body);
    });
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    expect(await endOf(client, call)).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('name no content coding that holds a piece of a key', async () => {
    const key = fakeProviderKey('anthropic');
    const { origin } = await answeringServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': key.slice(0, 24) }).end('{}');
    });
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      'The Anthropic API sent its answer compressed, which byokit does not read: a proxy or gateway on the way compressed it although byokit asks for none.',
    );
  });

  it("send the host's own Accept-Encoding, in whatever case, instead of byokit's identity: one header, never two", async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const own = anthropicClient({ baseUrl: server.origin, retries: 0, headers: { 'Accept-Encoding': 'br' } });
    const plain = anthropicClient({ baseUrl: server.origin, retries: 0 });
    closers.push(
      () => own.close!(),
      () => plain.close!(),
    );
    await own.complete(request, options());
    await plain.complete(request, options());
    expect(server.requests.map((received) => received.headers['accept-encoding'])).toEqual(['br', 'identity']);
  });

  // The host's own Accept-Encoding is sent as it is (above): a provider that then compresses its answer did as it was
  // asked, and the fix is the host's setting, not a proxy to look for.
  it.each(['complete', 'stream'] as const)(
    "say that the host's own Accept-Encoding asked for the compressed answer, not a proxy, when it did (%s)",
    async (call) => {
      const { origin } = await gzippingWhen(call, (request) => request.headers['accept-encoding'] === 'gzip');
      const client = anthropicClient({ baseUrl: origin, retries: 0, headers: { 'Accept-Encoding': 'gzip' } });
      closers.push(() => client.close!());
      const message =
        "The Anthropic API sent its answer compressed (content-encoding: gzip), which byokit does not read, as the Accept-Encoding in the anthropic provider's headers asks: leave that header out, and byokit asks for an uncompressed answer.";
      expect(await failuresOf(client, call)).toEqual([['provider_error', message]]);
    },
  );

  it.each(['complete', 'stream'] as const)(
    'say that an answer came compressed (not that it was not JSON or broke off) when a proxy compresses it anyway (%s)',
    async (call) => {
      let calls = 0;
      const { origin } = await answeringServer((_request, response) => {
        calls++;
        const body =
          call === 'complete'
            ? JSON.stringify(fixtureJson('anthropic/anthropic-text.json'))
            : fixtureChunks('anthropic/anthropic-text.chunks.txt').join('\n');
        response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(body));
      });
      const client = anthropicClient({ baseUrl: origin, retries: 1 });
      closers.push(() => client.close!());
      const message =
        'The Anthropic API sent its answer compressed (content-encoding: gzip), which byokit does not read: a proxy or gateway on the way compressed it although byokit asks for none.';
      expect(await failuresOf(client, call)).toEqual([['provider_error', message]]);
      // The same answer would come again: not worth another try.
      expect(calls).toBe(1);
    },
  );

  // A key check's 200 says the provider took the key only when it is the provider's answer: the model list, JSON. A
  // proxy's sign-in page, a captive portal or a base URL that points at a website answers 200 to anything.
  it.each([
    ['an HTML page', 'text/html', '<html><body>Please sign in to continue</body></html>'],
    ['an empty body', 'application/json', ''],
    ['a text that is not JSON', 'text/plain', 'OK'],
    ['a JSON array', 'application/json', '[]'],
  ])(
    'give a provider_error for a key check (the key saved unverified), not valid, when the model listing answers 200 with %s',
    async (_what, type, body) => {
      const { origin } = await answeringServer((_request, response) => void response.writeHead(200, { 'content-type': type }).end(body));
      const clients = [
        anthropicClient({ baseUrl: origin, retries: 0 }),
        openaiClient({ baseUrl: `${origin}/v1`, retries: 0 }),
        googleClient({ baseUrl: origin, retries: 0 }),
      ];
      closers.push(...clients.map((client) => () => client.close!()));
      const checks = await Promise.allSettled(
        clients.map((client) => client.checkKey({ key: new SecretKey(client.provider, fakeProviderKey(client.provider)) })),
      );
      expect(checks.map((check) => check.status === 'rejected' && check.reason.code)).toEqual([
        'provider_error',
        'provider_error',
        'provider_error',
      ]);
    },
  );

  // The caller's abort is thrown as its own reason, never as the provider's failure (provider-types.ts): here it
  // comes once a refusal's head is in and while its body is still on the way, which byokit waits for to read it.
  it.each(['complete', 'stream', 'checkKey'] as const)(
    "give back the caller's abort, not the refusal, when it comes while a refusal's body is still arriving (%s)",
    async (call) => {
      const { origin } = await answeringServer((_request, response) => {
        response.writeHead(503, { 'content-type': 'application/json' });
        // The rest of the body never comes: byokit is reading it when the caller leaves.
        response.write('{"type":"error",');
      });
      const controller = new AbortController();
      const pool = new Pool(origin);
      closers.push(() => pool.destroy());
      // The refusal's head handed to byokit, the caller aborts: after the head, before the body's end.
      const dispatcher = Object.assign(Object.create(pool) as Pool, {
        dispatch(options: Parameters<Pool['dispatch']>[0], handler: Parameters<Pool['dispatch']>[1]) {
          return pool.dispatch(options, {
            ...handler,
            onRequestStart: (...args: unknown[]) => (handler.onRequestStart as (...args: unknown[]) => void)(...args),
            onResponseStart: (...args: unknown[]) => {
              (handler.onResponseStart as (...args: unknown[]) => void)(...args);
              queueMicrotask(() => controller.abort());
            },
          });
        },
      });
      const client = anthropicClient({ baseUrl: origin, retries: 0, dispatcher });
      const signal = controller.signal;
      const outcome = await (
        call === 'checkKey' ? client.checkKey({ ...options(), signal }) : client[call](request, { ...options(), signal })
      ).then(
        () => 'no error',
        (caught: unknown) => caught,
      );
      expect(outcome).toBe(signal.reason);
    },
  );

  it('read the answer that follows an interim 1xx one', async () => {
    const { origin } = await answeringServer((_request, response) => {
      response.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fixtureJson('anthropic/anthropic-text.json')));
    });
    const client = anthropicClient({ baseUrl: origin, retries: 0 });
    closers.push(() => client.close!());
    const answer = await client.complete(request, options());
    expect(answer.content.length).toBeGreaterThan(0);
  });
});

/** What a call gave: the plain call's error, or each of the stream's events (an error as its code and message). */
async function failuresOf(client: ReturnType<typeof anthropicClient>, call: 'complete' | 'stream'): Promise<unknown[]> {
  if (call === 'complete') {
    const error = await client.complete(request, options()).catch((caught: unknown) => caught);
    return [isByokitError(error) ? [error.code, error.message] : error];
  }
  const events: ProviderStreamEvent[] = [];
  for await (const event of await client.stream(request, options())) events.push(event);
  return events.map((event) => (event.type === 'error' ? [event.error.code, event.error.message] : event.type));
}

/** How a call ended: the plain answer's finish as a stream's last event would give it, or the stream's last event. */
async function endOf(client: ReturnType<typeof anthropicClient>, call: 'complete' | 'stream'): Promise<unknown> {
  if (call === 'complete') return { type: 'finish', finishReason: (await client.complete(request, options())).finishReason };
  return (await collect(await client.stream(request, options()))).at(-1);
}

/** Anthropic's recorded answer, plain or as its stream of events, and its content type. */
function recordedAnswer(call: 'complete' | 'stream'): { body: string; type: string } {
  if (call === 'complete') return { body: JSON.stringify(fixtureJson('anthropic/anthropic-text.json')), type: 'application/json' };
  const events = fixtureChunks('anthropic/anthropic-text.chunks.txt').map((line) => `event: ${eventNameFromType(line)}\ndata: ${line}\n\n`);
  return { body: events.join(''), type: 'text/event-stream' };
}

/** A server answering Anthropic's recorded answer (plain, or its stream of events), gzipped when `compress` says so. */
function gzippingWhen(call: 'complete' | 'stream', compress: (request: IncomingMessage) => boolean): Promise<{ origin: string }> {
  return answeringServer((request, response) => {
    const { body, type } = recordedAnswer(call);
    if (compress(request)) response.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip' }).end(gzipSync(body));
    else response.writeHead(200, { 'content-type': type }).end(body);
  });
}

/** A server that answers every request with `answer`. */
async function answeringServer(answer: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ origin: string }> {
  const server: Server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A flooding provider (replay-server.ts), closed after the test. */
async function floodingProvider(eventChars: number, totalBytes: number): Promise<FloodingProvider> {
  const flood = await startFloodingProvider(eventChars, totalBytes);
  closers.push(() => flood.close());
  return flood;
}
