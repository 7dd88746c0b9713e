import { wholeNumberOption } from '../host-option-checks.js';

/** What a {@link RateLimiter} decided about one request: let it through, or refuse it and say when to retry. */
export type RateDecision =
  | {
      /** The request is let through (and counted). */
      allowed: true;
    }
  | {
      /** The request is refused (and not counted). */
      allowed: false;
      /**
       * How long to wait before the next request would be allowed, in milliseconds. Sent as `Retry-After` in whole
       * seconds, rounded up, at least 1.
       */
      retryAfterMs: number;
    };

/**
 * Counts a user's chat calls against a per-user rate (spec/architecture.md, "Scale-out"). byokit calls
 * `take` once per chat call, before anything that costs; a refusal becomes `429 rate_limited` with
 * `Retry-After`. A rejected promise, or none settled within a second, lets the call through (rate limits
 * protect capacity, not money) and is logged.
 *
 * {@link memoryRateLimiter} keeps the counts in one process. Hosts running many nodes can share them with an
 * implementation on a shared store: for Redis, the same GCRA as `memoryRateLimiter` in one Lua script run with
 * `EVAL` (read the user's theoretical arrival time, compare, write it back with `PEXPIRE` of a burst's worth
 * of intervals, all atomic on the server), or one `CL.THROTTLE` command of the redis-cell module. One round
 * trip per call, and no lock held across the network.
 */
export interface RateLimiter {
  /** Counts one request of `userId` if the rate allows it; otherwise counts nothing and says how long to wait. */
  take(userId: string): Promise<RateDecision>;
}

/** Options of {@link memoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  /** The sustained rate each user may call at. A positive integer. */
  requestsPerMinute: number;
  /** How many requests may come at once after a quiet spell. Default `requestsPerMinute`: a minute's worth. */
  burst?: number | undefined;
  /** The clock in milliseconds, for tests. Default `Date.now`. Fractions (`performance.now`) are dropped. */
  now?: (() => number) | undefined;
  /** The most users tracked at once; when full, the one least recently let through is forgotten. Default 100,000. */
  maxUsers?: number | undefined;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/** A user {@link memoryRateLimiter} holds to the rate, linked in order of last admission. */
interface Arrival {
  readonly userId: string;
  /** Theoretical arrival time: whole milliseconds, … */
  tatMs: number;
  /** … and steps of 1/`requestsPerMinute` ms after them, from 0 to `requestsPerMinute - 1`. */
  tatSteps: number;
  older: Arrival | undefined;
  newer: Arrival | undefined;
}

/**
 * A per-user rate limit held in this process's memory, with the generic cell rate algorithm (GCRA, ITU-T
 * I.371 "virtual scheduling"; the token bucket's equal, with one number per user instead of two). Each user has
 * a theoretical arrival time (TAT): when their next request would be due if they called exactly at the rate.
 * A request at `now` is allowed when `max(TAT, now) + interval - burst × interval <= now`, and then moves the
 * TAT on by one interval; otherwise it is refused, counting nothing, with the exact wait until that holds.
 *
 * The arithmetic is exact: time is read in whole milliseconds, and a TAT is whole milliseconds plus steps of
 * 1/`requestsPerMinute` ms, so an interval is 60,000 steps whatever the rate. In milliseconds an interval is
 * seldom a whole number (60,000 / 7), and a TAT made of added intervals drifted from `burst × interval` by a
 * rounding error, which refused the last request of a burst at once (7 a minute let 6 through, the 7th told to
 * retry in 1 ms); a clock's fractions did the same to a new user's first call. Each part stays below 2^53 at every
 * rate accepted: counted in steps alone from the first call, time passed 2^53 steps within a year at 10^9 a
 * minute (a burst of 3 let 2 through), and later an interval added nothing at all.
 *
 * Memory stays bounded. A user whose TAT has passed is the same as a user never seen, so the entry can go.
 * The entries are kept in order of last admission and swept from the oldest up to the first still running;
 * since an admission never sets a TAT more than `burst × interval` ahead, every entry is gone at the latest
 * that long after its user's last admission (everything before it in the map has expired by then too). So the
 * map holds the users admitted within the last minute (by default), and never more than `maxUsers`: when full,
 * the least recently admitted user is forgotten, which can only let that user through sooner, never refuse
 * anyone wrongly.
 *
 * @throws TypeError at construction when an option is not a whole number from 1 up.
 */
export function memoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const requestsPerMinute = wholeNumberOption('memoryRateLimiter: requestsPerMinute', options.requestsPerMinute, 1);
  const burst = wholeNumberOption('memoryRateLimiter: burst', options.burst ?? requestsPerMinute, 1);
  const maxUsers = wholeNumberOption('memoryRateLimiter: maxUsers', options.maxUsers ?? 100_000, 1);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError(`memoryRateLimiter: now must be a function returning milliseconds, got ${typeof options.now}`);
  }
  const now = options.now ?? Date.now;
  const rate = requestsPerMinute;
  // An interval, 60,000 steps, as whole milliseconds and the steps left over (both exact: 60,000 is small).
  const intervalMs = Math.floor(60_000 / rate);
  const intervalSteps = 60_000 - intervalMs * rate;
  // The tolerance, burst × 60,000 steps, likewise; the product may pass 2^53, so it is divided as a BigInt. Past
  // 2^53 ms (285,000 years) it is as good as endless, and held there so that it stays exact to subtract.
  const toleranceTotal = BigInt(burst) * 60_000n;
  const toleranceExact = toleranceTotal / BigInt(rate);
  const toleranceMs = toleranceExact > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(toleranceExact);
  const toleranceSteps = toleranceMs === Number.MAX_SAFE_INTEGER ? 0 : Number(toleranceTotal % BigInt(rate));
  /** User id → their theoretical arrival time. */
  const arrivals = new Map<string, Arrival>();
  /**
   * The same entries in order of last admission, linked, from `oldest` to `newest`. Not the Map's own order: its
   * first key is found by walking past every entry deleted before it (V8 keeps them until it rehashes), so with
   * the map full each call cost more than the last, 0.2 ms a call at 100,000 users.
   */
  let oldest: Arrival | undefined;
  let newest: Arrival | undefined;

  const unlink = (arrival: Arrival) => {
    if (arrival.older) arrival.older.newer = arrival.newer;
    else oldest = arrival.newer;
    if (arrival.newer) arrival.newer.older = arrival.older;
    else newest = arrival.older;
    arrival.older = arrival.newer = undefined;
  };
  const append = (arrival: Arrival) => {
    arrival.older = newest;
    if (newest) newest.newer = arrival;
    else oldest = arrival;
    newest = arrival;
  };
  const forget = (arrival: Arrival) => {
    unlink(arrival);
    arrivals.delete(arrival.userId);
  };
  /** Whether the arrival is still running at `ms`: its TAT is later. */
  const runsAt = (arrival: Arrival, ms: number) => arrival.tatMs > ms || (arrival.tatMs === ms && arrival.tatSteps > 0);
  const sweep = (ms: number) => {
    while (oldest !== undefined && !runsAt(oldest, ms)) forget(oldest);
  };

  return {
    // Synchronous inside: one process's takes cannot interleave, so the read-compare-write is atomic.
    async take(userId) {
      // Whole milliseconds: with a clock's fractions, an interval added and taken off again is not the same number.
      const ms = Math.floor(now());
      // A reading that is no time (an invalid Date's NaN, an infinity) lets the call through and changes nothing:
      // as the sweep's time, NaN forgot every user at once, and a user admitted at +Infinity was refused for ever.
      if (!Number.isFinite(ms)) return ALLOWED;
      sweep(ms);
      const arrival = arrivals.get(userId);
      // max(TAT, now) + interval, carrying whole milliseconds out of the steps.
      const running = arrival !== undefined && runsAt(arrival, ms);
      let tatMs = running ? arrival.tatMs : ms;
      let tatSteps = running ? arrival.tatSteps : 0;
      // An admission sets a TAT at most the tolerance ahead of its time, so one further ahead of now is a clock that
      // stepped back (NTP) since: brought back to the furthest it could be, the state right after a whole burst, and
      // kept so (a refusal counts nothing, but the wait it gives must hold). Left as it was, it refused every user
      // admitted within the tolerance for the length of the step (an hour's step: Retry-After 3601).
      if (running && (tatMs > ms + toleranceMs || (tatMs === ms + toleranceMs && tatSteps > toleranceSteps))) {
        tatMs = arrival.tatMs = ms + toleranceMs;
        tatSteps = arrival.tatSteps = toleranceSteps;
      }
      const carry = tatSteps >= rate - intervalSteps;
      const nextMs = tatMs + intervalMs + (carry ? 1 : 0);
      const nextSteps = carry ? tatSteps - (rate - intervalSteps) : tatSteps + intervalSteps;
      // Allowed from next − tolerance on, borrowing a millisecond when the steps run short.
      const borrow = nextSteps < toleranceSteps;
      const allowedMs = nextMs - toleranceMs - (borrow ? 1 : 0);
      const allowedSteps = borrow ? nextSteps + (rate - toleranceSteps) : nextSteps - toleranceSteps;
      if (ms < allowedMs || (ms === allowedMs && allowedSteps > 0)) {
        // The exact wait, rounded up to a whole millisecond: at least 1.
        return { allowed: false, retryAfterMs: allowedMs - ms + (allowedSteps > 0 ? 1 : 0) };
      }
      if (arrival) {
        unlink(arrival);
        arrival.tatMs = nextMs;
        arrival.tatSteps = nextSteps;
        append(arrival);
        return ALLOWED;
      }
      if (arrivals.size >= maxUsers && oldest) forget(oldest);
      const admitted: Arrival = { userId, tatMs: nextMs, tatSteps: nextSteps, older: undefined, newer: undefined };
      arrivals.set(userId, admitted);
      append(admitted);
      return ALLOWED;
    },
  };
}
