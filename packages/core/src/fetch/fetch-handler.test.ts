import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { admin, alice, mockProvidersForFile, sseEvents, testByokit } from '../http/test-helpers.js';
import { onAbort, type Cancellation } from '../http/request-abort.js';
import type { Principal } from '../http/types.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { DROP_LIMIT_BYTES } from './drop-rest.js';
import { createFetchHandler, type FetchHandler } from './fetch-handler.js';
import { serveFetchOverNode } from './test-helpers.js';

/** The guide's model id: claude-sonnet-4-5 (docs/user-api-key-guide.md, step 5). */
const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const ORIGIN = 'http://host.test';

const mock = mockProvidersForFile();

const bridges: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(bridges.splice(0).map((close) => close()));
});

/** The host's auth in these tests: `Bearer alice` or `Bearer admin`, read from any header form. */
const principals: Record<string, Principal> = { 'Bearer alice': alice, 'Bearer admin': admin };
const authenticate = (request: { headers: Headers }) => principals[request.headers.get('authorization') ?? ''] ?? null;

/** A byokit pointed at the mock providers, on a fixed clock so that two answers to one request are equal. */
async function setUp() {
  const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
  const fixed = new Date('2026-11-25T10:00:00Z');
  const { byokit } = await testByokit({ providers, now: () => fixed });
  const handler = createFetchHandler(byokit, { authenticate });
  return { byokit, handler };
}

const json = (method: string, path: string, body: unknown, user = 'alice', headers: Record<string, string> = {}) =>
  new Request(`${ORIGIN}${path}`, {
    method,
    headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const hello = (extra: Record<string, unknown> = {}) => ({
  model_id: GUIDE_MODEL_ID,
  messages: [{ role: 'user', content: 'Hello!' }],
  max_tokens: 1024,
  ...extra,
});

async function withAnthropicKey(handler: FetchHandler): Promise<void> {
  const response = await handler(json('PATCH', '/v2/users/me/api-key', { anthropic_api_key: fakeProviderKey('anthropic') }));
  expect(response.status).toBe(200);
}

describe('mounting the fetch handler', () => {
  it('refuses to mount without authenticate, instead of answering every request 500', async () => {
    const { byokit } = await testByokit();
    const options = { prefix: '/v2' } as unknown as Parameters<typeof createFetchHandler>[1];
    expect(() => createFetchHandler(byokit, options)).toThrow(
      new TypeError(
        'byokit: `authenticate` must be your auth function, (request) => { userId, isAdmin } or null (or a promise of it); got undefined',
      ),
    );
  });

  it("refuses createByokit's promise not awaited, or no options, where it is mounted, instead of failing every request", async () => {
    const { byokit } = await testByokit();
    const authenticate = () => alice;
    expect(() => createFetchHandler(Promise.resolve(byokit) as never, { authenticate })).toThrow(
      new TypeError('createFetchHandler needs the byokit instance createByokit() resolves to; got a Promise: await createByokit(…) first'),
    );
    expect(() => createFetchHandler(byokit, undefined as never)).toThrow(
      new TypeError('createFetchHandler needs its settings, { authenticate, prefix?, fallThrough? }; got undefined'),
    );
  });

  it("refuses a setting it does not have, naming it, instead of answering the host's paths 404", async () => {
    const { byokit } = await testByokit();
    const options = { authenticate: () => alice, fallthrough: true } as unknown as Parameters<typeof createFetchHandler>[1];
    expect(() => createFetchHandler(byokit, options)).toThrow(
      new TypeError(
        'createFetchHandler has no setting fallthrough (did you mean fallThrough?): it takes authenticate, prefix, fallThrough',
      ),
    );
  });
});

describe('createFetchHandler', () => {
  it('sets a personal key and reads its status back, with the contract headers', async () => {
    const { handler } = await setUp();
    const key = fakeProviderKey('openai');
    const patch = await handler(json('PATCH', '/v2/users/me/api-key', { openai_api_key: key }, 'alice', { 'x-request-id': 'req-7' }));
    expect(patch.status).toBe(200);
    expect(patch.headers.get('x-request-id')).toBe('req-7');
    expect(patch.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(patch.headers.get('cache-control')).toBe('no-store');
    expect((await patch.json()).has_openai_key).toBe(true);
    const status = await handler(new Request(`${ORIGIN}/v2/users/me/api-key-status`, { headers: { authorization: 'Bearer alice' } }));
    expect((await status.json()).keys.openai.hint).toBe(`…${key.slice(-4)}`);
    const anonymous = await handler(new Request(`${ORIGIN}/v2/users/me/api-key-status`));
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('unauthenticated');
  });

  it("answers paths outside the prefix, or unknown below it, with the contract's 404", async () => {
    const { handler } = await setUp();
    for (const path of ['/', '/v2x/users/me/api-key-status', '/elsewhere/v2/users/me', '/v2/not-a-route', '/v2']) {
      const response = await handler(new Request(`${ORIGIN}${path}`, { headers: { 'x-request-id': 'req-404' } }));
      expect([path, response.status, response.headers.get('content-type')]).toEqual([path, 404, 'application/json; charset=utf-8']);
      expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'No such route.', request_id: 'req-404' } });
    }
  });

  it('with fallThrough, resolves undefined for what is not byokit, leaving the body unread for the host', async () => {
    const { byokit } = await setUp();
    const handler = createFetchHandler(byokit, { authenticate, prefix: '/api/llm/', fallThrough: true });
    const outside = new Request(`${ORIGIN}/api/other`, { method: 'POST', body: '{"host": true}' });
    expect(await handler(outside)).toBeUndefined();
    expect(await outside.json()).toEqual({ host: true });
    expect(await handler(new Request(`${ORIGIN}/api/llm/not-a-route`))).toBeUndefined();
    const mine = await handler(new Request(`${ORIGIN}/api/llm/llm-models/?is_active=true`, { headers: { authorization: 'Bearer alice' } }));
    expect(mine?.status).toBe(200);
  });

  it('keeps the options it was made with: a host that reuses its options object for another mount changes neither', async () => {
    // Two mounts made from one options object, changed between them: `fallThrough` was read at each request, so the
    // first mount, made to fall through to the host's routes, answered them 404 once the second was made without it.
    const { byokit } = await setUp();
    const options: { authenticate: typeof authenticate; fallThrough?: boolean } = { authenticate, fallThrough: true };
    const fallingThrough = createFetchHandler(byokit, options);
    delete options.fallThrough;
    createFetchHandler(byokit, options);

    expect((await fallingThrough(new Request(`${ORIGIN}/elsewhere`)))?.status).toBeUndefined();
  });

  it("refuses a body over the route's limit with 413 in the contract shape, then reads and drops up to 8 MiB more, never cancelling it, other work going on meanwhile", async () => {
    const { handler } = await setUp();
    const piece = new TextEncoder().encode(`{"openai_api_key": "${'x'.repeat(16_384)}`);
    let pulledBytes = 0;
    let cancelled = false;
    // No content-length: the limit has to hold while reading, not only on the declared size.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulledBytes += piece.byteLength;
        controller.enqueue(piece);
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request(`${ORIGIN}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
      body: endless,
      duplex: 'half',
    } as RequestInit);
    const response = await handler(request);
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe('payload_too_large');
    // A timer set now runs while the rest is dropped, not after it: the drop leaves the event loop its turns.
    let pulledWhenTimerRan = 0;
    setTimeout(() => (pulledWhenTimerRan = pulledBytes), 0);
    // Done dropping, the handler lets go of the body: read no further, and not cancelled, which on
    // @hono/node-server destroyed the connection before the 413 went out.
    await vi.waitFor(() => expect(request.body!.locked).toBe(false), { timeout: 20_000, interval: 5 });
    expect(cancelled).toBe(false);
    expect(pulledBytes).toBeGreaterThan(DROP_LIMIT_BYTES);
    expect(pulledBytes).toBeLessThan(DROP_LIMIT_BYTES + 4 * piece.byteLength);
    expect(pulledWhenTimerRan).toBeLessThan(pulledBytes);
  });

  it('lets go quietly of a refused body whose stream fails while its rest is dropped (the client went away)', async () => {
    const { handler } = await setUp();
    let pulls = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++pulls > 2) return controller.error(new Error('The client went away.'));
        controller.enqueue(new TextEncoder().encode(`{"openai_api_key": "${'x'.repeat(16_384)}`));
      },
    });
    const request = new Request(`${ORIGIN}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
      body: failing,
      duplex: 'half',
    } as RequestInit);
    expect((await handler(request)).status).toBe(413);
    // No unhandled rejection (vitest fails the run on one), and the body let go.
    await vi.waitFor(() => expect(request.body!.locked).toBe(false), { timeout: 20_000, interval: 5 });
    expect(pulls).toBe(3);
  });

  it('reads a body of declared length in one read, never touching request.body (cheap on lazy hosts)', async () => {
    const { handler } = await setUp();
    const reads: string[] = [];
    /** A host's lazy Request: building its body stream is what it saves when `arrayBuffer()` is used. */
    class LazyRequest extends Request {
      override get body(): Request['body'] {
        throw new Error('request.body was built');
      }
      override arrayBuffer(): Promise<ArrayBuffer> {
        reads.push('arrayBuffer');
        return super.arrayBuffer();
      }
    }
    const text = JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') });
    const headers = { authorization: 'Bearer alice', 'content-type': 'application/json', 'content-length': String(text.length) };
    const answer = await handler(new LazyRequest(`${ORIGIN}/v2/users/me/api-key`, { method: 'PATCH', headers, body: text }));
    expect(answer.status).toBe(200);
    expect(reads).toEqual(['arrayBuffer']);

    // Declared over the route's limit: refused before a byte is read.
    const large = { ...headers, 'content-length': '100000' };
    const refused = await handler(new LazyRequest(`${ORIGIN}/v2/users/me/api-key`, { method: 'PATCH', headers: large, body: text }));
    expect(refused.status).toBe(413);
    expect(reads).toEqual(['arrayBuffer']);
  });

  it('leaves a chunked body it refuses before reading (401, 415) untouched, request.body never built, for the host to drop', async () => {
    const { handler } = await setUp();
    const built: string[] = [];
    /** A host's lazy Request (@hono/node-server's): building its body stream pipes the socket into it. */
    class LazyRequest extends Request {
      override get body(): Request['body'] {
        built.push(`${this.method} ${this.headers.get('content-type')}`);
        return super.body;
      }
    }
    const chunked = (headers: Record<string, string>) =>
      new LazyRequest(`${ORIGIN}/v2/llm/chat/completions`, {
        method: 'POST',
        headers,
        body: new ReadableStream({ pull: (controller) => controller.enqueue(new TextEncoder().encode('{"messages":')) }),
        duplex: 'half',
      } as RequestInit);
    const anonymous = await handler(chunked({ 'content-type': 'application/json' }));
    const plainText = await handler(chunked({ authorization: 'Bearer alice', 'content-type': 'text/plain' }));
    expect([anonymous.status, plainText.status]).toEqual([401, 415]);
    expect(built).toEqual([]);
  });

  it('streams a chat answer from the provider event by event', async () => {
    const { handler } = await setUp();
    await withAnthropicKey(handler);
    const response = await handler(json('POST', '/v2/llm/chat/completions', hello({ stream: true })));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('x-byok-key-source')).toBe('user');
    const reader = response.body!.getReader();
    const reads: string[] = [];
    for (let part = await reader.read(); !part.done; part = await reader.read()) reads.push(new TextDecoder().decode(part.value));
    // Pulled one at a time: every read is exactly one server-sent event.
    expect(reads.every((read) => /^data: [^\n]+\n\n$/.test(read))).toBe(true);
    const events = sseEvents(reads.join(''));
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatchObject({ object: 'chat.completion.chunk', usage: { key_source: 'user' } });
    expect(events.length).toBeGreaterThan(3);
  });

  it('cancelling the response body mid-stream aborts the provider call and records the usage as aborted', async () => {
    const { byokit, handler } = await setUp();
    await withAnthropicKey(handler);
    mock.setChunkGapMs(50);
    const response = await handler(json('POST', '/v2/llm/chat/completions', hello({ stream: true })));
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: /);
    await reader.cancel();
    await expect.poll(() => mock.requests.find((request) => request.provider === 'anthropic')?.aborted, { timeout: 5_000 }).toBe(true);
    await expect.poll(async () => (await byokit.usage.events(alice.userId)).records[0]?.status, { timeout: 5_000 }).toBe('aborted');
  });

  it('cancelling while a read waits for the next chunk aborts the call at once, not when that chunk comes', async () => {
    let signal: Cancellation | undefined;
    const handler = createFetchHandler(
      {
        handle: async (request) => {
          signal = request.signal;
          return {
            status: 200,
            headers: { 'content-type': 'text/event-stream' },
            body: (async function* () {
              yield 'data: first\n\n';
              // A provider that is slow to send its next event: only the abort ends the wait.
              await new Promise((_resolve, reject) => onAbort(request.signal!, () => reject(request.signal!.reason)));
              yield 'data: never\n\n';
            })(),
          };
        },
      },
      { authenticate },
    );
    const reader = (await handler(new Request(`${ORIGIN}/v2/stream`))).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    const waiting = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(signal?.aborted).toBe(false);
    await reader.cancel();
    expect(signal?.aborted).toBe(true);
    expect((await waiting).done).toBe(true);
  });

  it("aborting the request's signal (the client went away) aborts the provider call", async () => {
    const { handler } = await setUp();
    await withAnthropicKey(handler);
    mock.setChunkGapMs(50);
    const client = new AbortController();
    const request = new Request(json('POST', '/v2/llm/chat/completions', hello({ stream: true })), { signal: client.signal });
    const response = await handler(request);
    const reader = response.body!.getReader();
    await reader.read();
    client.abort();
    await expect.poll(() => mock.requests.find((request) => request.provider === 'anthropic')?.aborted, { timeout: 5_000 }).toBe(true);
    await reader.cancel().catch(() => {});
  });

  it('calls no provider for a request whose signal was aborted before it reached byokit (the client gone already)', async () => {
    const { handler } = await setUp();
    await withAnthropicKey(handler);
    const request = new Request(json('POST', '/v2/llm/chat/completions', hello()), { signal: AbortSignal.abort() });
    await Promise.resolve(handler(request)).catch(() => undefined);
    expect(mock.requests.filter((request) => request.provider === 'anthropic')).toEqual([]);
  });

  it('refuses, as a host bug, a request whose body something else already read', async () => {
    const { handler } = await setUp();
    const request = json('PATCH', '/v2/users/me/api-key', { openai_api_key: null });
    await request.text();
    await expect(handler(request)).rejects.toThrow(/body was already read: mount byokit before anything that reads the body/);
  });
});

describe('byokit.fetch', () => {
  it('answers with the auth and prefix given to createByokit, and a 404 for what is not byokit', async () => {
    const { byokit } = await testByokit({ fetchHandler: { authenticate, prefix: '/llm-api' } });
    const models = await byokit.fetch(new Request(`${ORIGIN}/llm-api/llm-models`, { headers: { authorization: 'Bearer alice' } }));
    expect(models.status).toBe(200);
    expect(await models.json()).toEqual({ data: [], count: 0 });
    expect((await byokit.fetch(new Request(`${ORIGIN}/v2/llm-models`))).status).toBe(404);
    // Needs no `this`: hosts pass it on as is (`Deno.serve(byokit.fetch)`).
    const { fetch: detached } = byokit;
    expect((await detached(new Request(`${ORIGIN}/llm-api/llm-models`))).status).toBe(401);
  });

  it('rejects with a TypeError that says what to pass when createByokit had no fetchHandler option', async () => {
    const { byokit } = await testByokit();
    const answer = byokit.fetch(new Request(`${ORIGIN}/v2/llm-models`));
    await expect(answer).rejects.toThrow(TypeError);
    await expect(answer).rejects.toThrow(/pass `fetchHandler: \{ authenticate, prefix\? \}` to createByokit/);
  });
});

/** Serves a fetch handler over real HTTP, through the same bridge as the conformance suite. */
async function serveFetch(handler: FetchHandler): Promise<string> {
  const served = await serveFetchOverNode(handler);
  bridges.push(served.close);
  return served.baseUrl;
}

describe('the fetch handler over real HTTP', () => {
  it('sets a key, chats plainly and streams chunk by chunk through a Node bridge', async () => {
    const { handler } = await setUp();
    const base = await serveFetch(handler);
    const patch = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
      body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
    });
    expect(patch.status).toBe(200);
    const chat = (body: unknown) =>
      fetch(`${base}/v2/llm/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const plain = await chat(hello());
    expect(plain.status).toBe(200);
    expect(await plain.json()).toMatchObject({ object: 'chat.completion', provider: 'anthropic', usage: { key_source: 'user' } });
    const streamed = await chat(hello({ stream: true }));
    const events = sseEvents(await streamed.text());
    expect(events.at(-1)).toBe('[DONE]');
    const text = events.flatMap((event) =>
      event === '[DONE]' ? [] : (event as { choices: Array<{ delta: { content?: string } }> }).choices,
    );
    expect(text.map((choice) => choice.delta.content ?? '').join('')).not.toBe('');
  });

  it('aborts the provider call when the HTTP client goes away mid-stream', async () => {
    const { handler } = await setUp();
    await withAnthropicKey(handler);
    mock.setChunkGapMs(50);
    const base = await serveFetch(handler);
    const first = await new Promise<string>((resolve, reject) => {
      const client = httpRequest(
        `${base}/v2/llm/chat/completions`,
        { method: 'POST', headers: { authorization: 'Bearer alice', 'content-type': 'application/json' } },
        (response) =>
          response.once('data', (chunk: Buffer) => {
            resolve(chunk.toString());
            client.destroy();
          }),
      );
      client.on('error', reject);
      client.end(JSON.stringify(hello({ stream: true })));
    });
    expect(first).toMatch(/^data: /);
    await expect.poll(() => mock.requests.find((request) => request.provider === 'anthropic')?.aborted, { timeout: 5_000 }).toBe(true);
  });
});
