import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ByokitOptions } from '../byokit.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { UsageRecord } from '../metering/usage-record.js';
import type { Storage } from '../storage/storage.js';
import { fixtureChunks, fixtureJson } from '../providers/fixtures.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { memoryStorage } from '../storage/memory-storage.js';
import { alice, call, mockProvidersForFile, testByokit } from '../http/test-helpers.js';

// A provider call tried again (providers.<p>.retries, 1 by default), seen end to end through the chat route: what the
// caller gets, what is recorded and what the operator's log says. docs/http-api.md, "Provider failures".

/** Claude Sonnet 5.5, a built-in model not retired (a retired one's call is a warning line of its own). */
const SONNET_5_5_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const hello = (extra: Record<string, unknown> = {}) => ({
  model_id: SONNET_5_5_ID,
  messages: [{ role: 'user' as const, content: 'Hello!' }],
  max_tokens: 1024,
  ...extra,
});

const mock = mockProvidersForFile();
const anthropicKey = fakeProviderKey('anthropic');

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

type Line = { level: 'warn' | 'error'; fields: Record<string, unknown>; message: string };

/** byokit on `baseUrl` for Anthropic, alice's key saved, its warn and error lines kept. */
async function setUp(baseUrl: string, anthropic: { retries?: number } = {}, options: Partial<ByokitOptions> = {}) {
  const lines: Line[] = [];
  const logger = {
    debug: () => {},
    info: () => {},
    warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', fields, message }),
    error: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'error', fields, message }),
  };
  const { byokit, storage } = await testByokit({ providers: { anthropic: { baseUrl, ...anthropic } }, logger, ...options });
  await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: anthropicKey } });
  return { byokit, storage, lines };
}

/**
 * Until undici has looked at the first call's connection, idle again (a turn of the event loop: it would see there a
 * close already received), a call goes on a new one.
 */
const connectionIdle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** The records once every write in flight has landed (records are written after the answer, not before). */
async function recordsOf(storage: Storage, count: number): Promise<UsageRecord[]> {
  await expect.poll(async () => (await storage.listUsage({ limit: 100 })).records.length).toBe(count);
  return (await storage.listUsage({ limit: 100 })).records;
}

describe('a provider call tried again', () => {
  it.each([false, true])(
    'answers once, with one usage record and the key source, after an overloaded 529 (stream: %s), and logs the retry once as a warning',
    async (stream) => {
      const { byokit, storage, lines } = await setUp(mock.baseUrls.anthropic);
      mock.failNext('anthropic', { status: 529 });
      const response = await call(byokit, 'POST', '/llm/chat/completions', {
        principal: alice,
        body: hello({ stream }),
        headers: { 'x-request-id': 'req-retried' },
      });
      expect(response!.status).toBe(200);
      expect(response!.headers['x-byok-key-source']).toBe('user');
      expect(mock.requests.filter((request) => request.path === '/v1/messages')).toHaveLength(2);
      const records = await recordsOf(storage, 1);
      expect(records.map((record) => [record.status, record.requestId])).toEqual([['ok', 'req-retried']]);
      // One line, a warning: the call was answered, yet the provider failed once and was called twice.
      expect(lines).toEqual([
        {
          level: 'warn',
          fields: expect.objectContaining({
            requestId: 'req-retried',
            code: 'provider_unavailable',
            provider: 'anthropic',
            model: 'claude-sonnet-5-5',
            keySource: 'user',
            retry: 1,
            retries: 1,
            waitMs: expect.any(Number),
          }),
          message: expect.stringMatching(
            /^The Anthropic API failed \(HTTP 529\): Overloaded; trying it again in \d+ ms \(retry 1 of 1\)\.$/,
          ),
        },
      ]);
      expect(findKeyLeaks([anthropicKey], [['log', JSON.stringify(lines)]])).toEqual([]);
    },
  );

  // api.openai.com is behind Cloudflare, whose own 52x pages stand for the origin failing (n8n-io/n8n#18275: "api.openai.com
  // | 520: Web server is returning an unknown error"); the SDKs retry every 5xx, as the README says byokit does.
  it.each([520, 522, 524])("tries again after a proxy's %i, a 5xx as the others are", async (status) => {
    const { byokit, lines } = await setUp(mock.baseUrls.anthropic);
    mock.failNext('anthropic', { status, body: '<!DOCTYPE html><title>api.anthropic.com | Error</title>' });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect(response!.status).toBe(200);
    expect(lines.map((line) => line.message)).toEqual([
      `The Anthropic API failed (HTTP ${status}); trying it again in 250 ms (retry 1 of 1).`,
    ]);
  });

  it("tries a gateway's 504 again, and answers 504 provider_timeout when the second try gets one too", async () => {
    const { byokit } = await setUp(mock.baseUrls.anthropic);
    mock.failNext('anthropic', { status: 504, body: 'Gateway Timeout' });
    mock.failNext('anthropic', { status: 504, body: 'Gateway Timeout' });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([response!.status, response!.json.error.code]).toEqual([504, 'provider_timeout']);
    expect(mock.requests.filter((request) => request.path === '/v1/messages')).toHaveLength(2);
  });

  it.each([501, 505])('does not try again after a %i, which the same request gets again', async (status) => {
    const { byokit } = await setUp(mock.baseUrls.anthropic);
    mock.failNext('anthropic', { status, body: 'Not here' });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([response!.status, response!.json.error.code]).toEqual([502, 'provider_unavailable']);
    expect(mock.requests.filter((request) => request.path === '/v1/messages')).toHaveLength(1);
  });

  it('logs each retry and then the failure, once each, when every try fails', async () => {
    const { byokit, storage, lines } = await setUp(mock.baseUrls.anthropic, { retries: 2 });
    for (let tries = 0; tries < 3; tries++) mock.failNext('anthropic', { status: 503 });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([response!.status, response!.json.error.code]).toEqual([502, 'provider_unavailable']);
    expect(lines.map((line) => [line.level, line.fields.retry])).toEqual([
      ['warn', 1],
      ['warn', 2],
      ['error', undefined],
    ]);
    expect((await recordsOf(storage, 1)).map((record) => record.status)).toEqual(['error']);
  });

  it('is one count of the rate limit, one call at once and one budget hold, however many tries', async () => {
    // Three a minute: the key's saving is one (a key write counts as a call does), the retried call the second.
    const storage = memoryStorage();
    const holds = vi.spyOn(storage, 'holdBudget');
    const { byokit } = await setUp(
      mock.baseUrls.anthropic,
      { retries: 2 },
      { storage, rateLimit: { requestsPerMinute: 3 }, concurrentCallsPerUser: 1 },
    );
    for (let tries = 0; tries < 2; tries++) mock.failNext('anthropic', { status: 503 });
    const retried = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    const next = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    const past = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([retried!.status, next!.status, past!.status]).toEqual([200, 200, 429]);
    expect(holds).toHaveBeenCalledTimes(2);
    expect((await recordsOf(storage, 2)).map((record) => record.status)).toEqual(['ok', 'ok']);
  });

  it("answers a stream whose first try's first event was the provider overloaded, and logs that retry once", async () => {
    // Anthropic overloaded mid-stream: HTTP 200, then an `overloaded_error` event, before anything was passed on.
    let tries = 0;
    const server = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const events =
        tries++ === 0
          ? [JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]
          : fixtureChunks('anthropic/anthropic-text.chunks.txt');
      response.end(events.map((data) => `event: ${(JSON.parse(data) as { type: string }).type}\ndata: ${data}\n\n`).join(''));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
    const { byokit, storage, lines } = await setUp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello({ stream: true }) });
    expect([response!.status, response!.events.at(-1)]).toEqual([200, '[DONE]']);
    expect(tries).toBe(2);
    expect(lines.map((line) => [line.level, line.fields.code, line.fields.retry])).toEqual([['warn', 'provider_unavailable', 1]]);
    expect((await recordsOf(storage, 1)).map((record) => record.status)).toEqual(['ok']);
  });

  it('logs no retry when the first try answers', async () => {
    const { byokit, lines } = await setUp(mock.baseUrls.anthropic);
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect(response!.status).toBe(200);
    expect(lines).toEqual([]);
  });
});

describe("a provider's Retry-After on a failure tried again", () => {
  it("is waited out before the retry when it is a minute or less, as the providers' SDKs do", async () => {
    const { byokit, lines } = await setUp(mock.baseUrls.anthropic);
    mock.failNext('anthropic', { status: 529, headers: { 'retry-after': '2' } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect(response!.status).toBe(200);
    expect(lines.map((line) => [line.level, line.fields.waitMs])).toEqual([['warn', 2000]]);
  });

  // A delay of nothing (`Retry-After: 0`, a date already past) is no delay given, as the SDKs take it: the back-off, not
  // a retry at once of a provider that is failing, each retry of ten with no pause at all.
  it.each<Record<string, string>>([{ 'retry-after': '0' }, { 'retry-after-ms': '0' }, { 'retry-after': 'Thu, 01 Jan 1970 00:00:00 GMT' }])(
    'of nothing (%o) is no delay given: the back-off is waited',
    async (headers) => {
      const { byokit, lines } = await setUp(mock.baseUrls.anthropic, { retries: 2 });
      for (let tries = 0; tries < 2; tries++) mock.failNext('anthropic', { status: 503, headers });
      const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
      expect(response!.status).toBe(200);
      expect(lines.map((line) => [line.level, line.fields.waitMs])).toEqual([
        ['warn', 250],
        ['warn', 500],
      ]);
    },
  );

  it('of exactly a minute is still waited out, not the back-off', async () => {
    const { byokit, lines } = await setUp(mock.baseUrls.anthropic);
    mock.failNext('anthropic', { status: 529, headers: { 'retry-after': '60' } });
    const caller = new AbortController();
    const chat = byokit.chat(alice, hello(), { signal: caller.signal }).catch((error: unknown) => error);
    // The retry is logged, with its wait, before the pause; the caller then leaves rather than wait the minute out.
    await expect.poll(() => lines.length).toBe(1);
    caller.abort(new Error('the caller left'));
    expect(await chat).toMatchObject({ message: 'the caller left' });
    expect([lines[0]!.level, lines[0]!.fields.waitMs]).toEqual(['warn', 60_000]);
  });

  it('is not waited out past a minute (the back-off is), and is passed on with the last failure: Retry-After, x-should-retry: false', async () => {
    const { byokit, lines } = await setUp(mock.baseUrls.anthropic);
    for (let tries = 0; tries < 2; tries++) mock.failNext('anthropic', { status: 503, headers: { 'retry-after': '3600' } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([response!.status, response!.json.error.code]).toEqual([502, 'provider_unavailable']);
    expect([response!.headers['retry-after'], response!.headers['x-should-retry']]).toEqual(['3600', 'false']);
    expect(lines.map((line) => [line.level, line.fields.waitMs])).toEqual([
      ['warn', 250],
      ['error', undefined],
    ]);
    // In code, the error carries it.
    for (let tries = 0; tries < 2; tries++) mock.failNext('anthropic', { status: 503, headers: { 'retry-after': '3600' } });
    await expect(byokit.chat(alice, hello())).rejects.toMatchObject({ code: 'provider_unavailable', details: { retryAfterSeconds: 3600 } });
  });

  // Whole seconds, at least 1 (`Retry-After: 0` invites a client's hot loop); x-should-retry: false only past a minute.
  it.each([
    ['0', '1', null],
    ['60', '60', null],
    ['61', '61', 'false'],
  ])('of %s s on the last failure is passed on as Retry-After: %s, x-should-retry: %s', async (sent, retryAfter, shouldRetry) => {
    const { byokit } = await setUp(mock.baseUrls.anthropic, { retries: 0 });
    mock.failNext('anthropic', { status: 503, headers: { 'retry-after': sent } });
    const response = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect(response!.status).toBe(502);
    expect([response!.headers['retry-after'], response!.headers['x-should-retry'] ?? null]).toEqual([retryAfter, shouldRetry]);
  });

  it('ends at once when the caller leaves during the pause, with no second try and the call recorded aborted', async () => {
    const { byokit, storage } = await setUp(mock.baseUrls.anthropic);
    mock.failNext('anthropic', { status: 529, headers: { 'retry-after': '60' } });
    const caller = new AbortController();
    const chat = byokit.chat(alice, hello(), { signal: caller.signal }).catch((error: unknown) => error);
    await mock.waitForRequest((request) => request.path === '/v1/messages');
    caller.abort(new Error('the caller left'));
    // Well before the minute's pause would end (the test's own timeout).
    expect(await chat).toMatchObject({ message: 'the caller left' });
    expect((await recordsOf(storage, 1)).map((record) => record.status)).toEqual(['aborted']);
    expect(mock.requests.filter((request) => request.path === '/v1/messages')).toHaveLength(1);
  });
});

/**
 * An upstream that answers Anthropic's recorded message over keep-alive connections and, as a load balancer does that
 * closes a connection it holds idle just as a request comes on it, drops each connection when its second request has
 * arrived whole, before answering it: the request was sent, no byte of an answer came (undici: "other side closed").
 */
async function closesReusedConnections(): Promise<{ origin: string; connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const served = new WeakMap<Socket, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests++;
    const socket = request.socket;
    const before = served.get(socket) ?? 0;
    served.set(socket, before + 1);
    request.resume();
    request.on('end', () => {
      if (before > 0) return void socket.destroy();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fixtureJson('anthropic/anthropic-text.json')));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections, requests: () => requests };
}

describe('a keep-alive connection the provider closed', () => {
  it('is tried again on a new connection by default: the second call answers, once recorded', async () => {
    const upstream = await closesReusedConnections();
    const { byokit, storage, lines } = await setUp(upstream.origin);
    const first = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    await connectionIdle();
    const second = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([first!.status, second!.status]).toEqual([200, 200]);
    // The second call went on the first's connection, which dropped it, then on a new one.
    expect([upstream.requests(), upstream.connections()]).toEqual([3, 2]);
    expect((await recordsOf(storage, 2)).map((record) => record.status)).toEqual(['ok', 'ok']);
    // The operator sees why, undici's error as the cause.
    expect(lines.map((line) => line.message)).toEqual([
      'The Anthropic API could not be reached; trying it again in 250 ms (retry 1 of 1).',
    ]);
    expect(lines[0]!.fields.err).toMatchObject({ cause: { code: 'UND_ERR_SOCKET', message: 'other side closed' } });
  });

  it('is 502 provider_unavailable with retries: 0, as the host asked for no second call', async () => {
    const upstream = await closesReusedConnections();
    const { byokit, storage } = await setUp(upstream.origin, { retries: 0 });
    await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    await connectionIdle();
    const second = await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: hello() });
    expect([second!.status, second!.json.error.code, second!.json.error.message]).toEqual([
      502,
      'provider_unavailable',
      'The Anthropic API could not be reached.',
    ]);
    expect(upstream.requests()).toBe(2);
    expect((await recordsOf(storage, 2)).map((record) => record.status).sort()).toEqual(['error', 'ok']);
  });
});
