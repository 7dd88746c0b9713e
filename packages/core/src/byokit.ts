import type { Keyring, KeyProvider } from './crypto/keyring.js';
import { PROVIDERS, type Provider } from './keys/providers.js';
import { silentLogger, type Logger } from './logging/logger.js';
import { guardedLogger } from './logging/host-logger.js';
import { createRequestHandler } from './http/handler.js';
import { keyRoutes } from './http/routes/key-routes.js';
import type { ByokitRequest, ByokitResponse } from './http/types.js';
import { KeyCache } from './resolve/key-cache.js';
import { KeyResolver, type ResolvedKey } from './resolve/key-resolver.js';
import { readSystemKeysFromEnvironment, warnOfOverriddenEnvironmentKeys } from './resolve/environment-keys.js';
import type { Storage } from './storage/storage.js';
import { KeyManager } from './vault/key-manager.js';
import { ChatService, type ChatCallContext } from './chat/chat-service.js';
import { createFetchHandler, type FetchHandlerOptions } from './fetch/fetch-handler.js';
import { BudgetGuard } from './metering/budget-guard.js';
import { BudgetService } from './metering/budget-service.js';
import { RateLimitGuard } from './metering/rate-limit-guard.js';
import { CallsInFlight, DEFAULT_CONCURRENT_CALLS_PER_USER } from './metering/calls-in-flight.js';
import type { MemoryRateLimiterOptions, RateLimiter } from './metering/rate-limiter.js';
import { budgetRoutes } from './http/routes/budget-routes.js';
import { RetiredModelWarnings } from './catalog/retirements.js';
import { UsageMeter, type UsageListener } from './metering/usage-meter.js';
import { MAX_USAGE_PAGE, type UsagePage, type UsageSummary } from './metering/usage-record.js';
import { UsageService, type UsageSummaryRequest, type UsageWindow } from './metering/usage-service.js';
import { usageRoutes } from './http/routes/usage-routes.js';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from './chat/chat-schemas.js';
import { chatRoutes } from './http/routes/chat-routes.js';
import { openAIRoutes } from './http/routes/openai-routes.js';
import { modelRoutes } from './http/routes/model-routes.js';
import { withOpenApiRoute } from './http/routes/discovery-routes.js';
import type { OpenApiOptions } from './http/openapi.js';
import { ModelDirectory } from './models/model-directory.js';
import { PROVIDER_LIMITS, createProviderClients, type ProvidersSettings } from './providers/provider-clients.js';
import { DEFAULT_TIMEOUT_MS } from './providers/provider-http.js';
import { resealKeys, type RotationOptions, type RotationProgress } from './vault/reseal-keys.js';
import { assertSettingNames, wholeNumberOption } from './host-option-checks.js';
import {
  assertKeyringOpensStorage,
  assertObjectOptions,
  assertRequiredOptions,
  BYOKIT_OPTIONS,
  clockReading,
  loadedKeyring,
  rateLimiterOf,
  systemKeyVariablesOf,
} from './byokit-options.js';
import {
  callContext,
  forgetUserOptions,
  principalUserId,
  settingsGiven,
  USAGE_PAGE,
  USAGE_QUERY,
  validChatRequest,
  validPageLimit,
  validProvider,
  validUserId,
} from './call-arguments.js';
import { Lifecycle } from './lifecycle.js';
import { forgetUser, type ForgetUserOptions, type ForgottenUser } from './forget-user.js';
import { DEFAULT_STREAM_KEEP_ALIVE_MS, KeepAlive } from './chat/keep-alive.js';
import { readOnce } from './chat/chat-stream-iterable.js';
import type { Route } from './http/route.js';

/** Options of {@link createByokit}. Only `storage` and `keyring` are required. */
export interface ByokitOptions {
  /** Where keys, usage and audit records live: `memoryStorage()` for trials, storage-postgres for real use. */
  storage: Storage;
  /** The master keys, or a provider that loads them at start-up (e.g. from a KMS): see `keyringFromEnv()`. */
  keyring: Keyring | KeyProvider;
  /** Where system keys are read from at start-up. Default: `process.env`. */
  environment?: Record<string, string | undefined> | undefined;
  /**
   * Names of the variables holding system keys, per provider (`{ openai: 'MY_OPENAI_KEY' }`); a provider left out
   * or `undefined` keeps its default: `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GOOGLE_API_KEY`. Another provider
   * name, or a name that is not text, makes `createByokit` reject.
   */
  systemKeyVariables?: { [P in Provider]?: string | undefined } | undefined;
  /**
   * How long a decrypted key is kept in memory, and how many at most. Writes through this byokit are seen
   * at once; writes through another (another node, or a second byokit in this process) within `ttlMs`.
   * Default 10 s and 10,000 entries; `ttlMs: 0` disables it. Whole numbers (`ttlMs` from 0, `maxEntries` from
   * 1): anything else, or another name (`ttl`), makes `createByokit` reject.
   */
  keyCache?:
    | {
        /** How long a decrypted key is kept, in milliseconds. Default 10,000; `0` keeps none. */
        ttlMs?: number | undefined;
        /** The most keys kept at once. Default 10,000. */
        maxEntries?: number | undefined;
      }
    | undefined;
  /**
   * A pino-compatible logger. Default: silent. A line it fails to write (a method that throws or rejects) is dropped,
   * the answer and the usage record unchanged, and its first such failure said once as a process warning
   * (`BYOKIT_LOGGER_FAILED`).
   */
  logger?: Logger | undefined;
  /**
   * The clock, for tests. Default: the system clock. Each reading is copied, so it may return one Date that it moves on.
   * Read once at start: one that throws or gives no Date there makes `createByokit` reject; later, the request reading it
   * fails (`500`), and a call's usage record is dated by the system clock instead, logged.
   */
  now?: (() => Date) | undefined;
  /**
   * Provider settings from the host (never from a request): base URL, timeout, retries, static headers, an
   * undici dispatcher. Defaults: each provider's public API, 10 minutes, 1 retry. A timeout or a retry count no
   * call could use (`timeoutMs: 0`, `retries: NaN`) makes `createByokit` reject.
   */
  providers?: ProvidersSettings | undefined;
  /** How long an admin's catalog change on another node may take to be seen here, in whole ms. Default 30 s. */
  catalogTtlMs?: number | undefined;
  /**
   * Keep-alives for streamed answers, in whole ms: a stream that has written nothing for this long (a reasoning
   * model thinking) writes an SSE comment, `: keep-alive`, which SSE clients skip, so that a reverse proxy's idle
   * timeout (nginx and AWS ALB 60 s, Heroku 30 s to the first byte then 55 s, Cloudflare 100 s) does not cut it.
   * A silence lasts at most twice this. When the provider's first event takes that long, the stream's head goes
   * first, with a comment, and a failure after that is the stream's last `data: {"error": …}` event rather than an
   * HTTP error. One interval for all streams, stopped by `close()`. Default 10,000 (10 s); `0` turns it off. Whole
   * numbers from 0 to 2^31 - 1: anything else makes `createByokit` reject. Keep it to seconds: under a second, a
   * provider's refusal (a rejected key, a 429) may come after the head went early, as the stream's last event.
   * The same interval lets go of a stream whose client stopped reading (its connection left open) once it has taken
   * nothing for the longest provider `timeoutMs`: the provider call is aborted and recorded as aborted. With `0`,
   * such a stream waits for its client as long as the connection stays open.
   */
  streamKeepAliveMs?: number | undefined;
  /**
   * Called with every usage record once it is made (after the answer, never delaying it), e.g. to send it to
   * your own billing system too: a copy of its own, which it may change. A failure is logged, not retried; records
   * are in storage either way. No request waits for it; `close()` does, for the calls still running, 10 s at most in
   * all: then it logs how many it let go of and goes on (give your own calls their own timeout).
   */
  onUsage?: UsageListener | undefined;
  /**
   * Per-user rate limit on chat calls (the route and `byokit.chat()` / `chatStream()` alike) and on a user's own key
   * writes (`PATCH` and `DELETE /users/me/api-key`, `?verify=true` included), counted once per call before anything
   * else: a call over it gets `429 rate_limited` with `Retry-After` (a `ByokitError` in code), reaches no provider
   * and leaves no usage record. `{ requestsPerMinute, burst? }` keeps the counts in this process
   * (`memoryRateLimiter`; `burst` defaults to a minute's worth, `maxUsers`, the most users tracked at once, to
   * 100,000; any other name makes `createByokit` reject); with many nodes, pass your own {@link RateLimiter} on a
   * shared store such as Redis. A limiter that fails lets calls through and is logged. Default: no limit.
   */
  rateLimit?: Omit<MemoryRateLimiterOptions, 'now'> | RateLimiter | undefined;
  /**
   * How many chat calls (the routes and `byokit.chat()` / `chatStream()` alike) one user may have running at once
   * in this process. A stream runs until its client has read it to the end or left, so a call past the bound gets
   * `429 rate_limited` with `Retry-After: 1` (a `ByokitError` in code), after the rate limit's count and before
   * anything that costs: no provider, hold or record. Each running call holds a provider connection, memory and
   * its budget hold: without a bound, one client opening streams it never read held as many as it liked. Per node.
   * Default 64; `0` sets no bound. A whole number from 0 up: anything else makes `createByokit` reject.
   */
  concurrentCallsPerUser?: number | undefined;
  /**
   * What {@link Byokit.fetch} needs to answer HTTP requests: your auth (`authenticate(request: Request)` → the
   * principal, or null) and the mount prefix (default `/v2`). Only `byokit.fetch` reads it. Leave it out when
   * you mount byokit through an adapter or `createFetchHandler(byokit, { authenticate, prefix })`, which does the
   * same for one mount and can also fall through to your routes (`fallThrough: true`). Not named `fetch`: in
   * most SDKs a `fetch` option is a custom outbound `fetch` function (byokit's own calls are set in `providers`).
   */
  fetchHandler?: Omit<FetchHandlerOptions, 'fallThrough'> | undefined;
  /**
   * How `GET /openapi.json` describes the API: `prefix`, where you mounted byokit, is the document's server URL
   * (default: `fetchHandler.prefix`, else `/v2`; byokit cannot see an adapter's prefix, so pass it when you
   * mount elsewhere); `title` (default `byokit`) and `version` (default: this package's version).
   */
  openApi?: OpenApiOptions | undefined;
}

/** Options of a programmatic chat call. */
export interface ChatOptions {
  /**
   * Aborts the provider call (and the stream) when aborted. One signal may serve any number of calls at once
   * (a host's shutdown signal): byokit keeps one listener of its own on it, none once the calls have ended. `null`,
   * as `fetch()` takes it, is none.
   */
  signal?: AbortSignal | null | undefined;
  /**
   * Kept in the call's usage record, to find it again; a new UUID when left out. Held to the rule of `x-request-id`:
   * 1 to 128 characters of `A-Za-z0-9._:-`, not a provider key; anything else is a `ByokitError` `validation_failed`.
   */
  requestId?: string | undefined;
}

/** A running byokit: mount `handle` through an adapter, or call it from code. */
export interface Byokit {
  /**
   * Answers a request below the mount prefix in the /v2 contract, or resolves `undefined` when no byokit
   * route has that path (so the host's own routes can answer). Adapters call this; hosts rarely need to.
   */
  handle(request: ByokitRequest): Promise<ByokitResponse | undefined>;
  /**
   * The /v2 contract as a standard fetch handler, for hosts that speak `Request` → `Response`: Hono
   * (`app.all('/v2/*', (c) => byokit.fetch(c.req.raw))`), Next.js route handlers, `Bun.serve({ fetch: byokit.fetch })`,
   * `Deno.serve(byokit.fetch)`. Uses `authenticate` and `prefix` from the `fetchHandler` option of `createByokit`; a
   * request byokit has no route for gets `404 not_found` in the contract's shape. Needs no `this`, so it can be
   * passed on as is. Rejects with a `TypeError` when `createByokit` got no `fetchHandler` option (a host bug, not
   * a request error). The same as `createFetchHandler(byokit, options.fetchHandler)`.
   */
  fetch(request: Request): Promise<Response>;
  /**
   * The key a user's request to `provider` would use: their personal key, else the system key (database,
   * then environment). Throws a `ByokitError` with code `api_key_required` naming the provider when there is none,
   * `key_unreadable` (its `cause` naming the row) when the stored key it would use does not decrypt (never falling
   * through to the next), and `validation_failed` for a provider byokit does not speak to, a user id it could not store, or no
   * principal at all (`null`, as a host's auth answers for nobody signed in).
   */
  resolveKey(principal: { userId: string }, provider: Provider): Promise<ResolvedKey>;
  /**
   * Re-seals every stored key under the keyring's primary master key: the re-encryption step of a master
   * key rotation. Resumable, and safe beside live traffic and other runs. Check `keyRowsByMasterKeyId()`
   * shows no rows left on the old id before removing it from the keyring.
   */
  rotateKeys(options?: RotationOptions): Promise<RotationProgress>;
  /** How many stored keys each master key id seals: rotation progress as a query. */
  keyRowsByMasterKeyId(): Promise<Map<string, number>>;
  /**
   * A chat completion for a user, the same path `POST /llm/chat/completions` takes: the model from the
   * catalog, limits checked, the user's key (or the system key), the answer in one shape with usage and cost.
   * Throws a `ByokitError` (e.g. `api_key_required`, `model_not_found`, `validation_failed`, `provider_*`).
   */
  chat(principal: { userId: string }, request: ChatCompletionRequest, options?: ChatOptions): Promise<ChatCompletion>;
  /**
   * The streaming form of {@link Byokit.chat}: chunks as they come; the last one carries `usage`. Its arguments are
   * read when it is called; the call starts when it is first read (a refusal is thrown there), and it is read once:
   * iterated again, it rejects with `validation_failed` (call `chatStream` again for another answer). Leave it early
   * with `break` (or `return()`, or the signal): an iterator merely let go of ends its call only once it is
   * garbage-collected, its provider connection open until then.
   */
  chatStream(principal: { userId: string }, request: ChatCompletionRequest, options?: ChatOptions): AsyncIterable<ChatCompletionChunk>;
  /** Usage records, for your own reports and billing: the same data as the usage routes, windows defaulting alike. */
  usage: {
    /**
     * Totals over a window (default: this month; with `to` alone, the month it ends in, up to it), every user's
     * unless `userId` is given; grouped with `groupBy`.
     * `from` and `to` are `Date`s from 1970 to 9999, as on the routes; anything else, an unknown grouping, or a name it
     * does not read (`user`), is a `ByokitError` `validation_failed`.
     */
    query(request?: UsageSummaryRequest): Promise<UsageSummary & { window: UsageWindow }>;
    /**
     * One user's records, newest first: pass `next` back as `cursor` for the following page. `limit` is 1 to
     * {@link MAX_USAGE_PAGE} (default 100; the route's pages are smaller, 1 to 100, default 20); anything else,
     * a cursor this API did not give, or a page of other names, is a `ByokitError` `validation_failed`.
     */
    events(userId: string, page?: { limit?: number | undefined; cursor?: string | undefined }): Promise<UsagePage>;
  };
  /**
   * Forgets a user whose account you close (they asked to be forgotten, or an admin removed them), so that an id you
   * give again starts afresh: in one storage step, deletes each of their personal keys, with an audit record each
   * (action `delete`, by `actorId`), their budget and its holds, and with `usage: 'delete'` their usage records and
   * monthly spending (`'keep'` leaves those under the id: see {@link ForgetUserOptions}). This node stops using their
   * keys at once; other nodes within their key cache's TTL, as after `DELETE /users/me/api-key`. Their calls already
   * under way end as they would have, with the key they began with, and are recorded under the id as they end (after
   * this resolved, with either choice): stop the user's sessions first, and with `'delete'`, call it again once the
   * longest provider `timeoutMs` has passed for none of theirs to stay. The audit trail (hints of four characters,
   * never a key) is kept; so are the rate limiter's counts, which pass within a minute. Calling it again, or for a
   * user byokit holds nothing of, forgets what there is, if anything. Throws a `ByokitError` `validation_failed` for
   * a user id it could not store or options it does not take, and rejects with a `TypeError` on a storage of your own
   * without `forgetUser` (nothing forgotten).
   */
  forgetUser(userId: string, options: ForgetUserOptions): Promise<ForgottenUser>;
  /**
   * Releases what byokit holds: waits for the calls already under way (a chat until it is answered, a stream
   * until it is read to its end or left: `break`, `return()`, its signal aborted, or its iterator let go of and
   * garbage-collected; a route's stream whose client stopped reading, its connection open, until it is let go
   * after the longest provider `timeoutMs`, so end the connections first when stopping on a deadline), the usage
   * records still being written and your `onUsage` calls still running (10 s at most in all), then closes
   * connections (the storage's once no other byokit in this process, open or still starting, uses that storage object; a start that fails never closes it). Stop serving requests first: once it has begun, every call (in code, or a
   * request to a route) is refused with a `ByokitError` `storage_unavailable` (HTTP 503) saying byokit is closed, and reaches
   * no provider. Calling it again waits for the same close.
   */
  close(): Promise<void>;
}

/**
 * Starts byokit. Fails closed: a keyring that does not open every key in storage refuses to start, with
 * a message naming the missing key id and how many rows need it (spec/security.md, "Fail closed at start-up").
 *
 * @example
 * ```ts
 * import { createByokit, keyringFromEnv, memoryStorage } from '@byokit/core';
 *
 * const byokit = await createByokit({ storage: memoryStorage(), keyring: keyringFromEnv() });
 * ```
 *
 * @throws Rejects with a `TypeError` naming the option for an option that is missing, unknown (a typo such as
 *   `streamKeepAliveMS`) or malformed (`storage` or `keyring` left out or not yet awaited; a `keyCache`,
 *   `catalogTtlMs`, `rateLimit`, `providers`, `systemKeyVariables` or mount `prefix` no call could use; a
 *   `fetchHandler.authenticate` that is not a function); with a `ByokitError` `keyring_invalid` when the keyring (or what
 *   `keyring.loadKeyring()` loads) lacks, or has retired, a master key id that sealed stored keys; and with what the
 *   storage or the `KeyProvider` rejects with (e.g. `storage_unavailable`).
 */
export async function createByokit(options: ByokitOptions): Promise<Byokit> {
  assertRequiredOptions(options);
  // Counted from the call, before the first read of storage: counted once started, a byokit still starting on a
  // storage when the last other one on it closed (a dev server's reload) had the storage closed under it, and its
  // start failed as "The database is unavailable". A start that fails lets go of it again, never closing it.
  // Read once, here: a host may put the next byokit's storage in the same options object (a dev server's reload),
  // and this byokit, reading `options.storage` when called, then counted keys in, forgot users of and closed that one.
  const { storage } = options;
  openOn(storage);
  try {
    return await startByokit(options, storage);
  } catch (error) {
    leave(storage);
    throw error;
  }
}

/** {@link createByokit}'s work, with `storage` (the option as it was given) counted as in use by this byokit already. */
async function startByokit(options: ByokitOptions, storage: Storage): Promise<Byokit> {
  // A name byokit does not read (`streamKeepAliveMS`, `rateLimiter`) left its default in place without a word, where
  // TypeScript does not check it (JavaScript, or options built in a variable).
  assertSettingNames('createByokit', options, BYOKIT_OPTIONS, { noun: 'option' });
  // Checked before anything starts: a typo fails here, naming the option (host-option-checks.ts).
  assertObjectOptions(options);
  const keyCacheTtlMs = wholeNumberOption('keyCache.ttlMs', options.keyCache?.ttlMs ?? 10_000, 0);
  const keyCacheEntries = wholeNumberOption('keyCache.maxEntries', options.keyCache?.maxEntries ?? 10_000, 1);
  const catalogTtlMs = wholeNumberOption('catalogTtlMs', options.catalogTtlMs ?? 30_000, 0);
  // setInterval's longest delay: a longer one Node would take as 1 ms.
  const streamKeepAliveMs = wholeNumberOption(
    'streamKeepAliveMs',
    options.streamKeepAliveMs ?? DEFAULT_STREAM_KEEP_ALIVE_MS,
    0,
    2 ** 31 - 1,
  );
  // The host's logger, guarded: a line it fails to write is dropped, never the answer or the record (logging/host-logger.ts).
  const logger = options.logger ? guardedLogger(options.logger) : silentLogger;
  // A Date of byokit's own at each reading: a host's clock may hand out one Date that it moves on (setTime), and a
  // call's time, kept until its record is made just after the answer, moved with it (a call ended at 23:59:59.5 on
  // 30 November was dated, and its cost charged to, December).
  const hostNow = options.now;
  const now = hostNow ? () => clockReading(hostNow()) : () => new Date();
  // Read once here, so that a clock that gives no Date refuses the start rather than every call after it.
  now();
  const rateLimiter = rateLimiterOf(options.rateLimit, now);
  const callsInFlight = new CallsInFlight(
    wholeNumberOption('concurrentCallsPerUser', options.concurrentCallsPerUser ?? DEFAULT_CONCURRENT_CALLS_PER_USER, 0),
  );
  const systemKeyVariables = systemKeyVariablesOf(options.systemKeyVariables);
  // Made before storage is read: its checks of the provider settings (a misspelt provider, a timeout no call could
  // use) refused the start only after the reads, so with the database down the refusal was the database's error.
  const clients = createProviderClients(options.providers);
  // Every option, and the environment's system keys, read before the first wait, as `storage` is: tenants started
  // together from one options object set for each in turn (`Promise.all`) had those read after it from the last
  // tenant's (its system keys).
  const environment = options.environment ?? globalThis.process?.env ?? {};
  const environmentKeys = readSystemKeysFromEnvironment(environment, systemKeyVariables, logger);
  const { onUsage, openApi, fetchHandler: fetchHandlerOptions } = options;
  // A client that takes nothing of its stream for as long as byokit lets a provider be silent in one is let go.
  const longestTimeoutMs = Math.max(...PROVIDERS.map((provider) => options.providers?.[provider]?.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  const keyring = 'loadKeyring' in options.keyring ? loadedKeyring(await options.keyring.loadKeyring()) : options.keyring;
  await assertKeyringOpensStorage(keyring, storage);
  await warnOfOverriddenEnvironmentKeys(storage, keyring, environmentKeys, systemKeyVariables, logger);

  const cache = new KeyCache(keyCacheTtlMs, keyCacheEntries, () => now().getTime());
  const resolver = new KeyResolver(storage, keyring, environmentKeys, cache);
  const keys = new KeyManager(storage, keyring, resolver, environmentKeys, now);
  const models = await ModelDirectory.load(storage, catalogTtlMs, () => now().getTime());
  const meter = new UsageMeter(storage, logger, now, onUsage);
  const budgets = new BudgetGuard(storage, now, logger, (holdId) => meter.endHold(holdId));
  const rateLimits = new RateLimitGuard(rateLimiter, logger);
  const retired = new RetiredModelWarnings(logger, now);
  const chat = new ChatService(models, resolver, clients, PROVIDER_LIMITS, now, meter, budgets, rateLimits, retired, callsInFlight, logger);
  const usage = new UsageService(storage, now);
  const lifecycle = new Lifecycle();
  const keepAlive = new KeepAlive(streamKeepAliveMs, longestTimeoutMs);
  const handle = createRequestHandler(
    withOpenApiRoute({ prefix: fetchHandlerOptions?.prefix, ...openApi }, [
      ...keyRoutes(keys, clients, rateLimits, logger),
      ...modelRoutes(models, resolver),
      ...chatRoutes(chat, logger, keepAlive),
      ...openAIRoutes(chat, models, resolver, logger, keepAlive),
      ...usageRoutes(usage),
      ...budgetRoutes(new BudgetService(storage, now)),
    ]).map((route) => whileOpen(lifecycle, route)),
    logger,
  );

  let closing: Promise<void> | undefined;
  const fetchHandler = fetchHandlerOptions && createFetchHandler({ handle }, { ...fetchHandlerOptions, fallThrough: false });

  return {
    handle,
    fetch: async (request) => {
      if (!fetchHandler) {
        throw new TypeError(
          'byokit.fetch needs your auth: pass `fetchHandler: { authenticate, prefix? }` to createByokit, or mount with createFetchHandler(byokit, { authenticate }).',
        );
      }
      return fetchHandler(request);
    },
    resolveKey: (principal, provider) => {
      // Not async: the cached path stays one promise (bench/key-path.mjs); a bad user id is a rejection all the same.
      try {
        lifecycle.assertOpen();
        return resolver.resolve(principalUserId(principal), validProvider(provider));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    rotateKeys: (rotationOptions) => lifecycle.run(() => resealKeys(storage, keyring, logger, rotationOptions)),
    keyRowsByMasterKeyId: () => lifecycle.run(() => storage.countKeysByMasterKeyId()),
    chat: (principal, request, chatOptions) =>
      lifecycle.run(async () => {
        const { completion } = await chat.complete(principalUserId(principal), validChatRequest(request), callContext(chatOptions));
        return completion;
      }),
    chatStream: (principal, request, chatOptions) => {
      // Read now, as chat() and fetch() read theirs, though the call begins at the first read (a refusal is thrown
      // there): read then, a principal or request the host changed meanwhile for its next stream billed this one to
      // that stream's user, with its request.
      let args: [string, ChatCompletionRequest, ChatCallContext] | undefined;
      let refusal: unknown;
      try {
        args = [principalUserId(principal), validChatRequest(request), callContext(chatOptions)];
      } catch (error) {
        refusal = error;
      }
      return readOnce(() =>
        lifecycle.run(async () => {
          if (args === undefined) throw refusal;
          return chat.stream(...args);
        }),
      );
    },
    usage: {
      query: (request) =>
        lifecycle.run(async () => {
          const summary = settingsGiven<UsageSummaryRequest>(request, 'The usage query', USAGE_QUERY);
          if (summary.userId !== undefined) validUserId(summary.userId);
          return usage.summary(summary);
        }),
      events: (userId, page) =>
        lifecycle.run(async () => {
          const { limit = 100, cursor } = settingsGiven<{ limit: number; cursor: string }>(page, 'The page', USAGE_PAGE);
          return usage.events(validUserId(userId), validPageLimit(limit), cursor);
        }),
    },
    forgetUser: (userId, forgetOptions) =>
      lifecycle.run(async () => {
        const id = validUserId(userId);
        const { usage: forgottenUsage, actor } = forgetUserOptions(forgetOptions);
        return forgetUser(storage, resolver, id, forgottenUsage, actor, now());
      }),
    // Once: a host may well close twice (a signal handler and its own teardown), and the second must not fail
    // on connections the first already closed.
    close: () =>
      (closing ??= (async () => {
        // Calls under way first (a chat between its key and the provider), so they end as if byokit were open.
        await lifecycle.close();
        cache.clear();
        await meter.flush();
        // Waits for streams still running upstream; their records are made as they end, and written by the flush after.
        await Promise.all(Object.values(clients).map((client) => client.close?.()));
        await meter.flush();
        // Last: the streams close() waited for were kept alive until their end.
        keepAlive.close();
        // The providers' verdicts on keys still being written (KeyResolver.noteVerdict), before storage closes.
        await resolver.settled();
        if (leave(storage)) await storage.close?.();
      })()),
  };
}

/**
 * How many byokits, open or starting, use each storage: the storage is closed with the last of them to close. A host
 * may start two on one storage (two mounts, or a test beside its server); closing one closed the storage under the
 * other, whose every call then failed as "The database is unavailable".
 */
const openByokits = new WeakMap<Storage, number>();

function openOn(storage: Storage): void {
  openByokits.set(storage, (openByokits.get(storage) ?? 0) + 1);
}

/** Counts one byokit on `storage` closed, or failed to start; true when no other is left open or starting on it. */
function leave(storage: Storage): boolean {
  const open = (openByokits.get(storage) ?? 1) - 1;
  if (open > 0) openByokits.set(storage, open);
  else openByokits.delete(storage);
  return open === 0;
}

/**
 * A route that answers 503 `storage_unavailable`, saying byokit is closed, once `close()` has begun, and that `close()`
 * waits for while it runs (a streamed answer until its stream has begun): lifecycle.ts.
 */
function whileOpen<R extends Route<any, any, any>>(lifecycle: Lifecycle, route: R): R {
  return {
    ...route,
    handle: (context) => lifecycle.run(() => route.handle(context)),
  };
}
