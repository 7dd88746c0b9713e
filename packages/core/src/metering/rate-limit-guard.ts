import { ByokitError } from '../errors.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import type { Logger } from '../logging/logger.js';
import type { RateDecision, RateLimiter } from './rate-limiter.js';

/**
 * Holds chat calls to the host's per-user rate (the `rateLimit` option): one `take` per call, before anything
 * that costs; a refusal is `429 rate_limited` with `Retry-After`. Without a limiter every call passes.
 *
 * A limiter that fails (a shared store down or timing out) lets the call through, and the failure is logged:
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
      decision = await this.limiter.take(userId);
    } catch (error) {
      // No user id in the log line: the request id finds the call, and the error text is cleaned of it.
      this.logger.error({ requestId, error: describe(error, userId) }, 'rate limiter failed: the call was let through');
      return;
    }
    if (decision.allowed) return;
    const seconds = retryAfterSeconds(decision.retryAfterMs);
    throw new ByokitError('rate_limited', `Too many requests: try again in ${seconds} s.`, { retryAfterSeconds: seconds });
  }
}

/** Whole seconds, rounded up, at least 1 (a custom limiter's odd value included): `Retry-After: 0` invites a hot loop. */
function retryAfterSeconds(milliseconds: number): number {
  const seconds = Math.ceil(milliseconds / 1000);
  return Number.isFinite(seconds) && seconds >= 1 ? seconds : 1;
}

function describe(error: unknown, userId: string): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return scrubSecrets(userId === '' ? text : text.replaceAll(userId, '[user]'));
}
