import { describe, expect, it } from 'vitest';
import { FAILED_LOGIN_WINDOW_MS, LoginThrottle, MAX_FAILED_LOGINS } from './login-throttle.js';

/** A throttle on a clock the test moves by hand: no test here waits. */
function throttleAt(start = 1_000_000) {
  const clock = { now: start };
  return { clock, throttle: new LoginThrottle({ now: () => clock.now }) };
}

describe('failed logins per account', () => {
  it(`lets ${MAX_FAILED_LOGINS} attempts through, then refuses the next until the window ends, saying how long to wait`, () => {
    const { clock, throttle } = throttleAt();
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) expect(throttle.attempt('a@example.com')).toBe(0);
    expect(throttle.attempt('a@example.com')).toBe(FAILED_LOGIN_WINDOW_MS / 1000);
    clock.now += FAILED_LOGIN_WINDOW_MS - 1500;
    expect(throttle.attempt('a@example.com')).toBe(2);
    clock.now += 1500;
    expect(throttle.attempt('a@example.com')).toBe(0);
  });

  it('after the clock is stepped back (NTP), an account refused waits one window at most, not the step on top', () => {
    const { clock, throttle } = throttleAt();
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) throttle.attempt('a@example.com');
    clock.now -= 60 * 60_000;
    expect(throttle.attempt('a@example.com')).toBe(FAILED_LOGIN_WINDOW_MS / 1000);
    clock.now += FAILED_LOGIN_WINDOW_MS;
    expect(throttle.attempt('a@example.com')).toBe(0);
  });

  // The window is the first failure's: failures spread out over more than a window never add up to a refusal.
  it('counts the window from the first failed login, not the latest: failures begun a window ago are forgotten', () => {
    const { clock, throttle } = throttleAt();
    throttle.attempt('a@example.com');
    clock.now += FAILED_LOGIN_WINDOW_MS - 60_000;
    for (let attempt = 1; attempt < MAX_FAILED_LOGINS; attempt++) throttle.attempt('a@example.com');
    clock.now += 60_000;
    expect(throttle.attempt('a@example.com')).toBe(0);
  });

  it('counts attempts as they begin, so that attempts made at once are held to the limit too', () => {
    const { throttle } = throttleAt();
    const waits = Array.from({ length: 50 }, () => throttle.attempt('a@example.com'));
    expect(waits.filter((wait) => wait === 0)).toHaveLength(MAX_FAILED_LOGINS);
  });

  it('forgets the count of an account once it logs in', () => {
    const { throttle } = throttleAt();
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) throttle.attempt('a@example.com');
    throttle.succeeded('a@example.com');
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) expect(throttle.attempt('a@example.com')).toBe(0);
  });

  it('counts an email as login looks it up (case and spaces aside), and each account apart', () => {
    const { throttle } = throttleAt();
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) throttle.attempt(attempt % 2 ? 'A@Example.com ' : 'a@example.com');
    expect(throttle.attempt(' a@EXAMPLE.com')).toBeGreaterThan(0);
    expect(throttle.attempt('b@example.com')).toBe(0);
  });

  it('tracks at most maxAccounts at once, forgetting the one least recently tried: an account still guessed at stays refused', () => {
    const small = new LoginThrottle({ now: () => 0, maxAccounts: 2 });
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) small.attempt('a@example.com');
    small.attempt('b@example.com');
    expect(small.attempt('a@example.com')).toBeGreaterThan(0);
    small.attempt('c@example.com');
    expect(small.tracked).toBe(2);
    expect(small.attempt('a@example.com')).toBeGreaterThan(0);
    small.attempt('d@example.com');
    small.attempt('e@example.com');
    expect(small.attempt('a@example.com')).toBe(0);
  });
});
