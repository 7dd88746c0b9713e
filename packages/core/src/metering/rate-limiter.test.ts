import { describe, expect, it } from 'vitest';
import { memoryRateLimiter, type MemoryRateLimiterOptions } from './rate-limiter.js';

/** A limiter on a clock the test moves by hand. */
function limiterAt(options: Omit<MemoryRateLimiterOptions, 'now'>, start = 1_000_000) {
  const clock = { ms: start };
  const limiter = memoryRateLimiter({ ...options, now: () => clock.ms });
  const takeMany = async (userId: string, count: number) => {
    const decisions = [];
    for (let index = 0; index < count; index++) decisions.push(await limiter.take(userId));
    return decisions;
  };
  return { limiter, clock, takeMany };
}

describe('memoryRateLimiter (GCRA)', () => {
  it('lets a minute’s worth through at once by default, then refuses with the exact wait for the next one', async () => {
    const { limiter, takeMany } = limiterAt({ requestsPerMinute: 6 });
    expect((await takeMany('alice', 6)).every((decision) => decision.allowed)).toBe(true);
    // One request per 10 s: the burst used up, the next is due one interval from now.
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 10_000 });
  });

  it.each([0, 1_000_000, Date.UTC(2026, 10, 25, 12)])(
    'lets exactly a burst through at once for every rate up to 600 a minute, clock at %d ms',
    async (start) => {
      // 60,000 / requestsPerMinute ms is seldom a whole number: the burst's last request must not be lost to rounding.
      const wrong: string[] = [];
      for (let requestsPerMinute = 1; requestsPerMinute <= 600; requestsPerMinute++) {
        const { limiter, clock } = limiterAt({ requestsPerMinute }, start);
        const decisions = await Promise.all(Array.from({ length: requestsPerMinute + 5 }, () => limiter.take('alice')));
        const allowed = decisions.filter((decision) => decision.allowed).length;
        if (allowed !== requestsPerMinute) wrong.push(`${requestsPerMinute} a minute: ${allowed} let through`);
        // The refused are told the exact wait for the next one: one interval, rounded up to a millisecond.
        const interval = Math.ceil(60_000 / requestsPerMinute);
        if (!decisions.slice(requestsPerMinute).every((decision) => !decision.allowed && decision.retryAfterMs === interval)) {
          wrong.push(`${requestsPerMinute} a minute: waits ${JSON.stringify(decisions.slice(requestsPerMinute, requestsPerMinute + 1))}`);
        }
        clock.ms += interval;
        if (!(await limiter.take('alice')).allowed) wrong.push(`${requestsPerMinute} a minute: refused after the wait it gave`);
      }
      expect(wrong).toEqual([]);
    },
  );

  it.each([1_000_000_000, 1_000_000_000_000, Number.MAX_SAFE_INTEGER])(
    'holds a burst exact at %d a minute, the largest rates accepted, after a year of running',
    async (requestsPerMinute) => {
      // Steps of 1/requestsPerMinute ms counted from the first call outgrew 2^53 within a year at 10^9 a minute (a
      // burst of 3 let 2 through), within a second at the largest rate; later an interval added nothing, no limit.
      const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute, burst: 3 }, Date.UTC(2026, 10, 25, 12));
      await limiter.take('first');
      const wrong: string[] = [];
      for (const days of [1, 30, 365]) {
        clock.ms += days * 86_400_000;
        const decisions = await takeMany(`user-${days}`, 5);
        const expected = [true, true, true, false, false].map((allowed) => (allowed ? { allowed } : { allowed, retryAfterMs: 1 }));
        if (JSON.stringify(decisions) !== JSON.stringify(expected)) wrong.push(`after ${days} days: ${JSON.stringify(decisions)}`);
      }
      expect(wrong).toEqual([]);
    },
  );

  it('counts a clock in fractions of a millisecond (performance.now) as exactly as a whole one', async () => {
    // 1,234.567 + 60,000 − 60,000 is 1,234.5670000000027 in floating point: a new user's first call was refused.
    const wrong: string[] = [];
    for (let requestsPerMinute = 1; requestsPerMinute <= 600; requestsPerMinute++) {
      const { limiter, clock } = limiterAt({ requestsPerMinute }, 0.25);
      await limiter.take('bob');
      clock.ms = 1_234.567;
      const decisions = await Promise.all(Array.from({ length: requestsPerMinute + 1 }, () => limiter.take('alice')));
      const allowed = decisions.filter((decision) => decision.allowed).length;
      if (allowed !== requestsPerMinute) wrong.push(`${requestsPerMinute} a minute: ${allowed} let through`);
      const refused = decisions[requestsPerMinute]!;
      clock.ms += refused.allowed ? 0 : refused.retryAfterMs;
      if (!(await limiter.take('alice')).allowed) wrong.push(`${requestsPerMinute} a minute: refused after the wait it gave`);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps limiting after a clock that once read NaN (an invalid Date)', async () => {
    const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute: 2 });
    const start = clock.ms;
    clock.ms = Number.NaN;
    await limiter.take('bob');
    clock.ms = start;
    expect((await takeMany('alice', 3)).map((decision) => decision.allowed)).toEqual([true, true, false]);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'a clock that once reads %s (a broken host clock) lets that call through and forgets no one, nor holds anyone for ever',
    async (reading) => {
      const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute: 2 });
      await takeMany('alice', 2); // her burst used up: due again in 30 s
      const start = clock.ms;
      clock.ms = reading;
      expect(await limiter.take('bob')).toEqual({ allowed: true });
      clock.ms = start;
      // Still held to the rate: the reading did not sweep her away as refilled.
      expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 30_000 });
      // And bob, let through on that reading, is held to the rate from a real time, not refused for ever.
      expect((await takeMany('bob', 3)).map((decision) => decision.allowed)).toEqual([true, true, false]);
    },
  );

  it('lets the next one through exactly when the wait it gave is over, and not a millisecond before', async () => {
    const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute: 2 });
    await takeMany('alice', 2);
    clock.ms += 10_000;
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 20_000 });
    clock.ms += 19_999;
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 1 });
    clock.ms += 1;
    expect(await limiter.take('alice')).toEqual({ allowed: true });
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 30_000 });
  });

  it('a refused request counts nothing: waiting out the first answer is enough however often one asked', async () => {
    const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute: 60, burst: 1 });
    await takeMany('alice', 1);
    const refusals = await takeMany('alice', 50);
    expect(refusals.every((decision) => !decision.allowed && decision.retryAfterMs === 1_000)).toBe(true);
    clock.ms += 1_000;
    expect(await limiter.take('alice')).toEqual({ allowed: true });
  });

  it('refills one request per interval, up to the burst and no further', async () => {
    const { clock, takeMany } = limiterAt({ requestsPerMinute: 60, burst: 3 });
    await takeMany('alice', 3);
    clock.ms += 2_000; // two intervals: two requests back
    expect((await takeMany('alice', 3)).map((decision) => decision.allowed)).toEqual([true, true, false]);
    clock.ms += 3_600_000; // an hour quiet: still only the burst
    expect((await takeMany('alice', 4)).map((decision) => decision.allowed)).toEqual([true, true, true, false]);
  });

  it('holds a caller who always retries when told to exactly to the rate, over a long run', async () => {
    const { limiter, clock } = limiterAt({ requestsPerMinute: 7, burst: 1 });
    const start = clock.ms;
    let allowed = 0;
    while (clock.ms < start + 600_000) {
      const decision = await limiter.take('alice');
      if (decision.allowed) allowed++;
      else clock.ms += decision.retryAfterMs;
    }
    expect(allowed).toBe(70); // ten minutes at 7 a minute, although 60,000 / 7 ms is no whole number
  });

  it('keeps users apart: one using up their burst leaves another untouched', async () => {
    const { limiter, takeMany } = limiterAt({ requestsPerMinute: 2 });
    await takeMany('alice', 2);
    expect((await limiter.take('alice')).allowed).toBe(false);
    expect((await takeMany('bob', 2)).every((decision) => decision.allowed)).toBe(true);
    expect((await limiter.take('bob')).allowed).toBe(false);
  });

  it('never tracks more than maxUsers: when full it forgets the least recently admitted user', async () => {
    const { limiter, takeMany } = limiterAt({ requestsPerMinute: 1, maxUsers: 3 });
    for (const user of ['a', 'b', 'c']) await takeMany(user, 1);
    await takeMany('a', 1); // refused: counts nothing, so a stays the least recently admitted
    await takeMany('d', 1); // full: a is forgotten
    expect((await limiter.take('c')).allowed).toBe(false);
    expect((await limiter.take('d')).allowed).toBe(false);
    expect(await limiter.take('a')).toEqual({ allowed: true });
    // Admitting a again made room by forgetting b, the least recently admitted by then.
    expect(await limiter.take('b')).toEqual({ allowed: true });
  });

  it('forgets the least recently admitted users once more users come within a minute than maxUsers', async () => {
    // Its cost per call with the map full is measured in npm run bench (bench/rate-limiter.mjs), not here.
    const { limiter } = limiterAt({ requestsPerMinute: 1, maxUsers: 1_000 });
    for (let index = 0; index < 3_000; index++) expect(await limiter.take(`user-${index}`)).toEqual({ allowed: true });
    // The last 1,000 are still held to the rate; those before them were forgotten and start afresh.
    expect((await limiter.take('user-2999')).allowed).toBe(false);
    expect((await limiter.take('user-2000')).allowed).toBe(false);
    expect((await limiter.take('user-1999')).allowed).toBe(true);
    expect((await limiter.take('user-0')).allowed).toBe(true);
  });

  it('tracks 100,000 users by default: the 100,001st admitted within the minute forgets the first', async () => {
    const { limiter } = limiterAt({ requestsPerMinute: 1 });
    for (let index = 0; index <= 100_000; index++) await limiter.take(`user-${index}`);
    expect([(await limiter.take('user-1')).allowed, (await limiter.take('user-0')).allowed]).toEqual([false, true]);
  });

  it('sweeping out refilled users never forgets one still held to the rate', async () => {
    const { limiter, clock } = limiterAt({ requestsPerMinute: 60, burst: 1 });
    await limiter.take('a'); // due again in 1 s
    clock.ms += 900;
    await limiter.take('b'); // due again 1 s after a's admission + 900 ms
    clock.ms += 100; // a has refilled and is swept; b, behind it, has not
    expect(await limiter.take('c')).toEqual({ allowed: true });
    expect(await limiter.take('b')).toEqual({ allowed: false, retryAfterMs: 900 });
    expect(await limiter.take('a')).toEqual({ allowed: true });
  });

  it('treats a clock that went back as now: no request is owed for time that never passed', async () => {
    const { limiter, clock } = limiterAt({ requestsPerMinute: 60, burst: 1 });
    await limiter.take('alice');
    clock.ms -= 5_000;
    // Refused as right after her burst: one interval, not the 5 s step on top of it.
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 1_000 });
  });

  it('a clock stepped back an hour (NTP) makes a user who just used their burst wait one interval, not the hour', async () => {
    const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute: 60 }, Date.UTC(2026, 11, 4, 12));
    expect((await takeMany('alice', 60)).every((decision) => decision.allowed)).toBe(true);
    clock.ms -= 3_600_000;
    // Before, every user who had called within the minute was refused for the hour, with Retry-After: 3601.
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 1_000 });
    clock.ms += 1_000;
    expect(await limiter.take('alice')).toEqual({ allowed: true });
    // Held to the rate from there, as after any burst: nothing more is let through for the step.
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 1_000 });
    clock.ms += 60_000;
    expect((await takeMany('alice', 61)).filter((decision) => decision.allowed)).toHaveLength(60);
  });

  it('after the clock stepped back, a rate whose interval is no whole number of ms still waits exactly one interval', async () => {
    const { limiter, clock, takeMany } = limiterAt({ requestsPerMinute: 7, burst: 3 }, Date.UTC(2026, 11, 4, 12));
    expect((await takeMany('alice', 3)).every((decision) => decision.allowed)).toBe(true);
    clock.ms -= 3_600_000;
    // 60,000 / 7 = 8,571.43 ms, rounded up.
    expect(await limiter.take('alice')).toEqual({ allowed: false, retryAfterMs: 8_572 });
    clock.ms += 8_572;
    expect(await limiter.take('alice')).toEqual({ allowed: true });
  });

  it.each([
    [{ requestsPerMinute: 0 }, 'memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got 0'],
    [{ requestsPerMinute: -5 }, 'memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got -5'],
    [{ requestsPerMinute: 1.5 }, 'memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got 1.5'],
    [{ requestsPerMinute: Number.NaN }, 'memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got NaN'],
    [
      { requestsPerMinute: '10' as unknown as number },
      'memoryRateLimiter: requestsPerMinute must be a whole number from 1 up, got a string',
    ],
    [{ requestsPerMinute: 10, burst: 0 }, 'memoryRateLimiter: burst must be a whole number from 1 up, got 0'],
    [{ requestsPerMinute: 10, maxUsers: Infinity }, 'memoryRateLimiter: maxUsers must be a whole number from 1 up, got Infinity'],
    [
      { requestsPerMinute: 10, now: 5 as unknown as () => number },
      'memoryRateLimiter: now must be a function returning milliseconds, got number',
    ],
  ])('refuses %o at construction with a clear TypeError', (options, message) => {
    expect(() => memoryRateLimiter(options)).toThrow(new TypeError(message));
  });
});
