import { once } from 'node:events';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { onAbort, type Byokit, type ByokitRequest, type Cancellation } from '@byokit/core';
import { expectChunkByChunk, fakeProviderKey } from '@byokit/core/testing';
import compress from '@fastify/compress';
import Fastify, { type FastifyReply } from 'fastify';
import { byokitPlugin } from './index.js';
import { authenticate, newByokit, startFastify } from './test-hosts.js';

const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const alice = { authorization: 'Bearer alice' };

/** The status of each of alice's usage records, newest first, as the usage route gives them. */
async function usageStatuses(byokit: Pick<Byokit, 'handle'>): Promise<string[]> {
  const answer = await byokit.handle({
    method: 'GET',
    url: '/llm/usage/me/events',
    headers: {},
    body: { kind: 'none' },
    authenticate: () => ({ userId: 'alice', isAdmin: false }),
  });
  return (JSON.parse(answer!.body as string) as { data: Array<{ status: string }> }).data.map((record) => record.status);
}
const json = { 'content-type': 'application/json' };

describe('Fastify plugin: the user guide through Fastify', () => {
  it('sets a personal key, lists the models it opens, and chats through it', async () => {
    const { byokit, mock } = await newByokit();
    const { base } = await startFastify(byokit);
    const key = fakeProviderKey('anthropic');

    const patch = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { ...alice, ...json, 'x-request-id': 'req-42' },
      body: JSON.stringify({ anthropic_api_key: key }),
    });
    expect(patch.status).toBe(200);
    expect(patch.headers.get('x-request-id')).toBe('req-42');
    expect(patch.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await patch.json()).toMatchObject({ has_anthropic_key: true, keys: { anthropic: { hint: `…${key.slice(-4)}` } } });

    const models = await fetch(`${base}/v2/llm-models/?is_active=true`, { headers: alice });
    const { data } = (await models.json()) as { data: Array<{ id: string; provider: string; key_source: string }> };
    expect(new Set(data.map((model) => model.provider))).toEqual(new Set(['anthropic']));
    expect(data.map((model) => model.id)).toContain(GUIDE_MODEL_ID);

    const chat = await fetch(`${base}/v2/llm/chat/completions`, {
      method: 'POST',
      headers: { ...alice, ...json },
      body: JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 1024 }),
    });
    expect(chat.status).toBe(200);
    expect(chat.headers.get('x-byok-key-source')).toBe('user');
    const answer = await chat.json();
    expect(answer).toMatchObject({ object: 'chat.completion', provider: 'anthropic', usage: { key_source: 'user' } });
    expect(answer.choices[0].message.content.length).toBeGreaterThan(0);
    expect(mock.requests).toHaveLength(1);
    expect(mock.requests[0]).toMatchObject({ provider: 'anthropic', path: '/v1/messages', key });
  });

  it('answers 401 in the contract shape when the host says nobody is signed in', async () => {
    const { base } = await startFastify((await newByokit()).byokit);
    const anonymous = await fetch(`${base}/v2/users/me/api-key-status`);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('unauthenticated');
  });
});

/** Gives alice a personal Anthropic key, as the guide's user does before a chat. */
async function saveAliceAnthropicKey(byokit: Byokit): Promise<void> {
  await byokit.handle({
    method: 'PATCH',
    url: '/users/me/api-key',
    headers: json,
    body: { kind: 'parsed', value: { anthropic_api_key: fakeProviderKey('anthropic') } },
    authenticate: () => ({ userId: 'alice', isAdmin: false }),
  });
}

describe('Fastify plugin: streamed chat', () => {
  async function streamingHost() {
    const { byokit, mock } = await newByokit();
    const { base, logLines } = await startFastify(byokit);
    await saveAliceAnthropicKey(byokit);
    const body = JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], stream: true });
    return { base, mock, body, logLines };
  }

  it('sends each chunk as the provider sends it: the first arrives long before the stream ends', async () => {
    const { base, mock, body } = await streamingHost();
    mock.setChunkGapMs(100);
    const response = await fetch(`${base}/v2/llm/chat/completions`, { method: 'POST', headers: { ...alice, ...json }, body });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    // The recorded stream has 11 events 100 ms apart: buffered, the first read would bring the whole answer.
    await expectChunkByChunk(response);
  });

  it('sends the status and headers as soon as the provider accepted the call, not with the first text', async () => {
    const { base, mock, body } = await streamingHost();
    // The provider sends its first event (message_start, no text) and then nothing until the test is over: a head
    // held back until the first write would never come, and the fetch would time out. Proven by what came, not by
    // when (a loaded machine makes any time late).
    mock.setChunkGapMs(60_000);
    // node:http, not fetch: Node's fetch opened a spare connection as its body was cancelled, which on Node 20 and 22
    // it left open unused, and Fastify's app.close() waited on it past the hook's timeout.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const client = httpRequest(`${base}/v2/llm/chat/completions`, { method: 'POST', headers: { ...alice, ...json } }, resolve);
      client.on('error', reject);
      client.end(body);
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    response.destroy();
    await mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted);
  });

  it('aborts the provider call when the client goes away mid-stream, and logs it through request.log', async () => {
    const { base, mock, body, logLines } = await streamingHost();
    mock.setChunkGapMs(100);
    await new Promise<void>((resolve) => {
      const client = httpRequest(`${base}/v2/llm/chat/completions`, { method: 'POST', headers: { ...alice, ...json } }, (response) =>
        response.once('data', () => (client.destroy(), resolve())),
      );
      client.on('error', () => {});
      client.end(body);
    });
    const upstream = await mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted, { timeoutMs: 5_000 });
    expect(upstream.aborted).toBe(true);
    // Fastify's request logger (with its reqId), not a logger of the adapter's own.
    await expect.poll(() => logLines.find((line) => line.includes('the client went away'))).toMatch(/"reqId":"req-/);
  });

  it("aborts the request's signal when the client goes away before any answer (a provider still thinking)", async () => {
    let signal: Cancellation | undefined;
    const thinking: Pick<Byokit, 'handle'> = {
      handle: (request) =>
        new Promise((resolve) => {
          signal = request.signal;
          onAbort(request.signal!, () => resolve({ status: 499, headers: {}, body: '' }));
        }),
    };
    const { base } = await startFastify(thinking);
    const client = httpRequest(`${base}/v2/llm/chat/completions`, { method: 'POST', headers: { ...alice, ...json } });
    client.on('error', () => {});
    client.end('{}');
    await expect.poll(() => signal).toBeDefined();
    expect(signal!.aborted).toBe(false);
    client.destroy();
    await expect.poll(() => signal!.aborted).toBe(true);
  });

  it('writes chunks as they are produced, whatever produced them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stand_in: Pick<Byokit, 'handle'> = {
      handle: async (_request: ByokitRequest) => ({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: (async function* () {
          yield 'data: first\n\n';
          await gate;
          yield 'data: second\n\n';
        })(),
      }),
    };
    const { base } = await startFastify(stand_in);
    const reader = (await fetch(`${base}/v2/anything`)).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    release();
    let rest = '';
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest += new TextDecoder().decode(part.value);
    expect(rest).toBe('data: second\n\n');
  });
});

describe('Fastify plugin: in a host that compresses its answers (@fastify/compress)', () => {
  it("sends a streamed chat's chunks as they come when the host's compressible types take every text/ type", async () => {
    const { byokit, mock } = await newByokit();
    await saveAliceAnthropicKey(byokit);
    // A host widening @fastify/compress's types to every text/ type (its default leaves out text/event-stream):
    // the plugin does not read no-transform, so it gzipped the stream and held every chunk until the end.
    const { base } = await startFastify(byokit, {
      setUp: (app) => void app.register(compress, { customTypes: /^text\/|\/json/, threshold: 0 }),
    });
    mock.setChunkGapMs(100);
    const headers = { ...alice, ...json, 'accept-encoding': 'gzip' };
    const body = JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], stream: true });
    const response = await fetch(`${base}/v2/llm/chat/completions`, { method: 'POST', headers, body });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toBeNull();
    // 11 events 100 ms apart: held by gzip, the first read would bring the whole answer.
    await expectChunkByChunk(response);

    // The host's compression still applies to byokit's whole answers.
    const models = await fetch(`${base}/v2/llm-models/?is_active=true`, { headers: { ...alice, 'accept-encoding': 'gzip' } });
    expect(models.headers.get('content-encoding')).toBe('gzip');
    expect((await models.json()).data.length).toBeGreaterThan(0);
  });
});

describe("Fastify plugin: under fastify.inject (light-my-request), as a host's own tests call it", () => {
  it('answers the routes, a streamed chat included, without a socket', async () => {
    const { byokit } = await newByokit();
    const { app } = await startFastify(byokit);
    const key = fakeProviderKey('anthropic');
    const patch = await app.inject({ method: 'PATCH', url: '/v2/users/me/api-key', headers: alice, payload: { anthropic_api_key: key } });
    expect([patch.statusCode, patch.json().keys.anthropic.hint]).toEqual([200, `…${key.slice(-4)}`]);

    const payload = { model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], stream: true };
    const chat = await app.inject({ method: 'POST', url: '/v2/llm/chat/completions', headers: alice, payload });
    expect(chat.statusCode).toBe(200);
    expect(chat.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(chat.body).toMatch(/^data: \{"id":"chatcmpl-/);
    expect(chat.body.trimEnd().endsWith('data: [DONE]')).toBe(true);

    const usage = await app.inject({ method: 'GET', url: '/v2/llm/usage/me/events', headers: alice });
    expect(usage.json().data.map((record: { status: string }) => record.status)).toEqual(['ok']);
  });
});

describe('Fastify plugin: registering', () => {
  it("refuses to register without authenticate or byokit, or with createByokit's promise not awaited, instead of answering every request 500", async () => {
    const { byokit } = await newByokit();
    const withoutAuth = Fastify();
    await expect(withoutAuth.register(byokitPlugin, { byokit, prefix: '/v2' } as never).ready()).rejects.toThrow(
      new TypeError(
        'byokit: `authenticate` must be your auth function, (request) => { userId, isAdmin } or null (or a promise of it); got undefined',
      ),
    );
    const withoutByokit = Fastify();
    await expect(withoutByokit.register(byokitPlugin, { authenticate, prefix: '/v2' } as never).ready()).rejects.toThrow(
      new TypeError('byokitPlugin needs `byokit`, the instance createByokit() resolves to; got undefined'),
    );
    const withPromise = Fastify();
    await expect(
      withPromise.register(byokitPlugin, { byokit: Promise.resolve(byokit), authenticate, prefix: '/v2' } as never).ready(),
    ).rejects.toThrow(
      new TypeError('byokitPlugin needs `byokit`, the instance createByokit() resolves to; got a Promise: await createByokit(…) first'),
    );
  });
});

describe('Fastify plugin: a good guest in the host app', () => {
  it("leaves the host's routes, JSON parser and 404 alone, and hands it the paths that are not byokit's", async () => {
    const { byokit } = await newByokit();
    const { base } = await startFastify(byokit, {
      setUp: (app) => {
        app.post('/v2/host-echo', async (request) => ({ echoed: request.body }));
        app.get('/v2/host-route', async () => ({ host: true }));
        app.post('/elsewhere', async (request) => ({ echoed: request.body }));
        app.setNotFoundHandler((request, reply) => reply.code(404).send({ hostNotFound: request.url }));
      },
    });
    const echo = (path: string) => fetch(`${base}${path}`, { method: 'POST', headers: json, body: '{"a":1}' });
    // The host's own JSON parser still parses, beside byokit's prefix and inside it.
    expect(await (await echo('/v2/host-echo')).json()).toEqual({ echoed: { a: 1 } });
    expect(await (await echo('/elsewhere')).json()).toEqual({ echoed: { a: 1 } });
    expect(await (await fetch(`${base}/v2/host-route`)).json()).toEqual({ host: true });
    // Not byokit's: the host's not-found handler answers, inside the prefix and out.
    for (const path of ['/v2/no-such-route', '/v2/users/me/api-key-status/extra', '/nowhere']) {
      const missing = await fetch(`${base}${path}`, { method: 'POST', headers: json, body: '{}' });
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ hostNotFound: path });
    }
  });

  it('answers below a prefix that a client sends escaped (`/café/v2` as `/caf%C3%A9/v2`), as Fastify routes it', async () => {
    const { byokit } = await newByokit();
    const app = Fastify();
    try {
      app.get('/café/v2/host-route', async () => ({ host: true }));
      await app.register(byokitPlugin, { byokit, authenticate, prefix: '/café/v2' });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const status = await fetch(`${base}/café/v2/users/me/api-key-status`, { headers: alice });
      const route = await fetch(`${base}/café/v2/host-route`);
      expect([status.status, await status.text(), route.status]).toEqual([200, expect.stringContaining('"has_openai_key":false'), 200]);
    } finally {
      await app.close();
    }
  });

  it("answers below a prefix written with a trailing slash (`prefix: '/v2/'`), as Fastify routes it", async () => {
    const { byokit } = await newByokit();
    const app = Fastify();
    try {
      await app.register(byokitPlugin, { byokit, authenticate, prefix: '/v2/' });
      const status = await app.inject({ method: 'GET', url: '/v2/users/me/api-key-status', headers: alice });
      expect([status.statusCode, status.body]).toEqual([200, expect.stringContaining('"has_openai_key":false')]);
    } finally {
      await app.close();
    }
  });

  it("falls through to Fastify's own 404 when the host has no handler of its own", async () => {
    const { base } = await startFastify((await newByokit()).byokit);
    const missing = await fetch(`${base}/v2/no-such-route`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'Not Found', message: 'Route GET:/v2/no-such-route not found' });
  });

  it("runs the host's hooks on byokit's answers and logs them as Fastify logs any request", async () => {
    const { byokit } = await newByokit();
    const { base, logLines } = await startFastify(byokit, {
      setUp: (app) => app.addHook('onSend', async (_request, reply) => void reply.header('x-host-hook', 'ran')),
    });
    const response = await fetch(`${base}/v2/users/me/api-key-status`, { headers: alice });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-host-hook')).toBe('ran');
    await expect.poll(() => logLines.some((line) => line.includes('request completed') && line.includes('"statusCode":200'))).toBe(true);
  });

  it("keeps the host's error handler for the host's routes", async () => {
    const { base } = await startFastify((await newByokit()).byokit, {
      setUp: (app) => {
        app.setErrorHandler((error, _request, reply) => reply.code(418).send({ host: (error as Error).message }));
        app.post('/v2/host-echo', async (request) => ({ echoed: request.body }));
      },
    });
    const bad = await fetch(`${base}/v2/host-echo`, { method: 'POST', headers: json, body: '{"a":' });
    expect(bad.status).toBe(418);
  });
});

describe('Fastify plugin: body limits', () => {
  const send = (base: string, body: string, headers: Record<string, string> = { ...alice, ...json }) =>
    fetch(`${base}/v2/users/me/api-key`, { method: 'PATCH', headers, body });

  it("refuses a body over the route's limit with 413 payload_too_large in the contract's shape", async () => {
    const { base } = await startFastify((await newByokit()).byokit);
    const large = await send(base, JSON.stringify({ openai_api_key: 'x'.repeat(50_000) }));
    expect(large.status).toBe(413);
    const { error } = await large.json();
    expect(error).toEqual({ code: 'payload_too_large', message: expect.stringContaining('8192 bytes'), request_id: expect.any(String) });
  });

  it("holds a body to Fastify's bodyLimit too, in the contract's shape, streamed or declared", async () => {
    const { base } = await startFastify((await newByokit()).byokit, { bodyLimit: 1000 });
    const declared = await send(base, JSON.stringify({ openai_api_key: 'x'.repeat(2_000) }));
    expect(declared.status).toBe(413);
    expect((await declared.json()).error).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('1000 bytes') });
    // Chunked, with no Content-Length: counted as it arrives.
    const chunked = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { ...alice, ...json },
      body: new Blob([JSON.stringify({ openai_api_key: 'x'.repeat(2_000) })]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).error.code).toBe('payload_too_large');
  });

  it("holds a streamed body to bodyLimit to the byte: one byte over is refused, the limit itself is byokit's to judge", async () => {
    const { base } = await startFastify((await newByokit()).byokit, { bodyLimit: 1000 });
    // Chunked, with no Content-Length, so that only the bytes counted as they arrive decide.
    const chunked = (bytes: number) => {
      const body = JSON.stringify({ openai_api_key: 'x'.repeat(bytes - '{"openai_api_key":""}'.length) });
      expect(body).toHaveLength(bytes);
      return fetch(`${base}/v2/users/me/api-key`, {
        method: 'PATCH',
        headers: { ...alice, ...json },
        body: new Blob([body]).stream(),
        duplex: 'half',
      } as RequestInit);
    };
    const over = await chunked(1001);
    expect({ status: over.status, code: (await over.json()).error.code }).toEqual({ status: 413, code: 'payload_too_large' });
    const within = await chunked(1000);
    expect({ status: within.status, code: (await within.json()).error.code }).toEqual({ status: 422, code: 'invalid_key_format' });
  });

  it('refuses a body whose declared length passes bodyLimit at once, without waiting for it to arrive', async () => {
    const { base } = await startFastify((await newByokit()).byokit, { bodyLimit: 1000 });
    // A client that declares 1,001 bytes, one over (within the key route's own 8 KiB), and sends 20 of them, then waits.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/v2/users/me/api-key`, {
        method: 'PATCH',
        headers: { ...alice, ...json, 'content-length': '1001' },
      });
      const timer = setTimeout(() => {
        request.destroy();
        reject(new Error('no answer within 2 s: the server waits for the declared body'));
      }, 2000);
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          clearTimeout(timer);
          // The rest of the declared body never comes: the client hangs up, as a real one would.
          request.destroy();
          resolve({ status: response.statusCode!, body });
        });
      });
      request.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.write('{"openai_api_key":"x');
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining('1000 bytes') });
  });

  it('takes bodyLimit from the plugin options over the server default, and checks auth before size', async () => {
    const { base } = await startFastify((await newByokit()).byokit, { bodyLimit: 100_000, pluginBodyLimit: 500 });
    expect((await send(base, JSON.stringify({ openai_api_key: 'x'.repeat(1_000) }))).status).toBe(413);
    const anonymous = await send(base, JSON.stringify({ openai_api_key: 'x'.repeat(1_000) }), json);
    expect(anonymous.status).toBe(401);
  });
});

describe('Fastify plugin: a body refused while it is still arriving', () => {
  // byokit reads a body only as far as it needs: to the route's limit (8 KiB for keys), or one byte on a route that
  // takes none. What the client sends after that must still be read and dropped, or the keep-alive connection hangs:
  // the next request on it is never read, and the socket is held open with nothing to end it.
  const refusals = [
    {
      what: "a chunked key body over the route's 8 KiB",
      method: 'PATCH',
      path: '/v2/users/me/api-key',
      first: `{"openai_api_key":"${'x'.repeat(10_000)}`,
      status: 413,
    },
    {
      what: 'a chunked body on a route that takes none',
      method: 'GET',
      path: '/v2/users/me/api-key-status',
      first: '{"provider":',
      status: 422,
    },
  ];

  for (const refusal of refusals) {
    it(`answers the next request on the connection after refusing ${refusal.what}`, async () => {
      const { app } = await startFastify((await newByokit()).byokit);
      const connection = await keepAliveConnection((app.server.address() as AddressInfo).port);
      connection.write(
        `${refusal.method} ${refusal.path} HTTP/1.1\r\nHost: byokit\r\nAuthorization: Bearer alice\r\n` +
          `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(refusal.first)}`,
      );
      const refused = await connection.nextAnswer();
      expect(refused.status).toBe(refusal.status);
      // The rest of the body, sent after the refusal, then a second request on the same connection.
      connection.write(`${chunk('x'.repeat(200_000) + '"}')}0\r\n\r\n`);
      connection.write('GET /v2/users/me/api-key-status HTTP/1.1\r\nHost: byokit\r\nAuthorization: Bearer alice\r\n\r\n');
      const next = await connection.nextAnswer();
      expect(next.status).toBe(200);
      expect(JSON.parse(next.body)).toMatchObject({ has_openai_key: false });
    });
  }
});

describe('Fastify plugin: a compressed body refused unread, in a host running @fastify/compress', () => {
  // @fastify/compress inflates every request body on its way to the route (its preParsing hook, on by default). A body
  // byokit refuses before reading it (401 before any body; 415, for byokit takes no Content-Encoding) is then piped
  // into an inflater no one reads: Node does not drop it as it drops a request left unread, and the connection hangs.
  for (const refusal of [
    { what: 'unauthenticated (401)', headers: 'Content-Type: application/json\r\n', status: 401 },
    { what: 'compressed (415)', headers: 'Authorization: Bearer alice\r\nContent-Type: application/json\r\n', status: 415 },
    // Fastify refuses a malformed Content-Type after the host's preParsing hooks, and the plugin's error handler
    // hands the request to byokit, with the body still in the inflater.
    { what: 'unauthenticated, with a malformed Content-Type (401)', headers: 'Content-Type: json\r\n', status: 401 },
    { what: 'with a malformed Content-Type (415)', headers: 'Authorization: Bearer alice\r\nContent-Type: json\r\n', status: 415 },
  ]) {
    it(`answers the next request on the connection after refusing a gzip body as ${refusal.what}`, async () => {
      const { app } = await startFastify((await newByokit()).byokit, { setUp: (host) => void host.register(compress) });
      const connection = await keepAliveConnection((app.server.address() as AddressInfo).port);
      // Level 0: stored, not shrunk, so that the body is larger than the buffers between the socket and the inflater.
      const body = gzipSync(JSON.stringify({ openai_api_key: 'x'.repeat(400_000) }), { level: 0 });
      connection.write(
        `PATCH /v2/users/me/api-key HTTP/1.1\r\nHost: byokit\r\n${refusal.headers}` +
          `Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      connection.write(body);
      expect((await connection.nextAnswer()).status).toBe(refusal.status);
      connection.write('GET /v2/users/me/api-key-status HTTP/1.1\r\nHost: byokit\r\nAuthorization: Bearer alice\r\n\r\n');
      const next = await connection.nextAnswer();
      expect(next.status).toBe(200);
      expect(JSON.parse(next.body)).toMatchObject({ has_openai_key: false });
    });
  }
});

/** One piece of a chunked body. */
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

/**
 * A keep-alive HTTP/1.1 connection over node:net, written as is; `nextAnswer` resolves the next answer once its
 * whole body (by its Content-Length) has come, and rejects if the server closes the connection first.
 */
async function keepAliveConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  cleanupsOfThisFile.push(() => socket.destroy());
  let received = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  let closed = false;
  socket.on('data', (data: Buffer) => {
    received = Buffer.concat([received, data]);
    waiting?.();
  });
  socket.on('close', () => {
    closed = true;
    waiting?.();
  });
  socket.on('error', () => {});
  const answerIn = (bytes: Buffer) => {
    const headEnd = bytes.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const head = bytes.subarray(0, headEnd).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (bytes.length < headEnd + 4 + length) return undefined;
    const status = Number(head.split(' ')[1]);
    return { status, body: bytes.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8'), size: headEnd + 4 + length };
  };
  return {
    write: (data: string | Uint8Array) => socket.write(data),
    nextAnswer: () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const check = () => {
          const answer = answerIn(received);
          if (answer) {
            waiting = undefined;
            received = received.subarray(answer.size);
            resolve(answer);
          } else if (closed) reject(new Error(`the server closed the connection; it had sent: ${received.toString('latin1')}`));
        };
        waiting = check;
        check();
      }),
  };
}

const cleanupsOfThisFile: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanupsOfThisFile.splice(0)) cleanup();
});

describe("Fastify plugin: a host that answers the request itself while byokit's call is under way", () => {
  // The host answers while the provider is still thinking (its own timeout, say: here it fires as the provider gets
  // the request). byokit's answer, when it comes, is dropped unsent and its call let go of (the request's signal
  // aborted), as for a client gone. A host that answers through Fastify ends the response, which aborts the call;
  // its provider holds its answer. One that writes on reply.raw ends its answer only once byokit has let go (or after
  // 2 s, so that a byokit that writes on fails on what the client got), its provider answering at once: a plain
  // answer is then whole, and recorded as such, before byokit finds the host's begun.
  type Meanwhile = (reply: FastifyReply, letGo: Promise<void>) => void;
  const hosts: Array<{ what: string; meanwhile: Meanwhile; head: string; body: string; providerHolds?: true }> = [
    {
      what: "answers through Fastify (its timeout's reply.code(504).send())",
      meanwhile: (reply) => void reply.code(504).send({ host: 'timed out' }),
      head: 'application/json; charset=utf-8',
      body: '{"host":"timed out"}',
      providerHolds: true,
    },
    {
      what: 'writes its head and the start of its body on reply.raw, and ends it later',
      meanwhile: (reply, letGo) => {
        reply.raw.writeHead(504, { 'content-type': 'text/plain' });
        reply.raw.write('timed out');
        void letGo.then(() => reply.raw.end(', for good'));
      },
      head: 'text/plain',
      body: 'timed out, for good',
    },
    {
      what: 'takes the reply over (reply.hijack()) and answers on reply.raw later',
      meanwhile: (reply, letGo) => {
        reply.hijack();
        void letGo.then(() => reply.raw.writeHead(504, { 'content-type': 'text/plain' }).end('timed out'));
      },
      head: 'text/plain',
      body: 'timed out',
    },
  ];

  for (const host of hosts) {
    for (const stream of [false, true]) {
      it(`keeps the host's answer whole when it ${host.what}, ${stream ? 'the chat streamed' : 'a plain chat'}`, async () => {
        const { byokit, mock } = await newByokit();
        await saveAliceAnthropicKey(byokit);
        // A stream's provider sends its first event, then holds the rest: still answering when byokit lets go.
        mock.setStreamPacer(() => new Promise(() => {}));
        if (host.providerHolds) mock.setAnswerDelayMs(60_000);
        let signal: Cancellation | undefined;
        const watched: Pick<Byokit, 'handle'> = { handle: (request) => ((signal = request.signal), byokit.handle(request)) };
        const { base, logLines } = await startFastify(watched, {
          setUp: (app) =>
            app.addHook('onRequest', async (request, reply) => {
              if (!request.url.endsWith('/chat/completions')) return;
              // The host's own timeout, firing as the provider has the request.
              void mock
                .waitForRequest((call) => call.provider === 'anthropic')
                .then(
                  () => {
                    const letGo = new Promise<void>((resolve) => {
                      setTimeout(resolve, 2000).unref();
                      onAbort(signal!, () => setImmediate(resolve));
                    });
                    host.meanwhile(reply, letGo);
                  },
                  () => {},
                );
            }),
        });
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          const body = JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], stream });
          const answer = await exchange(agent, `${base}/v2/llm/chat/completions`, { method: 'POST', headers: { ...alice, ...json } }, body);
          expect([answer.status, answer.headers['content-type'], answer.body]).toEqual([504, host.head, host.body]);

          // The call ends as for a client gone: a stream unread is ended, its provider call aborted and recorded so.
          const record = stream || host.providerHolds ? 'aborted' : 'ok';
          await expect.poll(() => usageStatuses(byokit)).toEqual([record]);
          if (record === 'aborted') expect((await mock.waitForRequest((call) => call.aborted)).aborted).toBe(true);

          // The connection goes on: the next request on it is answered.
          const next = await exchange(agent, `${base}/v2/users/me/api-key-status`, { headers: alice });
          expect([next.status, next.reusedSocket]).toEqual([200, true]);
          // Nothing sent after the host's answer: Fastify warns "Reply was already sent" of a second send.
          expect(logLines.filter((line) => JSON.parse(line).level >= 40)).toEqual([]);
        } finally {
          agent.destroy();
        }
      });
    }
  }
});

/** One request through `agent`, its answer read whole. */
function exchange(agent: Agent, url: string, options: RequestOptions, body?: string) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string; reusedSocket: boolean }>((resolve, reject) => {
    const client = httpRequest(url, { ...options, agent }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: text, reusedSocket: client.reusedSocket }),
      );
      response.on('error', reject);
    });
    client.on('error', reject);
    client.end(body);
  });
}

describe("Fastify plugin: a host's own code that fails as byokit's answer is written", () => {
  for (const stream of [false, true]) {
    it(`hands the failure to the host's error handler, ${stream ? 'a streamed chat ended and recorded as aborted' : 'a plain chat'}`, async () => {
      const { byokit, mock } = await newByokit();
      await saveAliceAnthropicKey(byokit);
      // A stream's provider sends its first event, then holds the rest: still answering when the head fails.
      mock.setStreamPacer(() => new Promise(() => {}));
      const hostErrors: unknown[] = [];
      const { base } = await startFastify(byokit, {
        setUp: (app) => {
          // What on-headers does (express-session's cookie, response-time) on a Node response: the host's code runs
          // once, as the head is first written, here setting a header Node refuses (a user's name with a line break).
          app.addHook('onRequest', async (_request, reply) => {
            const writeHead = reply.raw.writeHead;
            let fired = false;
            reply.raw.writeHead = function (this: typeof reply.raw, ...head: Parameters<typeof writeHead>) {
              if (!fired) {
                fired = true;
                this.setHeader('x-user-name', 'Alice\nSmith');
              }
              return writeHead.apply(this, head);
            } as typeof writeHead;
          });
          // Its type said: Fastify leaves a stream's headers on reply.raw (text/event-stream, where it refuses an object).
          app.setErrorHandler((error: Error & { code?: string }, _request, reply) => {
            hostErrors.push(error);
            return reply.code(500).type('application/json').send({ host: error.code });
          });
        },
      });
      const response = await fetch(`${base}/v2/llm/chat/completions`, {
        method: 'POST',
        headers: { ...alice, ...json },
        body: JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], stream }),
      });
      expect([response.status, await response.json()]).toEqual([500, { host: 'ERR_INVALID_CHAR' }]);
      expect(hostErrors).toEqual([expect.objectContaining({ code: 'ERR_INVALID_CHAR' })]);

      await expect.poll(() => usageStatuses(byokit)).toEqual([stream ? 'aborted' : 'ok']);
      if (stream) expect((await mock.waitForRequest((call) => call.aborted)).aborted).toBe(true);
    }, 15_000);
  }
});
