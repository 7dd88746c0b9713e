import { ByokitError } from '../errors.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import { loggableError, type Logger } from '../logging/logger.js';
import type { RateDecision, RateLimiter } from './rate-limiter.js';

/**
 * How long a limiter may take to answer before it counts as failed (and the call goes through): a shared store
 * that hangs must not hang every chat call with it. A Redis round trip takes a millisecond or two.
 */
export const RATE_LIMITER_TIMEOUT_MS = 1_000;

/**
 * Holds chat calls and a user's key writes to the host's per-user rate (the `rateLimit` option): one `take` per
 * call, before anything that costs; a refusal is `429 rate_limited` with `Retry-After`. Without a limiter every
 * call passes.
 *
 * A limiter that fails (a shared store down, no answer within {@link RATE_LIMITER_TIMEOUT_MS}, or an answer that
 * is no decision) lets the call through, and the failure is logged:
 * rate limits protect capacity, and refusing every call while the store is away would turn its outage into
 * ours. Budgets protect money, and fail closed instead (BudgetGuard: storage down, no call).
 */
export class RateLimitGuard {
  constructor(
    private readonly limiter: RateLimiter | undefined,
    private readonly logger: Logger,
  ) {}

  /** Counts the call, or throws `rate_limited` saying how long to wait. */
  async admit(userId: string, requestId: string): Promise<void> {
    if (!this.limiter) return;
    let decision: RateDecision;
    try {
      decision = decided(await withinTimeout(this.limiter.take(userId), RATE_LIMITER_TIMEOUT_MS));
    } catch (error) {
      this.logger.error({ requestId, err: loggableError(error, withoutUser(userId)) }, 'rate limiter failed: the call was let through');
      return;
    }
    if (decision.allowed) return;
    const seconds = retryAfterSeconds(decision.retryAfterMs);
    throw new ByokitError('rate_limited', `Too many requests: try again in ${seconds} s.`, { retryAfterSeconds: seconds });
  }
}

/**
 * No user id in the log line: the request id finds the call, and the error text is cleaned of it. The text comes
 * scrubbed of keys already (loggableError), so a user id that looks like one (`sk-developer-account@example.com`)
 * is found in its scrubbed form too.
 */
function withoutUser(userId: string): (text: string) => string {
  if (userId === '') return (text) => text;
  const scrubbed = scrubSecrets(userId);
  return (text) => {
    const cleaned = text.replaceAll(userId, '[user]');
    return scrubbed === userId ? cleaned : cleaned.replaceAll(scrubbed, '[user]');
  };
}

/**
 * The limiter's answer when it is a decision. Anything else (a Redis script's nil, a `take` that forgot to return,
 * `allowed` neither true nor false) is the limiter failing, and fails open like any other failure.
 */
function decided(answer: unknown): RateDecision {
  const allowed = typeof answer === 'object' && answer !== null ? (answer as { allowed?: unknown }).allowed : undefined;
  if (allowed === true || allowed === false) return answer as RateDecision;
  throw new TypeError('the rate limiter answered no decision: neither { allowed: true } nor { allowed: false, retryAfterMs }');
}

/** The promise's outcome, or a rejection once `timeoutMs` has passed without one. */
function withinTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the rate limiter did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

/** The longest wait said: 12 digits, as a provider's (providers/upstream-error.ts, delayNumber). From 10^21 on, String() writes `1e+21`. */
const MAX_RETRY_AFTER_SECONDS = 999_999_999_999;

/**
 * Whole seconds, rounded up, at least 1 (a custom limiter's odd value included): `Retry-After: 0` invites a hot
 * loop. At most {@link MAX_RETRY_AFTER_SECONDS}, so that the header stays digits. A wait given as a bigint or as
 * text (a store's reply not converted) is read as its number; a bigint in arithmetic threw, a 500 for the call.
 */
function retryAfterSeconds(milliseconds: unknown): number {
  const wait =
    typeof milliseconds === 'number' || typeof milliseconds === 'bigint' || typeof milliseconds === 'string'
      ? Number(milliseconds)
      : Number.NaN;
  const seconds = Math.ceil(wait / 1000);
  return Number.isFinite(seconds) && seconds >= 1 ? Math.min(seconds, MAX_RETRY_AFTER_SECONDS) : 1;
}
