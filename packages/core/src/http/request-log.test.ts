import { describe, expect, it } from 'vitest';
import type { Logger } from '../logging/logger.js';
import { RequestAbort } from './request-abort.js';
import type { ByokitRequest } from './types.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { alice, call, mockProvidersForFile, testByokit } from './test-helpers.js';

const mock = mockProvidersForFile();

/** Each piece of `key` found in the answer or in any line logged. */
const leaksOf = (key: string, answer: unknown, logger: { lines: unknown[] }) =>
  findKeyLeaks(
    [key],
    [
      ['answer', JSON.stringify(answer)],
      ['log', JSON.stringify(logger.lines)],
    ],
  );

/** A logger that keeps its debug lines; `debugEnabled` is what it answers to `isLevelEnabled('debug')`. */
function recordingLogger(debugEnabled: boolean | undefined): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const ignore = () => {};
  const logger = { lines, debug: (object: Record<string, unknown>) => void lines.push(object), info: ignore, warn: ignore, error: ignore };
  return debugEnabled === undefined ? logger : { ...logger, isLevelEnabled: (level: string) => level !== 'debug' || debugEnabled };
}

describe("the request log line (debug, the host's logger)", () => {
  it('says which request it was, how it ended and how long it took, when the host writes debug lines', async () => {
    const logger = recordingLogger(true);
    const { byokit } = await testByokit({ logger });
    await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice, headers: { 'x-request-id': 'log-me' } });
    expect(logger.lines).toEqual([
      { requestId: 'log-me', method: 'GET', path: '/users/me/api-key-status', status: 200, durationMs: expect.any(Number) },
    ]);
  });

  it('is written when the logger cannot say which levels it writes', async () => {
    const logger = recordingLogger(undefined);
    const { byokit } = await testByokit({ logger });
    await call(byokit, 'GET', '/users/me/api-key-status', { principal: null });
    expect(logger.lines).toMatchObject([{ status: 401 }]);
  });

  // Node refuses a method it does not know, but a fetch host (Bun, Deno, byokit.fetch in code) hands any token on.
  it('holds no key sent as the method, and neither does the 405 answer', async () => {
    const logger = recordingLogger(true);
    const { byokit } = await testByokit({ logger });
    const key = fakeProviderKey('anthropic');
    const answer = await call(byokit, key, '/users/me/api-key-status', { principal: alice });
    expect([answer!.status, answer!.json.error.message]).toEqual([405, 'This method is not allowed here; use GET, HEAD.']);
    expect(leaksOf(key, answer, logger)).toEqual([]);
  });

  it('is not even made when the host does not write debug lines', async () => {
    const logger = recordingLogger(false);
    const { byokit } = await testByokit({ logger });
    await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(logger.lines).toEqual([]);
  });
});

describe('a failed request in the log', () => {
  /** A logger that keeps every line with its level. */
  function levelLogger() {
    const lines: Array<{ level: string; message: string } & Record<string, unknown>> = [];
    const at = (level: string) => (object: Record<string, unknown>, message: string) => void lines.push({ level, message, ...object });
    return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  }
  /** A request whose host `authenticate` throws, having first seen its client go away when `clientLeft`. */
  const failingRequest = (clientLeft: boolean): ByokitRequest => {
    const signal = new RequestAbort();
    return {
      method: 'GET',
      url: '/users/me/api-key-status',
      headers: { 'x-request-id': 'failing' },
      body: { kind: 'none' },
      signal,
      authenticate: () => {
        if (clientLeft) signal.abort();
        throw new Error('session store down');
      },
    };
  };

  it('is an error line while the client is still there', async () => {
    const logger = levelLogger();
    const { byokit } = await testByokit({ logger });
    expect((await byokit.handle(failingRequest(false)))!.status).toBe(500);
    expect(logger.lines.filter((line) => line.level === 'error')).toMatchObject([{ requestId: 'failing', message: 'request failed' }]);
  });

  // A user who sends their provider key as the access token, and an auth library that quotes what it refused.
  it("holds no key that the host's failing authenticate quoted, and neither does the 500 answer", async () => {
    const logger = levelLogger();
    const { byokit } = await testByokit({ logger });
    const key = fakeProviderKey('openai');
    const request: ByokitRequest = {
      ...failingRequest(false),
      authenticate: () => {
        throw new Error(`jwt malformed: Bearer ${key}`);
      },
    };
    const answer = await byokit.handle(request);
    expect(answer!.status).toBe(500);
    expect(logger.lines.filter((line) => line.level === 'error')).toMatchObject([{ requestId: 'failing', message: 'request failed' }]);
    expect(JSON.stringify(logger.lines)).toContain('jwt malformed');
    expect(leaksOf(key, answer, logger)).toEqual([]);
  });

  // What an operator acts on is often the cause: the store behind the session, refusing connections.
  it("keeps the host's error under err, as pino writes it: its stack, its own code and its causes", async () => {
    const logger = levelLogger();
    const { byokit } = await testByokit({ logger });
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6379'), { code: 'ECONNREFUSED', port: 6379 });
    const request: ByokitRequest = {
      ...failingRequest(false),
      authenticate: () => {
        throw new Error('session lookup failed', { cause: refused });
      },
    };
    expect((await byokit.handle(request))!.status).toBe(500);
    const [line] = logger.lines.filter((each) => each.level === 'error');
    expect(line).toMatchObject({ requestId: 'failing', message: 'request failed', err: expect.any(Error) });
    const err = line!.err as Error;
    expect(err.message).toBe('session lookup failed');
    expect(err.stack).toContain('request-log.test.ts');
    expect(err.cause).toMatchObject({ message: 'connect ECONNREFUSED 10.0.0.5:6379', code: 'ECONNREFUSED', port: 6379 });
    // A logger that writes its fields with JSON.stringify (not pino's serialiser) writes the same, not `{}`.
    expect(JSON.parse(JSON.stringify(line))).toMatchObject({
      err: {
        type: 'Error',
        message: 'session lookup failed',
        stack: expect.stringContaining('session lookup failed'),
        cause: { message: 'connect ECONNREFUSED 10.0.0.5:6379', code: 'ECONNREFUSED', port: 6379 },
      },
    });
  });

  // The error is the host's, and may be anything: a field read lazily that throws (an HTTP client's `response` before
  // one came), a cause behind a getter that throws. Logging it must not fail the answer.
  it("answers 500 in the contract's shape, and logs the line, when the host's error has a field that throws when read", async () => {
    const logger = levelLogger();
    const { byokit } = await testByokit({ logger });
    const unreadable = new Error('session lookup failed');
    Object.defineProperty(unreadable, 'response', {
      enumerable: true,
      get() {
        throw new Error('no response yet');
      },
    });
    Object.defineProperty(unreadable, 'cause', {
      get() {
        throw new Error('cause not loaded');
      },
    });
    const request: ByokitRequest = {
      ...failingRequest(false),
      authenticate: () => {
        throw unreadable;
      },
    };
    const answer = await byokit.handle(request);
    expect([answer!.status, JSON.parse(answer!.body as string).error.code]).toEqual([500, 'internal_error']);
    const [line] = logger.lines.filter((each) => each.level === 'error');
    expect(line).toMatchObject({ requestId: 'failing', message: 'request failed', err: { message: 'session lookup failed' } });
  });

  it('is a debug line marked clientGone once the client went away: any client could multiply error lines by leaving', async () => {
    const logger = levelLogger();
    const { byokit } = await testByokit({ logger });
    await byokit.handle(failingRequest(true));
    expect(logger.lines.filter((line) => line.level !== 'debug')).toEqual([]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ requestId: 'failing', message: 'request failed', clientGone: true }));
  });
});

describe("a provider's failure in the log", () => {
  /** A byokit whose OpenAI is the mock, with a system key, logging every line with its level; and an OpenAI model's id. */
  async function openAIByokit(systemKey: string) {
    const lines: Array<{ level: string; message: string } & Record<string, unknown>> = [];
    const at = (level: string) => (object: Record<string, unknown>, message: string) => void lines.push({ level, message, ...object });
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const { byokit } = await testByokit({
      logger,
      environment: { OPENAI_API_KEY: systemKey },
      providers: { openai: { baseUrl: mock.baseUrls.openai, retries: 0 } },
    });
    const models = await call(byokit, 'GET', '/llm-models?is_active=true', { principal: alice });
    const model: { id: string; model: string } = models!.json.data.find((each: { provider: string }) => each.provider === 'openai');
    return { byokit, lines, modelId: model.id, modelName: model.model };
  }

  // Revoked, or its account out of credit: every call on it fails until the host puts it right, and only the host can.
  it("is an error line when the provider refuses the system key, the operator's to act on; not when it refuses a user's own", async () => {
    const systemKey = fakeProviderKey('openai');
    const usersKey = fakeProviderKey('openai');
    mock.rejectKeys.add(systemKey);
    mock.rejectKeys.add(usersKey);
    const { byokit, lines, modelId, modelName } = await openAIByokit(systemKey);
    const body = { model_id: modelId, messages: [{ role: 'user', content: 'Hello!' }] };
    const onSystemKey = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      headers: { 'x-request-id': 'system-key' },
      body,
    });
    expect([onSystemKey!.status, onSystemKey!.json.error.code, onSystemKey!.json.error.key_source]).toEqual([
      400,
      'provider_key_rejected',
      'system',
    ]);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: usersKey } });
    const onUsersKey = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      headers: { 'x-request-id': 'users-key' },
      body,
    });
    expect([onUsersKey!.status, onUsersKey!.json.error.key_source]).toEqual([400, 'user']);
    expect(lines.filter((line) => line.level !== 'debug')).toEqual([
      expect.objectContaining({
        level: 'error',
        requestId: 'system-key',
        code: 'provider_key_rejected',
        status: 400,
        provider: 'openai',
        model: modelName,
        keySource: 'system',
      }),
    ]);
    expect(findKeyLeaks([systemKey, usersKey], [['log', JSON.stringify(lines)]])).toEqual([]);
    mock.rejectKeys.delete(systemKey);
    mock.rejectKeys.delete(usersKey);
  });

  // Every user without a key of their own is refused while it lasts, and only the operator can raise the limit.
  it("is a warning when the provider rate limits the system key, and says whose key it was; nothing when it limits a user's own", async () => {
    const systemKey = fakeProviderKey('openai');
    const usersKey = fakeProviderKey('openai');
    const { byokit, lines, modelId, modelName } = await openAIByokit(systemKey);
    const body = { model_id: modelId, messages: [{ role: 'user', content: 'Hello!' }] };
    mock.failNext('openai', { status: 429, headers: { 'retry-after': '7' } });
    const onSystemKey = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      headers: { 'x-request-id': 'system-limited' },
      body,
    });
    expect([onSystemKey!.status, onSystemKey!.json.error.code, onSystemKey!.json.error.key_source]).toEqual([
      429,
      'provider_rate_limited',
      'system',
    ]);
    expect(onSystemKey!.json.error.message).toMatch(/^The OpenAI API is rate limiting the system key/);
    expect(onSystemKey!.headers['retry-after']).toBe('7');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: usersKey } });
    mock.failNext('openai', { status: 429 });
    const onUsersKey = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      headers: { 'x-request-id': 'users-limited' },
      body,
    });
    expect([onUsersKey!.status, onUsersKey!.json.error.key_source]).toEqual([429, 'user']);
    expect(onUsersKey!.json.error.message).toMatch(/ This limit is on your personal key\.$/);
    expect(lines.filter((line) => line.level !== 'debug')).toEqual([
      expect.objectContaining({
        level: 'warn',
        requestId: 'system-limited',
        code: 'provider_rate_limited',
        status: 429,
        provider: 'openai',
        model: modelName,
        keySource: 'system',
        retryAfterSeconds: 7,
      }),
    ]);
    expect(findKeyLeaks([systemKey, usersKey], [['log', JSON.stringify(lines)]])).toEqual([]);
  });

  it('is one error line under the request id, naming the provider, the model and the status answered, its words escaped in the message', async () => {
    const lines: Array<{ level: string; message: string } & Record<string, unknown>> = [];
    const at = (level: string) => (object: Record<string, unknown>, message: string) => void lines.push({ level, message, ...object });
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const { byokit } = await testByokit({
      logger,
      environment: { OPENAI_API_KEY: fakeProviderKey('openai') },
      providers: { openai: { baseUrl: mock.baseUrls.openai, retries: 0 } },
    });
    const models = await call(byokit, 'GET', '/llm-models?is_active=true', { principal: alice });
    const model = models!.json.data.find((each: { provider: string }) => each.provider === 'openai');
    // A provider's words may quote what it was sent, and so a client's text: a forged line must stay on this one.
    const forged = 'Overloaded\r\n{"level":50,"msg":"forged"}\u001b[2J';
    mock.failNext('openai', { status: 503, body: { error: { message: forged, type: 'server_error', code: null } } });
    const answer = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      headers: { 'x-request-id': 'provider-down' },
      body: { model_id: model.id, messages: [{ role: 'user', content: 'Hello!' }] },
    });
    expect(answer!.status).toBe(502);
    const failures = lines.filter((line) => line.level !== 'debug');
    expect(failures).toEqual([
      expect.objectContaining({
        level: 'error',
        requestId: 'provider-down',
        code: 'provider_unavailable',
        provider: 'openai',
        model: model.model,
        status: 502,
        message: 'The OpenAI API failed (HTTP 503): Overloaded\\r\\n{"level":50,"msg":"forged"}\\u001b[2J.',
      }),
    ]);
  });
});
