// What the adapter conformance suite runs against: the callers and their auth, and a byokit on memory storage
// answering chat from the mock providers, on a fixed clock so that two byokits fed the same requests answer alike.
import { createByokit, type Byokit } from '../../byokit.js';
import { Keyring } from '../../crypto/keyring.js';
import { headerValue } from '../../http/headers.js';
import type { Principal, RequestHeaders } from '../../http/types.js';
import { PROVIDERS, type Provider } from '../../keys/providers.js';
import type { Logger, LogMethod } from '../../logging/logger.js';
import type { RateLimiter } from '../../metering/rate-limiter.js';
import { memoryStorage } from '../../storage/memory-storage.js';
import { SYSTEM_OWNER, userOwner, type KeyOwner, type Storage } from '../../storage/storage.js';
import { startMockProviders, type MockProviders } from '../mock-providers.js';

/** Who sends a request: nobody signed in, two ordinary users, an admin, and two users the set-up holds back. */
export type Caller = 'anonymous' | 'user' | 'otherUser' | 'admin' | 'budgetedUser' | 'rateLimitedUser';

export const PRINCIPALS: Readonly<Record<Exclude<Caller, 'anonymous'>, Principal>> = {
  user: { userId: 'conformance-user', isAdmin: false },
  otherUser: { userId: 'conformance-other-user', isAdmin: false },
  admin: { userId: 'conformance-admin', isAdmin: true },
  // An admin gives this one a tiny budget: chat is refused with 402. Its id is spelt as hosts' ids are (upper case,
  // `|` as Auth0's, a space, `/` and `%`), so that it must be escaped in the admin's budget path: a mount that
  // changes the path on its way to byokit (lower case, decoded) sets another user's budget, or none.
  budgetedUser: { userId: 'conformance|Budgeted User/100%', isAdmin: false },
  // The rate limiter refuses every chat call of this one: 429 with Retry-After.
  rateLimitedUser: { userId: 'conformance-rate-limited-user', isAdmin: false },
};

/** Every owner of keys on a side: each principal, and the system. */
export const OWNERS: readonly KeyOwner[] = [...Object.values(PRINCIPALS).map((principal) => userOwner(principal.userId)), SYSTEM_OWNER];

/** Each caller's bearer token; the anonymous caller sends none. */
export function authorizationOf(caller: Caller): Record<string, string> {
  return caller === 'anonymous' ? {} : { authorization: `Bearer conformance-token-${caller}` };
}

const BY_TOKEN = new Map<string, Principal>(
  Object.entries(PRINCIPALS).map(([caller, principal]) => [`Bearer conformance-token-${caller}`, principal]),
);

/**
 * The host's auth in the suite: a bearer token names the principal; any other request is nobody's. Takes
 * headers in either form (Node's record, a fetch `Headers`), so every adapter's test can pass its request's.
 */
export function authenticate(headers: RequestHeaders): Principal | null {
  return BY_TOKEN.get(headerValue(headers, 'authorization') ?? '') ?? null;
}

/** The fixed clock: `created` in chat answers, timestamps in key status and usage are the same on every side. */
const NOW = new Date('2026-11-25T10:00:00.000Z');

/** The Retry-After the suite's rate limiter asks for, in seconds. */
const RATE_LIMIT_RETRY_AFTER_SECONDS = 7;

/** Refuses every chat call of the rate-limited caller, lets the others through. */
const rateLimiter: RateLimiter = {
  take: async (userId) =>
    userId === PRINCIPALS.rateLimitedUser.userId
      ? { allowed: false, retryAfterMs: RATE_LIMIT_RETRY_AFTER_SECONDS * 1000 }
      : { allowed: true },
};

/** A byokit, its storage, the mock providers behind it, and what it logged. */
export interface Side {
  byokit: Byokit;
  storage: Storage;
  mock: MockProviders;
  /** byokit's log lines, every level, as JSON. */
  logLines: string[];
  close(): Promise<void>;
}

export interface SideOptions {
  /** The keyring: the same one for two sides that are compared, so that neither refuses the other's state. */
  keyring: Keyring;
  /** System keys from the environment (`OPENAI_API_KEY`…). */
  environment: Record<string, string>;
  /** The mount prefix, for the OpenAPI document's server URL. */
  prefix: string;
  /** Where the side keeps its state; default: a new memory storage. byokit closes it with the side. */
  storage?: Storage;
  /** The keep-alive interval of streams; default: byokit's. */
  streamKeepAliveMs?: number;
  /** A provider's base URL other than the mock's (a provider of a test's own); default: the mock's, for each. */
  baseUrls?: Partial<Record<Provider, string>>;
  /** Every provider's `timeoutMs`, which also bounds how long a stream's reader that takes nothing is waited for. */
  providerTimeoutMs?: number;
}

/** A keyring of one random master key. */
export function randomKeyring(): Keyring {
  return Keyring.from([{ id: 'conformance', key: crypto.getRandomValues(new Uint8Array(32)) }]);
}

/**
 * What a call could change on a side, as one text to compare: every principal's keys and the system's, the audit
 * trail, the budgets of `budgetUsers`, the catalog, and how many calls the providers got (no usage record is made
 * without one).
 */
export async function sideState(side: Side, budgetUsers: readonly string[]): Promise<string> {
  const keys = await Promise.all(OWNERS.map((owner) => side.storage.listKeys(owner)));
  return JSON.stringify({
    keys: keys.map((list) => list.map((key) => ({ ...key, envelope: [...key.envelope] }))),
    audit: await side.storage.listAudit({ limit: 10_000 }),
    budgets: await Promise.all(budgetUsers.map((userId) => side.storage.getBudget(userId))),
    models: await side.storage.listModels(),
    providerCalls: side.mock.requests.length,
  });
}

/** Starts mock providers and a byokit pointed at them. */
export async function startSide(options: SideOptions): Promise<Side> {
  const mock = await startMockProviders();
  const storage = options.storage ?? memoryStorage();
  const logLines: string[] = [];
  const line =
    (level: string): LogMethod =>
    (object, message) =>
      void logLines.push(JSON.stringify({ level, message, ...object }));
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  const byokit = await createByokit({
    storage,
    keyring: options.keyring,
    environment: options.environment,
    // No retries: a failure the mock is told to give is the answer, not retried into a success.
    providers: Object.fromEntries(
      PROVIDERS.map((provider) => [
        provider,
        {
          baseUrl: options.baseUrls?.[provider] ?? mock.baseUrls[provider],
          retries: 0,
          ...(options.providerTimeoutMs !== undefined && { timeoutMs: options.providerTimeoutMs }),
        },
      ]),
    ),
    now: () => NOW,
    rateLimit: rateLimiter,
    logger,
    openApi: { prefix: options.prefix },
    ...(options.streamKeepAliveMs === undefined ? {} : { streamKeepAliveMs: options.streamKeepAliveMs }),
  });
  return {
    byokit,
    storage,
    mock,
    logLines,
    async close() {
      await byokit.close();
      await mock.close();
    },
  };
}
