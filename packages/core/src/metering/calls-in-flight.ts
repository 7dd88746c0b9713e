import { ByokitError } from '../errors.js';

/** How many chat calls one user may have running at once on a node, when the host sets no other bound. */
export const DEFAULT_CONCURRENT_CALLS_PER_USER = 64;

/**
 * Bounds the chat calls each user has running at once in this process (`concurrentCallsPerUser`). Each call
 * holds a provider connection, up to 64 decoded events and its budget hold until it ends, and a stream ends only
 * when its client has read it (or is let go, after the longest provider timeout): without a bound, one client
 * opening streams it never reads held as many as it liked. Only users with a call running are kept, so memory
 * follows the calls, not the users.
 */
export class CallsInFlight {
  readonly #running = new Map<string, number>();

  /** `perUser` 0: no bound. */
  constructor(private readonly perUser: number) {}

  /**
   * Counts a call of the user as running, or throws `rate_limited` (429, `Retry-After: 1`: a call of theirs may end
   * at any moment). The function returned ends it; calling it again does nothing.
   */
  begin(userId: string): () => void {
    if (this.perUser === 0) return () => {};
    const running = this.#running.get(userId) ?? 0;
    if (running >= this.perUser)
      throw new ByokitError('rate_limited', `Too many calls at once: ${this.perUser} of yours are running. Try again when one has ended.`, {
        retryAfterSeconds: 1,
      });
    this.#running.set(userId, running + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.#running.get(userId) ?? 1) - 1;
      if (left === 0) this.#running.delete(userId);
      else this.#running.set(userId, left);
    };
  }
}
