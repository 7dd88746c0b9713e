import { EventEmitter } from 'node:events';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createByokit, type ByokitOptions } from '../byokit.js';
import { BUILT_IN_MODELS } from '../catalog/built-in-models.js';
import { Keyring } from '../crypto/keyring.js';
import type { ByokitRequest } from '../http/types.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { KEY_BODY_LIMIT_BYTES } from '../http/routes/key-routes.js';
import { MAX_ANSWER_BYTES } from '../providers/provider-http.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { Logger } from '../logging/logger.js';
import { createNodeHandler, drainedOrClosed } from './node-handler.js';
import { rawRequest } from '../testing/raw-request.js';

const alice = { userId: 'alice', isAdmin: false };
const servers: Server[] = [];
afterEach(() =>
  servers.splice(0).forEach((server) => {
    server.closeAllConnections();
    server.close();
  }),
);

/**
 * A plain node:http server: byokit below /v2, the host's own 404 for anything byokit leaves. With `authDelayMs`,
 * the host's authenticate answers that much later, as one that looks up a session does: by then the body is in.
 */
async function serve(byokit: Parameters<typeof createNodeHandler>[0], { authDelayMs }: { authDelayMs?: number } = {}): Promise<string> {
  const principalOf = (request: IncomingMessage) => (request.headers.authorization === 'Bearer alice' ? alice : null);
  const byokitRoutes = createNodeHandler(byokit, {
    authenticate: authDelayMs === undefined ? principalOf : (request) => sleep(authDelayMs).then(() => principalOf(request)),
    prefix: '/v2/',
  });
  const server = createServer(async (request, response) => {
    if (!(await byokitRoutes(request, response))) response.writeHead(404, { 'x-host': 'yes' }).end('host 404');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const newByokit = (options: Partial<ByokitOptions> = {}) =>
  createByokit({
    storage: memoryStorage(),
    keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: {},
    ...options,
  });

/** A logger keeping each warning and error line in `failures`. */
const failureLogger = (failures: unknown[]): Logger => ({
  debug: () => {},
  info: () => {},
  warn: (...line) => failures.push(line),
  error: (...line) => failures.push(line),
});

describe('byokit on a plain node:http server', () => {
  it('refuses to mount without authenticate, instead of answering every request 500', async () => {
    const byokit = await newByokit();
    const options = { prefix: '/v2' } as unknown as Parameters<typeof createNodeHandler>[1];
    expect(() => createNodeHandler(byokit, options)).toThrow(
      new TypeError(
        'byokit: `authenticate` must be your auth function, (request) => { userId, isAdmin } or null (or a promise of it); got undefined',
      ),
    );
  });

  it("refuses createByokit's promise not awaited, or no options, where it is mounted, instead of failing every request", async () => {
    const starting = newByokit();
    const authenticate = () => alice;
    expect(() => createNodeHandler(starting as never, { authenticate })).toThrow(
      new TypeError('createNodeHandler needs the byokit instance createByokit() resolves to; got a Promise: await createByokit(…) first'),
    );
    const byokit = await starting;
    expect(() => createNodeHandler(byokit, undefined as never)).toThrow(
      new TypeError('createNodeHandler needs its settings, { authenticate, prefix? }; got undefined'),
    );
  });

  it('refuses a setting it does not have, naming it, instead of leaving byokit at the root', async () => {
    const byokit = await newByokit();
    const options = { authenticate: () => alice, prefx: '/v2' } as unknown as Parameters<typeof createNodeHandler>[1];
    expect(() => createNodeHandler(byokit, options)).toThrow(
      new TypeError('createNodeHandler has no setting prefx: it takes authenticate, prefix'),
    );
  });

  it('serves the key routes below the prefix, with the contract headers', async () => {
    const base = await serve(await newByokit());
    const key = fakeProviderKey('openai');
    const patch = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json', 'x-request-id': 'req-7' },
      body: JSON.stringify({ openai_api_key: key }),
    });
    expect(patch.status).toBe(200);
    expect(patch.headers.get('x-request-id')).toBe('req-7');
    expect(patch.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const status = await fetch(`${base}/v2/users/me/api-key-status?provider=openai`, { headers: { authorization: 'Bearer alice' } });
    expect((await status.json()).keys.openai.hint).toBe(`…${key.slice(-4)}`);
    const anonymous = await fetch(`${base}/v2/users/me/api-key-status`);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('unauthenticated');
  });

  it('serves a request whose target is in absolute form (`GET http://host/v2/…`), as Node hands it on', async () => {
    // RFC 9112 §3.2.2: a server must accept the absolute form; Node's request.url is then the whole URI.
    const base = await serve(await newByokit());
    const { port } = new URL(base);
    for (const origin of [base, 'http://api.example.com', 'HTTPS://API.EXAMPLE.COM:8443']) {
      const answer = await rawRequest(Number(port), `GET ${origin}/v2/users/me/api-key-status?provider=openai HTTP/1.1`);
      expect([origin, answer.split('\r\n')[0], answer.split('\r\n\r\n')[1]]).toEqual([
        origin,
        'HTTP/1.1 200 OK',
        expect.stringContaining('"openai":{"configured":false'),
      ]);
    }
    // Outside the prefix, it is still the host's.
    expect(await rawRequest(Number(port), `GET ${base}/elsewhere/v2/users/me HTTP/1.1`)).toMatch(/^HTTP\/1\.1 404 [^]*\r\nx-host: yes\r\n/);
  });

  it('leaves paths outside the prefix, or unknown below it, to the host, having written nothing', async () => {
    const base = await serve(await newByokit());
    for (const path of ['/', '/v2x/users/me/api-key-status', '/elsewhere/v2/users/me', '/v2/not-a-route']) {
      const response = await fetch(`${base}${path}`);
      expect([path, response.status, response.headers.get('x-host')]).toEqual([path, 404, 'yes']);
    }
  });

  it('writes a streamed answer chunk by chunk, and aborts its signal when the client goes away', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let seen: ByokitRequest | undefined;
    const streaming = {
      handle: async (request: ByokitRequest) => {
        seen = request;
        return {
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
          body: (async function* () {
            yield 'data: first\n\n';
            await gate;
            yield 'data: second\n\n';
          })(),
        };
      },
    };
    const base = await serve(streaming);
    const first = await new Promise<string>((resolve, reject) => {
      const client = httpRequest(`${base}/v2/stream`, (response) =>
        response.once('data', (chunk: Buffer) => {
          resolve(chunk.toString());
          client.destroy();
        }),
      );
      client.on('error', reject);
      client.end();
    });
    expect(first).toBe('data: first\n\n');
    await expect.poll(() => seen?.signal?.aborted).toBe(true);
    release();
  });

  it.each([
    ['a plain answer', () => 'done'],
    [
      'a streamed answer',
      () =>
        (async function* () {
          yield 'data: first\n\n';
          yield 'data: [DONE]\n\n';
        })(),
    ],
  ])('leaves the signal of %s written whole unaborted: the client did not go away', async (_name, body) => {
    const signals: ByokitRequest['signal'][] = [];
    const answering = {
      handle: async (request: ByokitRequest) => {
        signals.push(request.signal);
        return { status: 200, headers: { 'content-type': 'text/plain' }, body: body() };
      },
    };
    const base = await serve(answering);
    // Keep-alive connections and one each (the response's close comes on another turn then).
    for (const agent of [new Agent({ keepAlive: true }), false as const]) {
      for (let round = 0; round < 10; round++) {
        const text = await new Promise<string>((resolve, reject) => {
          const client = httpRequest(`${base}/v2/answer`, { agent }, (response) => {
            let received = '';
            response.on('data', (chunk: Buffer) => (received += chunk.toString()));
            response.on('end', () => resolve(received));
          });
          client.on('error', reject);
          client.end();
        });
        expect(text).toMatch(/done|DONE/);
      }
      if (agent) agent.destroy();
    }
    // Every response's close event has come by now.
    await sleep(20);
    expect(signals.filter((signal) => signal?.aborted)).toHaveLength(0);
    expect(signals).toHaveLength(20);
  });

  it.each([
    ['a flood, read as it arrives', undefined, 64],
    ['just over the limit, in whole before a slow authenticate answered', 50, 1],
  ])(
    'refuses a chunked body over the limit with 413 (%s), drops the rest, and keeps the connection for the next request',
    async (_, authDelayMs, pieces) => {
      const base = await serve(await newByokit(), { authDelayMs });
      // One connection for both requests: the second proves the first's extra bytes did not jam it.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const send = (body: string[] | string) =>
        new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
          const client = httpRequest(
            `${base}/v2/users/me/api-key`,
            { method: 'PATCH', agent, headers: { authorization: 'Bearer alice', 'content-type': 'application/json' } },
            (response) => {
              let text = '';
              response.on('data', (chunk: Buffer) => (text += chunk));
              response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text, socket: client.socket }));
            },
          );
          client.on('error', reject);
          // No Content-Length: the body goes chunked, so only reading it can find it too large.
          for (const piece of Array.isArray(body) ? body : [body]) client.write(piece);
          client.end();
        });
      // The key routes take 8 KiB.
      const flood = await send(Array.from({ length: pieces }, () => `"${'x'.repeat(16 * 1024)}"`));
      expect(flood.status).toBe(413);
      expect(JSON.parse(flood.body).error.code).toBe('payload_too_large');
      const next = await send(JSON.stringify({ openai_api_key: fakeProviderKey('openai') }));
      expect(next.status).toBe(200);
      expect(next.socket).toBe(flood.socket);
      agent.destroy();
    },
  );

  it('leaves no listener on the response once it drained: a long stream to a slow client adds none per wait', async () => {
    const response = new EventEmitter() as unknown as ServerResponse;
    for (let wait = 0; wait < 20; wait++) {
      const drained = drainedOrClosed(response);
      response.emit('drain');
      await drained;
    }
    expect([response.listenerCount('drain'), response.listenerCount('close')]).toEqual([0, 0]);
  });

  it('takes a chunked body of exactly the limit read as it arrives: 8 KiB on the key routes', async () => {
    const byokitRoutes = createNodeHandler(await newByokit(), { authenticate: () => alice, prefix: '/v2' });
    let arriving: IncomingMessage | undefined;
    const server = createServer(async (request, response) => {
      arriving = request;
      if (!(await byokitRoutes(request, response))) response.end('not byokit');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const json = JSON.stringify({ openai_api_key: fakeProviderKey('openai') });
    const body = json.padEnd(KEY_BODY_LIMIT_BYTES, ' ');
    const answered = new Promise<number>((resolve, reject) => {
      const client = httpRequest(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/users/me/api-key`,
        { method: 'PATCH', headers: { 'content-type': 'application/json' } },
        (response) => resolve(response.resume().statusCode ?? 0),
      );
      client.on('error', reject);
      // No Content-Length: the body goes chunked. Its second half once byokit reads the first as it comes.
      client.write(body.slice(0, 4096));
      void expect
        .poll(() => arriving?.listenerCount('data'))
        .toBe(1)
        .then(() => client.end(body.slice(4096)), reject);
    });
    expect(await answered).toBe(200);
  });

  it('tells the host, not the client, when a body parser ran first and kept the body where byokit does not read it', async () => {
    // Koa's body parser leaves its result in ctx.request.body, Hapi's in request.payload: request.body holds nothing.
    const logged: unknown[] = [];
    const quiet = () => {};
    const logger = { debug: quiet, info: quiet, warn: quiet, error: (fields: unknown) => void logged.push(fields) };
    const byokit = await createByokit({
      storage: memoryStorage(),
      keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
      environment: {},
      logger,
    });
    const byokitRoutes = createNodeHandler(byokit, { authenticate: () => alice, prefix: '/v2' });
    const server = createServer(async (request, response) => {
      const kept: Buffer[] = [];
      for await (const chunk of request) kept.push(chunk as Buffer);
      (request as IncomingMessage & { parsedElsewhere?: unknown }).parsedElsewhere = JSON.parse(Buffer.concat(kept).toString());
      if (!(await byokitRoutes(request, response))) response.end('not byokit');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const patch = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ openai_api_key: fakeProviderKey('openai') }),
    });
    // Not "The request body is empty; send a JSON object.": the client sent one.
    expect([patch.status, (await patch.json()).error.code]).toEqual([500, 'internal_error']);
    expect(JSON.stringify(logged)).toContain('mount byokit before the body parser');
    // So is a body sent in chunks, which declares no length.
    const body = new Blob([JSON.stringify({ openai_api_key: fakeProviderKey('openai') })]).stream();
    const chunked = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect([chunked.status, (await chunked.json()).error.code]).toEqual([500, 'internal_error']);
    expect(logged).toHaveLength(2);
    expect(JSON.stringify(logged[1])).toContain('mount byokit before the body parser');
  });

  it.each([
    [MAX_ANSWER_BYTES, 200],
    [MAX_ANSWER_BYTES + 1, 502],
  ])(
    'answers a plain chat whose provider answer is %i bytes once: %i, one provider call, one usage record',
    async (size, status) => {
      // The largest plain answer byokit reads (32 MiB), and one byte more: the OpenAI shape, its text padded to the size.
      const model = BUILT_IN_MODELS.find((candidate) => candidate.provider === 'openai' && candidate.isActive)!;
      const answerWith = (content: string) =>
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: model.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
        });
      const content = 'y'.repeat(size - Buffer.byteLength(answerWith('')));
      let calls = 0;
      const provider = createServer((request, response) => {
        calls += 1;
        request.resume();
        request.once('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(answerWith(content)));
      });
      servers.push(provider);
      await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
      const byokit = await createByokit({
        storage: memoryStorage(),
        keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
        environment: { OPENAI_API_KEY: fakeProviderKey('openai') },
        // Retries allowed: an answer too large is the provider's, and another try would only read it again.
        providers: { openai: { baseUrl: `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1`, retries: 2 } },
      });
      const base = await serve(byokit);
      const response = await fetch(`${base}/v2/llm/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
        body: JSON.stringify({ model_id: model.id, messages: [{ role: 'user', content: 'Write at length.' }] }),
      });
      const body = (await response.json()) as { choices?: Array<{ message: { content: string } }>; error?: { code: string } };
      expect(response.status).toBe(status);
      if (status === 200) expect(body.choices?.[0]?.message.content === content).toBe(true);
      else expect(body.error?.code).toBe('provider_error');
      expect(calls).toBe(1);
      const records = (await byokit.usage.events(alice.userId)).records;
      expect(records.map((record) => [record.status, record.outputTokens])).toEqual([status === 200 ? ['ok', 5] : ['error', null]]);
      await byokit.close();
    },
    60_000,
  );

  it('ends a request whose client left mid-body while the host was still authenticating, instead of waiting for its body for ever', async () => {
    const failures: unknown[] = [];
    const byokit = await newByokit({ logger: failureLogger(failures) });
    let letIn!: () => void;
    const signedIn = new Promise<void>((resolve) => (letIn = resolve));
    // The host's authenticate looks up a session, and answers only once the client has gone.
    const byokitRoutes = createNodeHandler(byokit, { authenticate: () => signedIn.then(() => alice), prefix: '/v2' });
    let handled: Promise<boolean> | undefined;
    let requestClosed!: Promise<void>;
    const server = createServer((request, response) => {
      requestClosed = new Promise((resolve) => request.once('close', resolve));
      handled = byokitRoutes(request, response);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(
      'PATCH /v2/users/me/api-key HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer alice\r\n' +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"anthropic',
    );
    await expect.poll(() => handled !== undefined).toBe(true);
    socket.destroy();
    await requestClosed;
    letIn();
    // Liveness, not speed: the handler must settle at all; before, it waited for body events that never come.
    expect(await Promise.race([handled, sleep(2_000).then(() => 'still waiting for the body')])).toBe(true);
    // A client that went away is no failure of byokit's or the host's.
    expect(failures).toEqual([]);
    await byokit.close();
  });

  // docs/security.md, "Request bodies": byokit sets no clock of its own on reading; a body sent a byte at a time is the
  // host server's to time out. Proved on Node's own requestTimeout, checked every connectionsCheckingInterval.
  it("leaves a body trickling in to the host server's requestTimeout: answered 408 and closed, no failure logged, no call counted", async () => {
    const failures: unknown[] = [];
    const byokit = await newByokit({
      // One key write a minute: a write the trickle counted would leave none for the whole one after it.
      rateLimit: { requestsPerMinute: 1, burst: 1 },
      logger: failureLogger(failures),
    });
    const byokitRoutes = createNodeHandler(byokit, { authenticate: () => alice, prefix: '/v2' });
    let handled: Promise<boolean> | undefined;
    const server = createServer({ requestTimeout: 300, headersTimeout: 300, connectionsCheckingInterval: 20 }, (request, response) => {
      handled = byokitRoutes(request, response);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => {});
    let answer = '';
    socket.setEncoding('latin1').on('data', (text: string) => (answer += text));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = JSON.stringify({ openai_api_key: fakeProviderKey('openai') });
    socket.write(
      `PATCH /v2/users/me/api-key HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    // One byte at a time, the last never sent, until the server ends the connection.
    let sent = 0;
    const trickle = setInterval(() => sent < body.length - 1 && socket.writable && socket.write(body[sent++]!), 10);
    await closed;
    clearInterval(trickle);

    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await handled).toBe(true);
    expect(failures).toEqual([]);
    // Nothing counted: the one key write the minute allows is left for a whole one.
    const whole = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(whole.status).toBe(200);
    await byokit.close();
  });

  it('reads a body that came whole while the host was still authenticating', async () => {
    const base = await serve(await newByokit(), { authDelayMs: 50 });
    const key = fakeProviderKey('anthropic');
    const patch = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
      body: JSON.stringify({ anthropic_api_key: key }),
    });
    expect(patch.status).toBe(200);
    expect((await patch.json()).has_anthropic_key).toBe(true);
    const empty = await fetch(`${base}/v2/users/me/api-key`, {
      method: 'PATCH',
      headers: { authorization: 'Bearer alice', 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.code).toBe('invalid_json');
  });
});

// What on-headers does for express-session and response-time: the host's code runs as the head is first written, here
// setting a header Node refuses. The handler rejects with that failure, and the host answers it in its own words.
describe("a host's own code that fails as byokit's answer is written", () => {
  it("leaves byokit's length off the host's own answer to it, which goes out whole", async () => {
    const byokit = await newByokit();
    const byokitRoutes = createNodeHandler(byokit, { authenticate: () => null, prefix: '/v2' });
    const server = createServer(async (request, response) => {
      const writeHead = response.writeHead;
      let fired = false;
      response.writeHead = function (this: ServerResponse, ...head: Parameters<typeof writeHead>) {
        if (!fired) {
          fired = true;
          this.setHeader('x-user-name', 'Alice\nSmith');
        }
        return writeHead.apply(this, head);
      } as typeof writeHead;
      try {
        if (!(await byokitRoutes(request, response))) response.end('not byokit');
      } catch {
        response.statusCode = 500;
        response.end('host error');
      }
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      // byokit's answer: a 401 with a JSON body, whose length byokit declares. Its length left on the response, the
      // host's 10 bytes went out as byokit's 142, and the client waited for the rest.
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/llm/usage/me/events`);
      expect(response.status).toBe(500);
      // None (Node sends it chunked) or the host's own.
      expect([null, '10']).toContain(response.headers.get('content-length'));
      expect(await response.text()).toBe('host error');
    } finally {
      await byokit.close();
    }
  });
});
