import type { AddressInfo } from 'node:net';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import compression from 'compression';
import express, { type RequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createByokit,
  Keyring,
  memoryStorage,
  onAbort,
  type Byokit,
  type ByokitRequest,
  type Cancellation,
  type Principal,
} from '@byokit/core';
import { expectChunkByChunk, fakeProviderKey, startMockProviders, type MockProviders } from '@byokit/core/testing';
import { byokitRouter } from './index.js';

const alice: Principal = { userId: 'alice', isAdmin: false };

/** The status of each of alice's usage records, newest first, as the usage route gives them. */
async function usageStatuses(byokit: Pick<Byokit, 'handle'>): Promise<string[]> {
  const answer = await byokit.handle({
    method: 'GET',
    url: '/llm/usage/me/events',
    headers: {},
    body: { kind: 'none' },
    authenticate: () => alice,
  });
  return (JSON.parse(answer!.body as string) as { data: Array<{ status: string }> }).data.map((record) => record.status);
}
const servers: Array<{ close(): void }> = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

/** Starts a real Express app on a free port; `bodyParserFirst` runs `express.json()` before byokit, as many hosts do. */
async function start(byokit: Pick<Byokit, 'handle'>, options: { bodyParserFirst?: boolean; hostMiddleware?: RequestHandler } = {}) {
  const app = express();
  if (options.hostMiddleware) app.use(options.hostMiddleware);
  if (options.bodyParserFirst) app.use(express.json({ limit: '1mb' }));
  app.use('/v2', byokitRouter(byokit, { authenticate: (request) => (request.headers.authorization === 'Bearer alice' ? alice : null) }));
  app.get('/v2/host-route', (_request, response) => void response.json({ host: true }));
  const server = app.listen(0);
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const newByokit = () =>
  createByokit({
    storage: memoryStorage(),
    keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: {},
  });

describe.each([false, true])('Express router (host ran express.json() first: %s)', (bodyParserFirst) => {
  it('sets and reads a personal key over real HTTP', async () => {
    const base = await start(await newByokit(), { bodyParserFirst });
    const key = fakeProviderKey('openai');
    const patch = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json', 'x-request-id': 'req-42' },
      body: JSON.stringify({ openai_api_key: key }),
    });
    expect(patch.status).toBe(200);
    expect(patch.headers.get('x-request-id')).toBe('req-42');
    expect(patch.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await patch.json()).has_openai_key).toBe(true);
    const status = await fetch(`${base}/v2/users/me/api-key-status`, { headers: { authorization: 'Bearer alice' } });
    expect((await status.json()).keys.openai.hint).toBe(`…${key.slice(-4)}`);
  });

  it('refuses unknown fields and oversized bodies with the contract error, whoever parsed the body', async () => {
    const base = await start(await newByokit(), { bodyParserFirst });
    const send = (body: string) =>
      fetch(`${base}/v2/users/me/api-key`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
        body,
      });
    const unknown = await send('{"user_id": "bob", "openai_api_key": null}');
    expect(unknown.status).toBe(422);
    expect((await unknown.json()).error.code).toBe('validation_failed');
    const large = await send(JSON.stringify({ openai_api_key: 'x'.repeat(50_000) }));
    expect(large.status).toBe(413);
    expect((await large.json()).error.code).toBe('payload_too_large');
    // Held to what the client sent, not to what a parser made of it: express.json() makes an empty body {}, and
    // drops the whitespace that pads this one past the key routes' 8 KiB.
    const empty = await send('');
    expect([empty.status, (await empty.json()).error.code]).toEqual([400, 'invalid_json']);
    const padded = await send(`{"openai_api_key": null}${' '.repeat(20_000)}`);
    expect([padded.status, (await padded.json()).error.code]).toEqual([413, 'payload_too_large']);
  });

  it('refuses a JSON body on DELETE and keeps the keys, whoever parsed it; an empty one passes', async () => {
    const base = await start(await newByokit(), { bodyParserFirst });
    const headers = { authorization: 'Bearer alice', 'content-type': 'application/json' };
    await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ openai_api_key: fakeProviderKey('openai') }),
    });
    const refused = await fetch(`${base}/v2/users/me/api-key`, { method: 'DELETE', headers, body: '{"provider":"openai"}' });
    expect([refused.status, (await refused.json()).error.code]).toEqual([422, 'validation_failed']);
    const status = await fetch(`${base}/v2/users/me/api-key-status`, { headers });
    expect((await status.json()).has_openai_key).toBe(true);
    const removed = await fetch(`${base}/v2/users/me/api-key?provider=openai`, { method: 'DELETE', headers, body: '' });
    expect([removed.status, (await removed.json()).has_openai_key]).toEqual([200, false]);
  });

  it('refuses JSON nested 20,000 deep with 400 invalid_json, whoever parsed it', async () => {
    const base = await start(await newByokit(), { bodyParserFirst });
    const deep = await fetch(`${base}/v2/llm/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
      body: `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    });
    expect([deep.status, (await deep.json()).error.code]).toEqual([400, 'invalid_json']);
  });

  it('answers 401 in the contract shape and passes paths it does not own on to the host', async () => {
    const base = await start(await newByokit(), { bodyParserFirst });
    const anonymous = await fetch(`${base}/v2/users/me/api-key-status`);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('unauthenticated');
    expect(await (await fetch(`${base}/v2/host-route`)).json()).toEqual({ host: true });
  });
});

describe('Express router: mounting', () => {
  it('answers below any mount path, a nested one too, and the OpenAPI document names the path given in openApi.prefix', async () => {
    // README, "Mount path": Express strips the mount path, so any path works; openApi.prefix names it.
    const byokit = await createByokit({
      storage: memoryStorage(),
      keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
      environment: {},
      openApi: { prefix: '/api/llm' },
    });
    const app = express();
    const api = express.Router();
    api.use('/llm', byokitRouter(byokit, { authenticate: (request) => (request.headers.authorization === 'Bearer alice' ? alice : null) }));
    app.use('/api', api);
    const server = app.listen(0);
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const status = await fetch(`${base}/api/llm/users/me/api-key-status`, { headers: { authorization: 'Bearer alice' } });
    expect([status.status, (await status.json()).has_anthropic_key]).toEqual([200, false]);
    const document = await fetch(`${base}/api/llm/openapi.json`);
    expect((await document.json()).servers.map((server: { url: string }) => server.url)).toEqual(['/api/llm']);
    expect((await fetch(`${base}/v2/users/me/api-key-status`, { headers: { authorization: 'Bearer alice' } })).status).toBe(404);
    await byokit.close();
  });

  it('refuses to mount without authenticate, instead of answering every request 500', async () => {
    const byokit = await newByokit();
    const options = { authenticat: () => alice } as unknown as Parameters<typeof byokitRouter>[1];
    expect(() => byokitRouter(byokit, options)).toThrow(
      new TypeError(
        'byokit: `authenticate` must be your auth function, (request) => { userId, isAdmin } or null (or a promise of it); got undefined',
      ),
    );
  });

  it("refuses createByokit's promise not awaited, or no options, where it is mounted, instead of failing every request", async () => {
    const byokit = await newByokit();
    const authenticate = () => alice;
    expect(() => byokitRouter(Promise.resolve(byokit) as never, { authenticate })).toThrow(
      new TypeError('byokitRouter needs the byokit instance createByokit() resolves to; got a Promise: await createByokit(…) first'),
    );
    expect(() => byokitRouter(byokit, undefined as never)).toThrow(
      new TypeError('byokitRouter needs its settings, { authenticate }; got undefined'),
    );
  });

  it('refuses a prefix, which Express takes from where the router is mounted, instead of answering at the root', async () => {
    const byokit = await newByokit();
    const options = { authenticate: () => alice, prefix: '/v2' } as unknown as Parameters<typeof byokitRouter>[1];
    expect(() => byokitRouter(byokit, options)).toThrow(
      new TypeError(
        "byokitRouter has no setting prefix: it takes authenticate (mount it where its routes belong: app.use('/v2', byokitRouter(byokit, { authenticate })))",
      ),
    );
  });
});

describe('Express router: streamed answers', () => {
  /** A byokit stand-in whose one answer is a stream, to prove the adapter writes chunks as they come. */
  function streamingByokit(produce: (request: ByokitRequest) => AsyncIterable<string>): Pick<Byokit, 'handle'> {
    return { handle: async (request) => ({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: produce(request) }) };
  }

  it('writes each chunk as it is produced, without buffering', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const base = await start(
      streamingByokit(async function* () {
        yield 'data: first\n\n';
        await gate;
        yield 'data: second\n\n';
      }),
    );
    const response = await fetch(`${base}/v2/anything`);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('data: first\n\n');
    release();
    let rest = '';
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest += new TextDecoder().decode(part.value);
    expect(rest).toBe('data: second\n\n');
  });

  it('aborts the request signal when the client goes away mid-stream', async () => {
    let signal: Cancellation | undefined;
    const aborted = new Promise<void>((resolve) => {
      const base = start(
        streamingByokit(async function* (request) {
          signal = request.signal;
          onAbort(request.signal!, () => resolve());
          yield 'data: one\n\n';
          await new Promise((wait) => setTimeout(wait, 10_000));
        }),
      );
      void base.then((url) => {
        const client = httpRequest(`${url}/v2/stream`, (response) => response.once('data', () => client.destroy()));
        client.on('error', () => {});
        client.end();
      });
    });
    await aborted;
    expect(signal!.aborted).toBe(true);
  });
});

/** byokit on the mock providers, alice holding a personal Anthropic key. */
async function byokitWithAliceKey(mock: MockProviders): Promise<Byokit> {
  const byokit = await createByokit({
    storage: memoryStorage(),
    keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: {},
    providers: Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl }])),
  });
  await byokit.handle({
    method: 'PATCH',
    url: '/users/me/api-key',
    headers: { 'content-type': 'application/json' },
    body: { kind: 'parsed', value: { anthropic_api_key: fakeProviderKey('anthropic') } },
    authenticate: () => alice,
  });
  return byokit;
}

describe('Express router: in a host that compresses its answers', () => {
  it("sends a streamed chat's first chunk long before its end through the host's compression(), which still gzips whole answers", async () => {
    const mock = await startMockProviders({ chunkGapMs: 100 });
    const byokit = await byokitWithAliceKey(mock);
    try {
      const base = await start(byokit, { hostMiddleware: compression({ threshold: 0 }) });
      const response = await fetch(`${base}/v2/llm/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer alice', 'content-type': 'application/json', 'accept-encoding': 'gzip' },
        body: JSON.stringify({
          model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
          messages: [{ role: 'user', content: 'Hello!' }],
          stream: true,
        }),
      });
      expect(response.status).toBe(200);
      // 11 events 100 ms apart: held by gzip, the first read would bring the whole answer, [DONE] and all.
      await expectChunkByChunk(response);
      // Marked so that compression (and any proxy) leaves it as it is.
      expect(response.headers.get('cache-control')).toMatch(/\bno-transform\b/);
      expect(response.headers.get('content-encoding')).toBeNull();

      // A whole answer is compressed, its length the compressed one's or none (byokit declared the plain length).
      const models = await new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const get = httpRequest(`${base}/v2/llm-models/?is_active=true`, {
          headers: { authorization: 'Bearer alice', 'accept-encoding': 'gzip' },
        });
        get.on('response', async (answer) => resolve({ headers: answer.headers, body: Buffer.concat(await answer.toArray()) }));
        get.on('error', reject).end();
      });
      expect(models.headers['content-encoding']).toBe('gzip');
      expect(models.headers['content-length'] ?? String(models.body.byteLength)).toBe(String(models.body.byteLength));
      expect(JSON.parse(gunzipSync(models.body).toString()).data.length).toBeGreaterThan(0);
    } finally {
      await byokit.close();
      await mock.close();
    }
  });
});

describe("Express router: a host that answers the request itself while byokit's call is under way", () => {
  it("stops the provider call, records it as aborted, and leaves the host's answer and error handler alone", async () => {
    // The provider takes 600 ms to start answering; the host's timeout answers 503 at 100 ms.
    const mock = await startMockProviders({ answerDelayMs: 600, chunkGapMs: 50 });
    const byokit = await byokitWithAliceKey(mock);
    const hostErrors: string[] = [];
    try {
      const app = express();
      app.use((_request, response, next) => {
        const timer = setTimeout(() => void (response.headersSent || response.status(503).json({ host: 'timed out' })), 100);
        response.once('close', () => clearTimeout(timer));
        next();
      });
      app.use('/v2', byokitRouter(byokit, { authenticate: () => alice }));
      app.use((error: Error, _request: express.Request, response: express.Response, next: express.NextFunction) => {
        hostErrors.push(error.message);
        next(error);
      });
      const server = app.listen(0);
      servers.push(server);
      await new Promise((resolve) => server.once('listening', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const response = await fetch(`${base}/v2/llm/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
          messages: [{ role: 'user', content: 'Hello!' }],
          stream: true,
        }),
      });
      expect([response.status, await response.json()]).toEqual([503, { host: 'timed out' }]);

      const upstream = await mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted, { timeoutMs: 3_000 });
      expect(upstream.aborted).toBe(true);
      await expect.poll(() => usageStatuses(byokit)).toEqual(['aborted']);
      expect(hostErrors).toEqual([]);
    } finally {
      // Before, the stream nobody read held byokit.close() (and its budget hold) open for good.
      const closed = await Promise.race([
        byokit.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(resolve, 3_000, 'hung')),
      ]);
      await mock.close();
      expect(closed).toBe('closed');
    }
  }, 15_000);
});

describe("Express router: a host's own code that fails as byokit's answer is written", () => {
  // What on-headers does for express-session (its cookie), response-time and the like: the host's code runs once, as
  // the head is first written, here setting a header from a user's record whose name holds a line break, which Node
  // refuses.
  const headerFromTheSession: RequestHandler = (_request, response, next) => {
    const writeHead = response.writeHead;
    let fired = false;
    response.writeHead = function (this: typeof response, ...head: Parameters<typeof writeHead>) {
      if (!fired) {
        fired = true;
        this.setHeader('x-user-name', 'Alice\nSmith');
      }
      return writeHead.apply(this, head);
    } as typeof writeHead;
    next();
  };

  for (const stream of [false, true]) {
    it(`hands the failure to the host's error handler, ${stream ? 'a streamed chat ended and recorded as aborted' : 'a plain chat'}`, async () => {
      const mock = await startMockProviders();
      // A stream's provider sends its first event, then holds the rest: still answering when the head fails.
      mock.setStreamPacer(() => new Promise(() => {}));
      const byokit = await byokitWithAliceKey(mock);
      const hostErrors: unknown[] = [];
      let closed: unknown;
      try {
        const app = express();
        app.use(headerFromTheSession);
        app.use('/v2', byokitRouter(byokit, { authenticate: () => alice }));
        app.use((error: Error & { code?: string }, _request: express.Request, response: express.Response, _next: express.NextFunction) => {
          hostErrors.push(error);
          response.status(500).json({ host: error.code });
        });
        const server = app.listen(0);
        servers.push(server);
        await new Promise((resolve) => server.once('listening', resolve));
        const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/llm/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
            messages: [{ role: 'user', content: 'Hello!' }],
            stream,
          }),
        });
        expect([response.status, await response.json()]).toEqual([500, { host: 'ERR_INVALID_CHAR' }]);
        // The host's own failure, as its code threw it, with nothing of byokit's (nor of the key) added.
        expect(hostErrors).toEqual([expect.objectContaining({ code: 'ERR_INVALID_CHAR' })]);
        const { message, stack } = hostErrors[0] as Error;
        expect(JSON.stringify({ ...(hostErrors[0] as Error), message, stack })).not.toContain(mock.requests[0]!.key!.slice(0, -4));

        await expect.poll(() => usageStatuses(byokit)).toEqual([stream ? 'aborted' : 'ok']);
        if (stream) expect((await mock.waitForRequest((request) => request.aborted)).aborted).toBe(true);
      } finally {
        // A stream nobody reads holds byokit.close() open for good.
        closed = await Promise.race([
          byokit.close().then(() => 'closed'),
          new Promise((resolve) => setTimeout(resolve, 3_000, 'hung').unref()),
        ]);
        await mock.close();
      }
      expect(closed).toBe('closed');
    }, 15_000);
  }
});
