import { describe, expect, it } from 'vitest';
import { createByokit, type ByokitOptions } from './byokit.js';
import { alice, call, testKeyring } from './http/test-helpers.js';
import { fakeProviderKey } from './keys/fake-keys.js';
import { fixtureJson } from './providers/fixtures.js';
import { startReplayServer } from './providers/replay-server.js';
import { memoryStorage } from './storage/memory-storage.js';

// A host's numeric options are often read from the environment, where a typo or an unset variable becomes NaN.
// Each is checked before it is used (host-option-checks.ts): NaN would have kept a cached key for ever, retried
// a failing provider without end, turned a timeout off, or ended a key rotation at once.
const start = (options: Partial<ByokitOptions>) =>
  createByokit({ keyring: testKeyring(), storage: memoryStorage(), environment: {}, ...options });

describe('createByokit', () => {
  it.each<[string, Partial<ByokitOptions>, string]>([
    ['a NaN key cache lifetime', { keyCache: { ttlMs: Number.NaN } }, 'keyCache.ttlMs must be a whole number from 0 up, got NaN'],
    ['a negative key cache lifetime', { keyCache: { ttlMs: -1 } }, 'keyCache.ttlMs must be a whole number from 0 up, got -1'],
    ['an empty key cache', { keyCache: { maxEntries: 0 } }, 'keyCache.maxEntries must be a whole number from 1 up, got 0'],
    ['a fractional catalog lifetime', { catalogTtlMs: 1.5 }, 'catalogTtlMs must be a whole number from 0 up, got 1.5'],
    [
      'a keep-alive interval read from an unset variable',
      { streamKeepAliveMs: Number.parseInt('', 10) },
      'streamKeepAliveMs must be a whole number from 0 to 2147483647, got NaN',
    ],
    [
      'a keep-alive interval given in seconds as text',
      { streamKeepAliveMs: '15' as unknown as number },
      'streamKeepAliveMs must be a whole number from 0 to 2147483647, got a string',
    ],
    [
      'a keep-alive interval setInterval would take as 1 ms',
      { streamKeepAliveMs: 2 ** 31 },
      'streamKeepAliveMs must be a whole number from 0 to 2147483647, got 2147483648',
    ],
    [
      'retries from an unset variable',
      { providers: { openai: { retries: Number.parseInt('', 10) } } },
      'openai retries must be a whole number from 0 to 10, got NaN',
    ],
    ['a zero timeout', { providers: { google: { timeoutMs: 0 } } }, 'google timeoutMs must be a whole number from 1 to 2147483647, got 0'],
    [
      'a NaN rate',
      { rateLimit: { requestsPerMinute: Number.NaN } },
      'memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got NaN',
    ],
    [
      'a timeout read from the environment as text',
      { providers: { anthropic: { timeoutMs: '1000' as unknown as number } } },
      'anthropic timeoutMs must be a whole number from 1 to 2147483647, got a string',
    ],
    [
      'a catalog lifetime given as text',
      { catalogTtlMs: '30000' as unknown as number },
      'catalogTtlMs must be a whole number from 0 up, got a string',
    ],
    [
      'a key cache lifetime given as a bare number',
      { keyCache: 30_000 as unknown as ByokitOptions['keyCache'] },
      'keyCache must be { ttlMs?, maxEntries? }, got a number',
    ],
    [
      'provider headers given as one string',
      { providers: { openai: { headers: 'x-gateway: secret-token' as unknown as Record<string, string> } } },
      'openai headers must be an object of header names and string values, got a string',
    ],
    [
      'a base URL spelt as the openai client spells it (baseURL), which left calls on the public API',
      { providers: { openai: { baseURL: 'https://gateway.internal/v1' } as unknown as { baseUrl: string } } },
      'providers.openai has no setting baseURL (did you mean baseUrl?): it takes baseUrl, timeoutMs, retries, headers, dispatcher',
    ],
    [
      'settings for a provider byokit does not know (a typo)',
      { providers: { antropic: { baseUrl: 'https://gateway.internal' } } as unknown as ByokitOptions['providers'] },
      'providers has no provider antropic: it takes anthropic, openai, google',
    ],
    [
      'provider settings given as one base URL',
      { providers: 'https://gateway.internal' as unknown as ByokitOptions['providers'] },
      'providers must be { anthropic?, openai?, google? }, got a string',
    ],
    [
      "a provider's settings given as its base URL",
      { providers: { google: 'https://gateway.internal' as unknown as { baseUrl: string } } },
      'providers.google must be { baseUrl?, timeoutMs?, retries?, headers?, dispatcher? }, got a string',
    ],
    [
      "a provider's settings given as a URL object, which has no settings of its own to read",
      { providers: { google: new URL('https://gateway.internal') as unknown as { baseUrl: string } } },
      'providers.google must be { baseUrl?, timeoutMs?, retries?, headers?, dispatcher? }, got a URL',
    ],
    [
      'a key cache given as an object of a kind whose name begins with a vowel, named with its article',
      { keyCache: new AbortController() as unknown as ByokitOptions['keyCache'] },
      'keyCache must be { ttlMs?, maxEntries? }, got an AbortController',
    ],
    [
      "a key cache setting byokit does not read (a lifetime spelt ttl), which left the cache's default lifetime",
      { keyCache: { ttl: 60_000 } as unknown as ByokitOptions['keyCache'] },
      'keyCache has no setting ttl: it takes ttlMs, maxEntries',
    ],
    [
      'a rate limit setting byokit does not read (a typo), which left the default burst',
      { rateLimit: { requestsPerMinute: 60, brust: 5 } as unknown as ByokitOptions['rateLimit'] },
      'rateLimit has no setting brust: it takes requestsPerMinute, burst, maxUsers (or pass a RateLimiter, an object with take(userId))',
    ],
    [
      'a rate limit whose maxUsers is not a whole number (it was not read at all)',
      { rateLimit: { requestsPerMinute: 60, maxUsers: 0 } },
      'memoryRateLimiter: maxUsers must be a whole number from 1 up, got 0',
    ],
    [
      "fetchHandler asking to fall through, which only createFetchHandler does (byokit.fetch answered the host's paths 404)",
      { fetchHandler: { authenticate: () => null, fallThrough: true } as unknown as ByokitOptions['fetchHandler'] },
      'fetchHandler has no setting fallThrough: it takes authenticate, prefix (to fall through to your own routes, mount with createFetchHandler(byokit, { authenticate, fallThrough: true }))',
    ],
    [
      'fetchHandler given as the auth function itself',
      { fetchHandler: (() => null) as unknown as ByokitOptions['fetchHandler'] },
      'fetchHandler must be { authenticate, prefix? }, got a function',
    ],
    [
      'an OpenAPI setting byokit does not read (a typo), which left the default title',
      { openApi: { titel: 'Acme LLM API' } as unknown as ByokitOptions['openApi'] },
      'openApi has no setting titel: it takes prefix, title, version',
    ],
    [
      'OpenAPI settings given as the prefix alone',
      { openApi: '/api/llm' as unknown as ByokitOptions['openApi'] },
      'openApi must be { prefix?, title?, version? }, got a string',
    ],
    [
      'an OpenAPI version given as a number (the document said `"version": 2`, which OpenAPI refuses: info.version is a string)',
      { openApi: { version: 2 } as unknown as ByokitOptions['openApi'] },
      'openApi.version must be a string, got a number',
    ],
    [
      'an OpenAPI title that is not text',
      { openApi: { title: 42 } as unknown as ByokitOptions['openApi'] },
      'openApi.title must be a string, got a number',
    ],
    [
      'an option name in the wrong case (streamKeepAliveMS), which left keep-alives at their default',
      { streamKeepAliveMS: 0 } as unknown as ByokitOptions,
      'createByokit has no option streamKeepAliveMS (did you mean streamKeepAliveMs?): it takes storage, keyring, environment, systemKeyVariables, keyCache, logger, now, providers, catalogTtlMs, streamKeepAliveMs, onUsage, rateLimit, concurrentCallsPerUser, fetchHandler, openApi',
    ],
    [
      'an option byokit does not have (a rate limit spelt as another library spells it)',
      { rateLimiter: { requestsPerMinute: 60 } } as unknown as ByokitOptions,
      'createByokit has no option rateLimiter: it takes storage, keyring, environment, systemKeyVariables, keyCache, logger, now, providers, catalogTtlMs, streamKeepAliveMs, onUsage, rateLimit, concurrentCallsPerUser, fetchHandler, openApi',
    ],
    [
      'a key cache given as a Map',
      { keyCache: new Map() as unknown as ByokitOptions['keyCache'] },
      'keyCache must be { ttlMs?, maxEntries? }, got a Map',
    ],
  ])('refuses to start on %s, naming the option', async (_what, options, message) => {
    await expect(start(options)).rejects.toThrow(new TypeError(message));
  });

  it.each<[string, unknown, string]>([
    [
      'no storage',
      { keyring: testKeyring() },
      'createByokit: `storage` is required: memoryStorage() from @byokit/core for trials, or a storage from @byokit/storage-postgres; got undefined',
    ],
    [
      'a storage still being opened',
      { keyring: testKeyring(), storage: Promise.resolve(memoryStorage()) },
      'createByokit: `storage` is a Promise: await it first (`await embeddedPostgresStorage(…)`)',
    ],
    [
      'no keyring',
      { storage: memoryStorage() },
      'createByokit: `keyring` is required: keyringFromEnv() reads it from BYOKIT_KEYRING, or pass a KeyProvider; got undefined',
    ],
    [
      'a keyring given as its text',
      { storage: memoryStorage(), keyring: 'k1:' + 'A'.repeat(43) },
      'createByokit: `keyring` is a string: pass keyringFromEnv(), or parseKeyring(text) for a keyring held elsewhere',
    ],
    [
      'a keyring that is neither a Keyring nor a KeyProvider',
      { storage: memoryStorage(), keyring: {} },
      'createByokit: `keyring` is required: keyringFromEnv() reads it from BYOKIT_KEYRING, or pass a KeyProvider; got an object',
    ],
    [
      'a rate limit given as a bare number',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, rateLimit: 60 },
      'createByokit: `rateLimit` must be { requestsPerMinute, burst? } or a RateLimiter (an object with take(userId)); got a number',
    ],
    [
      'a rate limit of null',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, rateLimit: null },
      'createByokit: `rateLimit` must be { requestsPerMinute, burst? } or a RateLimiter (an object with take(userId)); got null',
    ],
    [
      'a logger that is a number (it started, then failed at its first line to log)',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, logger: 5 },
      'createByokit: `logger` must be a pino-compatible logger, with debug, info, warn and error functions; got a number',
    ],
    [
      'a logger without an error method (console.log passed as the logger)',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, logger: { debug() {}, info() {}, warn() {} } },
      'createByokit: `logger` must be a pino-compatible logger, with debug, info, warn and error functions; got an object without error',
    ],
    [
      'a logger whose isLevelEnabled is not a function',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, logger: { ...console, isLevelEnabled: true } },
      'createByokit: `logger` must be a pino-compatible logger, with debug, info, warn and error functions; got an object whose isLevelEnabled is not a function',
    ],
    [
      'a usage listener that is a number (it started, then logged a failure for every usage record)',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, onUsage: 5 },
      'createByokit: `onUsage` must be a function, called with each usage record; got a number',
    ],
    [
      'a clock that is a date, not a function returning one',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, now: new Date() },
      'createByokit: `now` must be a function returning a Date; got a Date',
    ],
    [
      'a clock returning milliseconds (Date.now: it failed as "hostNow(...).getTime is not a function")',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, now: Date.now },
      'createByokit: `now` must be a function returning a Date; it returned a number',
    ],
    [
      'a clock returning an invalid Date',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, now: () => new Date(Number.NaN) },
      'createByokit: `now` must be a function returning a Date; it returned an invalid Date',
    ],
    [
      "an environment given as its file's text (it started with no system key, without a word)",
      { keyring: testKeyring(), storage: memoryStorage(), environment: 'ANTHROPIC_API_KEY=sk-ant-…' },
      'createByokit: `environment` must be an object of variable names and their text (process.env, or your own); got a string',
    ],
    [
      'an environment given as a Map (it started with no system key, without a word)',
      { keyring: testKeyring(), storage: memoryStorage(), environment: new Map([['OPENAI_API_KEY', 'sk-…']]) },
      'createByokit: `environment` must be an object of variable names and their text (process.env, or your own); got a Map',
    ],
    [
      'an environment whose key variable is not text (a parsed configuration: it failed as "raw.trim is not a function")',
      { keyring: testKeyring(), storage: memoryStorage(), environment: { OPENAI_API_KEY: 12345 } },
      "createByokit: environment.OPENAI_API_KEY must be text (a variable's value), got a number",
    ],
    [
      "system key variables naming a provider byokit does not know (Gemini's SDK's name for Google)",
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, systemKeyVariables: { gemini: 'GEMINI_API_KEY' } },
      'systemKeyVariables has no provider gemini: it takes anthropic, openai, google',
    ],
    [
      'a system key variable that is not a name',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, systemKeyVariables: { openai: '' } },
      'systemKeyVariables.openai must be the name of an environment variable, got an empty string',
    ],
    [
      'system key variables given as a string',
      { keyring: testKeyring(), storage: memoryStorage(), environment: {}, systemKeyVariables: 'OPENAI_API_KEY' },
      'systemKeyVariables must be { anthropic?, openai?, google? }, each the name of an environment variable; got a string',
    ],
    ['no options at all', undefined, 'createByokit: options are required: { storage, keyring }'],
  ])('refuses to start with %s, saying what to pass', async (_what, options, message) => {
    await expect(createByokit(options as ByokitOptions)).rejects.toThrow(new TypeError(message));
  });

  it("starts with a logger that is a function carrying pino's methods (Roarr's log is one), and writes to it", async () => {
    const lines: Array<[string, Record<string, unknown>, string]> = [];
    const method = (level: string) => (object: Record<string, unknown>, message: string) => void lines.push([level, object, message]);
    const log = Object.assign(() => {}, { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') });
    const byokit = await start({ logger: log });
    expect((await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice }))!.status).toBe(200);
    expect(lines).toContainEqual(['debug', expect.objectContaining({ status: 200 }), 'request']);
    await byokit.close();
  });

  it('refuses a function as the logger when it lacks one of the four methods (console.log passed as the logger)', async () => {
    await expect(start({ logger: console.log as never })).rejects.toThrow(
      new TypeError(
        'createByokit: `logger` must be a pino-compatible logger, with debug, info, warn and error functions; got a function without debug',
      ),
    );
  });

  it.each<[string, unknown, string]>([
    [
      'nothing (a loadKeyring that forgot to return)',
      undefined,
      "createByokit: the KeyProvider's loadKeyring() resolved to undefined: return keyringFromEnv(), parseKeyring(text) or Keyring.from(keys)",
    ],
    [
      "the keyring's text",
      'k1:' + 'A'.repeat(43),
      "createByokit: the KeyProvider's loadKeyring() resolved to a string: return parseKeyring(text) for a keyring's text",
    ],
    [
      'an object that is not a keyring',
      { k1: 'A'.repeat(43) },
      "createByokit: the KeyProvider's loadKeyring() resolved to an object: return keyringFromEnv(), parseKeyring(text) or Keyring.from(keys)",
    ],
  ])(
    'refuses to start when a KeyProvider loads %s, even with no key stored yet (it used to start, then answer 500 to every key saved)',
    async (_what, loaded, message) => {
      const keyring = { loadKeyring: async () => loaded } as unknown as ByokitOptions['keyring'];
      await expect(start({ keyring })).rejects.toThrow(new TypeError(message));
    },
  );

  it("starts on a KeyProvider's keyring, loaded once at start (a KMS's), and fails to start with the KeyProvider's own error", async () => {
    // spec/architecture.md: a KeyProvider lets a host fetch the keyring from a KMS or Vault at start-up.
    const storage = memoryStorage();
    const masterKeys = testKeyring();
    let loads = 0;
    const kms = { loadKeyring: async () => (loads++, masterKeys) };
    const byokit = await start({ storage, keyring: kms });
    const key = fakeProviderKey('openai');
    expect((await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } }))!.status).toBe(200);
    await byokit.close();
    const again = await start({ storage, keyring: kms });
    expect((await again.resolveKey(alice, 'openai')).key.reveal()).toBe(key);
    expect(loads).toBe(2);
    await again.close();

    const down = new Error('KMS unreachable');
    await expect(start({ keyring: { loadKeyring: () => Promise.reject(down) } })).rejects.toBe(down);
  });

  it('holds the rate limit to its maxUsers: when full, the user least recently let through is forgotten', async () => {
    // One call a minute, and room for one user: alice, then bob, pushes alice out, so her second call is let
    // through at once, where with room for both she is refused until the minute has passed.
    const chat = (byokit: Awaited<ReturnType<typeof start>>, userId: string) =>
      byokit.chat({ userId }, { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user', content: 'Hi' }] }).then(
        () => 'answered',
        (error: { code?: string }) => error.code,
      );
    const outcomes = async (maxUsers: number | undefined) => {
      const byokit = await start({ rateLimit: { requestsPerMinute: 1, ...(maxUsers !== undefined && { maxUsers }) } });
      const seen = [await chat(byokit, 'alice'), await chat(byokit, 'bob'), await chat(byokit, 'alice')];
      await byokit.close();
      return seen;
    };
    // No key anywhere: a call let through is refused later, with api_key_required, and never reaches a provider.
    expect(await outcomes(undefined)).toEqual(['api_key_required', 'api_key_required', 'rate_limited']);
    expect(await outcomes(1)).toEqual(['api_key_required', 'api_key_required', 'api_key_required']);
  });

  it('starts with each option at the edge of its range', async () => {
    const byokit = await start({
      keyCache: { ttlMs: 0, maxEntries: 1 },
      catalogTtlMs: 0,
      providers: { anthropic: { timeoutMs: 1, retries: 0 }, openai: { timeoutMs: 2 ** 31 - 1, retries: 10 } },
      rateLimit: { requestsPerMinute: 1 },
    });
    await byokit.close();
  });
});

describe("createByokit with a host's typed configuration", () => {
  // A host's settings are often instances of its own configuration classes (NestJS with class-transformer and
  // class-validator, say): objects whose own properties are the settings, as the types ask. Only collections that
  // keep their entries elsewhere (a Map, a Headers) lose what they hold when read as an object.
  class GatewaySettings {
    constructor(
      readonly baseUrl: string,
      readonly headers: Record<string, string>,
      readonly retries = 0,
    ) {}
  }
  class KeyCacheSettings {
    readonly ttlMs = 5_000;
  }

  it('starts with settings given as class instances, and sends each call to their gateway with their headers', async () => {
    const gateway = await startReplayServer({ json: fixtureJson('anthropic/anthropic-text.json') });
    // Headers made without a prototype (Object.create(null)), as a parsed header map may be.
    const headers = Object.assign(Object.create(null) as Record<string, string>, { 'x-gateway-token': 'gateway-secret' });
    const providers = Object.assign(new (class ProvidersSettings {})(), {
      anthropic: new GatewaySettings(`${gateway.origin}/anthropic/`, headers),
    });
    try {
      const byokit = await start({
        providers,
        keyCache: new KeyCacheSettings(),
        environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      });
      const answer = await byokit.chat(alice, {
        model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
        messages: [{ role: 'user', content: 'Hello!' }],
        max_tokens: 64,
      });
      expect(answer.object).toBe('chat.completion');
      expect(gateway.requests.map((request) => [request.url, request.headers['x-gateway-token']])).toEqual([
        ['/anthropic/v1/messages', 'gateway-secret'],
      ]);
      await byokit.close();
    } finally {
      await gateway.close();
    }
  });
});

describe('byokit.rotateKeys', () => {
  it.each([0, Number.NaN, -1, 10_001])('refuses a batch size of %s rather than end at once as if nothing were left', async (batchSize) => {
    const byokit = await start({});
    await expect(byokit.rotateKeys({ batchSize })).rejects.toThrow(
      new TypeError(`rotateKeys batchSize must be a whole number from 1 to 10000, got ${batchSize}`),
    );
    await byokit.close();
  });

  // In plain JavaScript: a run given an AbortController could not be stopped (its `aborted` was never true), and one
  // given an onProgress that is not a function failed after re-sealing its first page, as "onProgress is not a function".
  it.each<[string, unknown, string]>([
    [
      'an AbortController in place of its signal',
      { signal: new AbortController() },
      'rotateKeys signal must be an AbortSignal, got an AbortController: pass its signal',
    ],
    ['an onProgress that is not a function', { onProgress: 'log' }, 'rotateKeys onProgress must be a function, got a string'],
    [
      'an option it does not read',
      { batchsize: 100 },
      'rotateKeys has no option batchsize (did you mean batchSize?): it takes batchSize, signal, onProgress',
    ],
    ['null', null, 'rotateKeys options must be { batchSize?, signal?, onProgress? }, got null'],
  ])('refuses %s before re-sealing anything', async (_what, options, message) => {
    const storage = memoryStorage();
    const byokit = await start({ storage });
    let listed = false;
    const listKeysToReseal = storage.listKeysToReseal.bind(storage);
    storage.listKeysToReseal = async (...args) => ((listed = true), listKeysToReseal(...args));
    await expect(byokit.rotateKeys(options as never)).rejects.toThrow(new TypeError(message));
    expect(listed).toBe(false);
    await byokit.close();
  });
});
