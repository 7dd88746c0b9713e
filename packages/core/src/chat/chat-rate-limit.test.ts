import { describe, expect, it, vi } from 'vitest';
import type { ByokitOptions } from '../byokit.js';
import { isByokitError } from '../errors.js';
import { admin, alice, bob, call, mockProvidersForFile, testByokit } from '../http/test-helpers.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import type { Logger } from '../logging/logger.js';
import { RATE_LIMITER_TIMEOUT_MS, RateLimitGuard } from '../metering/rate-limit-guard.js';
import { memoryRateLimiter, type RateLimiter } from '../metering/rate-limiter.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { ChatCompletionRequest } from './chat-schemas.js';

// Per-user rate limits (spec/http-api.md, 429 `rate_limited`): counted once per chat call, route or code,
// before anything that costs; a refused call reaches no provider, holds no budget and leaves no usage record.

const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const hello = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model_id: GUIDE_MODEL_ID,
  messages: [{ role: 'user', content: 'Hello!' }],
  max_tokens: 64,
  ...extra,
});

const mock = mockProvidersForFile();

function recordingLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies Logger;
}

/** byokit on a stopped clock (so waits are exact), answering through the mock with a system key. */
async function setUp(options: Partial<ByokitOptions> = {}) {
  const storage = memoryStorage();
  const holdBudget = vi.spyOn(storage, 'holdBudget');
  const { byokit } = await testByokit({
    storage,
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    now: () => new Date('2026-11-25T12:00:00Z'),
    ...options,
  });
  const chat = (principal = alice, body: unknown = hello()) => call(byokit, 'POST', '/llm/chat/completions', { principal, body });
  return { byokit, storage, holdBudget, chat };
}

describe('per-user rate limits', () => {
  it('answers the call past the limit with 429 rate_limited and Retry-After; no provider, hold or record for it', async () => {
    const { byokit, storage, holdBudget, chat } = await setUp({ rateLimit: { requestsPerMinute: 2 } });
    expect((await chat())!.status).toBe(200);
    expect((await chat(alice, hello({ stream: true })))!.status).toBe(200);

    const refused = await chat();
    expect(refused!.status).toBe(429);
    expect(refused!.headers['retry-after']).toBe('30');
    expect(refused!.json).toEqual({
      error: { code: 'rate_limited', message: 'Too many requests: try again in 30 s.', request_id: refused!.headers['x-request-id'] },
    });
    const refusedStream = await chat(alice, hello({ stream: true }));
    expect(refusedStream!.status).toBe(429);
    expect(refusedStream!.json.error.code).toBe('rate_limited');

    expect(mock.requests).toHaveLength(2);
    expect(holdBudget).toHaveBeenCalledTimes(2);
    await byokit.close();
    const { records } = await storage.listUsage({ limit: 100 });
    expect(records.map((record) => record.status)).toEqual(['ok', 'ok']);
  });

  it('lets exactly the limit through out of 100 simultaneous calls of one user, and answers the rest 429', async () => {
    // 9 a minute: 60,000 / 9 ms is no whole number, and the ninth call was refused with Retry-After: 1.
    const { byokit, storage, chat } = await setUp({ rateLimit: { requestsPerMinute: 9 } });
    const answers = await Promise.all(Array.from({ length: 100 }, (_, index) => chat(alice, hello({ stream: index % 2 === 1 }))));
    const statuses = answers.map((answer) => answer!.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(9);
    expect(statuses.filter((status) => status === 429)).toHaveLength(91);
    // The wait is one interval (6.67 s), in whole seconds.
    expect(new Set(answers.filter((answer) => answer!.status === 429).map((answer) => answer!.headers['retry-after']))).toEqual(
      new Set(['7']),
    );
    expect(mock.requests).toHaveLength(9);
    await byokit.close();
    expect((await storage.listUsage({ limit: 200 })).records).toHaveLength(9);
  });

  it('limits each user on their own: another user is not affected', async () => {
    const { chat } = await setUp({ rateLimit: { requestsPerMinute: 1 } });
    expect((await chat(alice))!.status).toBe(200);
    expect((await chat(alice))!.status).toBe(429);
    expect((await chat(bob))!.status).toBe(200);
    expect(mock.requests).toHaveLength(2);
  });

  it('counts programmatic calls with the route: byokit.chat and chatStream throw ByokitError rate_limited', async () => {
    const { byokit, chat } = await setUp({ rateLimit: { requestsPerMinute: 2 } });
    expect((await chat())!.status).toBe(200);
    await byokit.chat(alice, hello());

    const error = await byokit.chat(alice, hello()).catch((thrown: unknown) => thrown);
    expect(isByokitError(error) && { code: error.code, status: error.status, details: error.details }).toEqual({
      code: 'rate_limited',
      status: 429,
      details: { retryAfterSeconds: 30 },
    });
    const consume = async () => {
      for await (const _chunk of byokit.chatStream(alice, hello({ stream: true }))) void _chunk;
    };
    await expect(consume()).rejects.toMatchObject({ code: 'rate_limited' });
    expect(mock.requests).toHaveLength(2);
  });

  it("counts a user's key writes with their chat calls: past the limit, a PATCH ?verify=true asks no provider and saves nothing", async () => {
    // Each write is audit records, and with ?verify=true a call to each provider from the host's address: uncounted,
    // a script could send the providers key checks, and fill the audit table, as fast as it could send requests.
    const { byokit, storage, chat } = await setUp({ rateLimit: { requestsPerMinute: 2 } });
    const writeKey = (principal = alice) =>
      call(byokit, 'PATCH', '/users/me/api-key?verify=true', { principal, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    expect((await writeKey())!.status).toBe(200);
    expect((await chat())!.status).toBe(200);

    const refused = await writeKey();
    expect(refused!.status).toBe(429);
    expect(refused!.headers['retry-after']).toBe('30');
    expect(refused!.json.error.code).toBe('rate_limited');
    expect((await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice }))!.status).toBe(429);
    expect(mock.requests.map((request) => request.method)).toEqual(['GET', 'POST']);
    expect(await storage.listAudit()).toHaveLength(1);
    expect((await storage.listKeys({ type: 'user', id: alice.userId })).map((key) => key.provider)).toEqual(['anthropic']);

    expect((await writeKey(bob))!.status).toBe(200);
  });

  it("counts none of the model, usage, budget and key status routes, nor an admin's: each still answers past the limit", async () => {
    const { chat, byokit } = await setUp({ rateLimit: { requestsPerMinute: 1 } });
    expect([(await chat(alice))!.status, (await chat(alice))!.status, (await chat(admin))!.status]).toEqual([200, 429, 200]);
    expect((await chat(admin))!.status).toBe(429);
    const answered: string[] = [];
    for (const [principal, method, url, body] of [
      [alice, 'GET', '/llm-models/?is_active=true'],
      [alice, 'GET', `/llm-models/${GUIDE_MODEL_ID}`],
      [alice, 'GET', '/openai/v1/models'],
      [alice, 'GET', '/llm/usage/me'],
      [alice, 'GET', '/llm/usage/me/events'],
      [alice, 'GET', '/users/me/budget'],
      [alice, 'GET', '/users/me/api-key-status'],
      [admin, 'GET', '/admin/api-key-status'],
      [admin, 'PATCH', '/admin/api-key', { openai_api_key: fakeProviderKey('openai') }],
      [admin, 'DELETE', '/admin/api-key?provider=openai'],
      [admin, 'PATCH', `/llm-models/${GUIDE_MODEL_ID}`, { display_name: 'Sonnet' }],
      [admin, 'PUT', `/admin/users/${alice.userId}/budget`, { monthly_limit_usd: '5' }],
      [admin, 'GET', '/admin/usage'],
    ] as const) {
      const response = await call(byokit, method, url, { principal, ...(body && { body }) });
      answered.push(`${method} ${url} ${response!.status}`);
    }
    expect(answered.filter((line) => !line.endsWith(' 200'))).toEqual([]);
  });

  it('refuses to start with a limit that is not a positive whole number of requests per minute', async () => {
    await expect(setUp({ rateLimit: { requestsPerMinute: 0.5 } })).rejects.toThrow(
      new TypeError('memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got 0.5'),
    );
  });

  it('sets no limit by default', async () => {
    const { chat } = await setUp();
    for (let index = 0; index < 5; index++) expect((await chat())!.status).toBe(200);
  });

  it('counts a user on two byokits in one process together when the host hands both the same memoryRateLimiter', async () => {
    // docs/architecture.md, "Several byokits in one process": the in-memory limiter is each byokit's own unless the
    // host hands each the same memoryRateLimiter(…); a clock of the limiter's own, so the minute never passes.
    const shared = memoryRateLimiter({ requestsPerMinute: 2, now: () => Date.parse('2026-11-25T12:00:00Z') });
    const one = await setUp({ rateLimit: shared });
    const other = await setUp({ rateLimit: shared });
    const statuses = async (chat: typeof one.chat) => (await chat())!.status;

    expect([await statuses(one.chat), await statuses(other.chat), await statuses(one.chat), await statuses(other.chat)]).toEqual([
      200, 200, 429, 429,
    ]);
    // Given the limit as options, each byokit keeps its own counts: one call a minute on each.
    const [first, second] = [await setUp({ rateLimit: { requestsPerMinute: 1 } }), await setUp({ rateLimit: { requestsPerMinute: 1 } })];
    expect([await statuses(first.chat), await statuses(second.chat), await statuses(first.chat)]).toEqual([200, 200, 429]);
  });

  it("uses the host's own RateLimiter, once per call and before anything else (even the model lookup)", async () => {
    const decisions = [
      { allowed: true as const },
      { allowed: false as const, retryAfterMs: 1_500 },
      { allowed: false as const, retryAfterMs: 0 },
    ];
    const take = vi.fn(async (_userId: string) => decisions.shift()!);
    const { chat, holdBudget } = await setUp({ rateLimit: { take } });

    expect((await chat(alice, hello({ stream: true })))!.status).toBe(200);
    const refused = await chat(alice, hello({ model_id: '00000000-0000-4000-8000-000000000000' }));
    expect(refused!.status).toBe(429); // not 404: the limit is counted before the catalog is read
    expect(refused!.headers['retry-after']).toBe('2'); // whole seconds, rounded up
    expect((await chat())!.headers['retry-after']).toBe('1'); // never 0: at least a second

    expect(take.mock.calls).toEqual([[alice.userId], [alice.userId], [alice.userId]]);
    expect(mock.requests).toHaveLength(1);
    expect(holdBudget).toHaveBeenCalledTimes(1);
  });

  it('tells a client not to retry (x-should-retry: false) a wait over 60 s only: 60 s is left to it, 61 s is not', async () => {
    const waits = [60_000, 60_001];
    const { chat } = await setUp({ rateLimit: { take: async () => ({ allowed: false, retryAfterMs: waits.shift()! }) } });
    const headers: unknown[] = [];
    for (let index = 0; index < 2; index++) {
      const refused = (await chat())!;
      headers.push([refused.status, refused.headers['retry-after'], refused.headers['x-should-retry']]);
    }
    expect(headers).toEqual([
      [429, '60', undefined],
      [429, '61', 'false'],
    ]);
  });

  it("answers a host limiter's absurd wait with a Retry-After of digits, as HTTP defines it", async () => {
    // 1e24 ms was `Retry-After: 1e+21` ("try again in 1e+21 s."): no delay-seconds a client can read.
    const { chat } = await setUp({ rateLimit: { take: async () => ({ allowed: false, retryAfterMs: 1e24 }) } });
    const refused = await chat();
    expect(refused!.status).toBe(429);
    expect(refused!.headers['retry-after']).toBe('999999999999');
    expect(refused!.json.error.message).toBe('Too many requests: try again in 999999999999 s.');
  });

  it.each<[string, unknown]>([
    ['a bigint', 1_500n],
    ['text', '1500'],
  ])("answers a host limiter's wait given as %s (a store's reply not converted) with its seconds, never a 500", async (_what, wait) => {
    // A bigint failed the call as a bare TypeError ("Cannot mix BigInt and other types"): 500 internal_error.
    const limiter = { take: async () => ({ allowed: false, retryAfterMs: wait }) } as unknown as RateLimiter;
    const { chat } = await setUp({ rateLimit: limiter });
    const refused = await chat();
    expect(refused!.status).toBe(429);
    expect(refused!.headers['retry-after']).toBe('2');
    expect(mock.requests).toHaveLength(0);
  });

  it('lets the call through when the limiter fails, and logs the failure without the user id', async () => {
    const logger = recordingLogger();
    const limiter: RateLimiter = {
      take: async (userId) => {
        throw new Error(`connection lost while counting ratelimit:${userId}`);
      },
    };
    const { chat } = await setUp({ rateLimit: limiter, logger });
    const answered = await chat();
    expect(answered!.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
    const [context, message] = logger.error.mock.calls[0]!;
    expect(message).toBe('rate limiter failed: the call was let through');
    expect(context).toEqual({
      requestId: answered!.headers['x-request-id'],
      err: expect.objectContaining({ name: 'Error', message: 'connection lost while counting ratelimit:[user]' }),
    });
    expect(JSON.stringify(logger.error.mock.calls)).not.toContain(alice.userId);
  });

  it.each([
    ['1', 'openai'],
    ['-', 'anthropic'],
    ['A', 'google'],
  ] as const)("logs no piece of a key a failing limiter's error quotes, for a user whose id is %s", async (userId, provider) => {
    // The user id is taken out of the error text: done before the text was scrubbed of keys, a short id ("1", a
    // numeric id) found inside a key cut it into pieces no key pattern knew, each written to the log.
    const logger = recordingLogger();
    const key = fakeProviderKey(provider);
    const limiter: RateLimiter = {
      take: async (user) => {
        throw new Error(`counting ${user} failed: the store answered 401 for Authorization: Bearer ${key}, x-api-key: ${key} and ${key}`);
      },
    };
    const { chat } = await setUp({ rateLimit: limiter, logger });
    const answered = await chat({ userId, isAdmin: false });
    expect(answered!.status).toBe(200);
    expect(logger.error).toHaveBeenCalledTimes(1);
    const logged = JSON.stringify(logger.error.mock.calls, (_name, value) =>
      value instanceof Error ? { message: value.message, stack: value.stack } : value,
    );
    expect(findKeyLeaks([key], [['log', logged]])).toEqual([]);
  });

  it('logs no user id that looks like a key either, scrubbed or not', async () => {
    const logger = recordingLogger();
    const userId = 'sk-developer-account@example.com';
    const limiter: RateLimiter = {
      take: async (user) => {
        throw new Error(`connection lost while counting ratelimit:${user}`);
      },
    };
    const { chat } = await setUp({ rateLimit: limiter, logger });
    expect((await chat({ userId, isAdmin: false }))!.status).toBe(200);
    expect(logger.error.mock.calls[0]![0].err).toMatchObject({ message: 'connection lost while counting ratelimit:[user]' });
  });

  it.each<[string, unknown]>([
    ['nothing', undefined],
    ['null', null],
    ['an empty object', {}],
    ["allowed: 'no'", { allowed: 'no' }],
  ])('lets the call through when the limiter answers %s rather than a decision, and logs it', async (_what, answer) => {
    // A Redis script's nil, a `take` that forgot to return: before, every chat call was a 500 (a TypeError in code).
    const logger = recordingLogger();
    const limiter = { take: async () => answer } as unknown as RateLimiter;
    const { byokit, chat } = await setUp({ rateLimit: limiter, logger });
    const answered = await chat();
    expect(answered!.status).toBe(200);
    expect((await byokit.chat(alice, hello())).object).toBe('chat.completion');
    expect(mock.requests).toHaveLength(2);
    expect(logger.error).toHaveBeenCalledTimes(2);
    expect(logger.error.mock.calls[0]).toEqual([
      {
        requestId: answered!.headers['x-request-id'],
        err: expect.objectContaining({
          name: 'TypeError',
          message: 'the rate limiter answered no decision: neither { allowed: true } nor { allowed: false, retryAfterMs }',
        }),
      },
      'rate limiter failed: the call was let through',
    ]);
  });

  // Its wait for the limiter ends with the answer: a timer left for the rest of the second kept a script's process
  // alive after its last call, and one a call under load.
  it('leaves no timer behind once the limiter has answered, whether it let the call through, refused it or failed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const answers = [{ allowed: true }, { allowed: false, retryAfterMs: 1_500 }, new Error('the store is down')];
      const limiter: RateLimiter = {
        take: async () => {
          const answer = answers.shift()!;
          if (answer instanceof Error) throw answer;
          return answer as Awaited<ReturnType<RateLimiter['take']>>;
        },
      };
      const guard = new RateLimitGuard(limiter, recordingLogger());
      await guard.admit('alice', 'req-1');
      await expect(guard.admit('alice', 'req-2')).rejects.toMatchObject({ code: 'rate_limited' });
      await guard.admit('alice', 'req-3');
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets the call through when the limiter does not answer within a second, and logs it', async () => {
    const logger = recordingLogger();
    // A shared store that hangs: take() never settles.
    const limiter: RateLimiter = { take: () => new Promise(() => {}) };
    const { chat } = await setUp({ rateLimit: limiter, logger });
    const started = performance.now();
    const answered = await chat();
    const waited = performance.now() - started;
    expect(answered!.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    expect(waited).toBeGreaterThanOrEqual(RATE_LIMITER_TIMEOUT_MS - 5);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0]![0]).toEqual({
      requestId: answered!.headers['x-request-id'],
      err: expect.objectContaining({ message: `the rate limiter did not answer within ${RATE_LIMITER_TIMEOUT_MS} ms` }),
    });
  });
});
