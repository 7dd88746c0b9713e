// The in-memory rate limiter's cost per call, in process: a new user each call while the map of users fills, and
// once it is full (each call forgets the least recently admitted user), against a user it already holds. Full
// used to cost more with every call (a Map's first key found past every entry deleted before it): 95 µs a call at
// 50,000 users, against 1 µs while filling. The goal: a call on a full map costs about what one filling does.
import { memoryRateLimiter } from '@byokit/core';
import { judged, measure, micro, verdict } from './measure.mjs';

const MAX_USERS = 50_000;

/** A limiter on a clock that never moves: no user's window ends, so only `maxUsers` makes room. */
function limiter() {
  return memoryRateLimiter({ requestsPerMinute: 1_000_000, maxUsers: MAX_USERS, now: () => 0 });
}

export async function runRateLimiter() {
  const known = limiter();
  await known.take('alice');
  // Filling: a fresh limiter whenever it is full, so that every measured call adds a user to a map not yet full.
  let filling = limiter();
  let fillingUsers = 0;
  const full = limiter();
  for (let index = 0; index < MAX_USERS; index++) await full.take(`first-${index}`);
  let next = 0;

  const results = await measure([
    ['a user it holds', () => known.take('alice')],
    [
      'a new user, map filling',
      () => {
        if (++fillingUsers === MAX_USERS) ((filling = limiter()), (fillingUsers = 1));
        return filling.take(`user-${fillingUsers}`);
      },
    ],
    ['a new user, map full (one forgotten)', () => full.take(`next-${next++}`)],
  ]);

  const base = results['a new user, map filling'].median;
  console.log('\nRate limiter (memoryRateLimiter, in process; 3 rounds, rotated order)');
  console.table(
    Object.entries(results).map(([name, { median, min, max }]) => ({
      case: name,
      'µs/op (median)': micro(median),
      'min–max': `${micro(min)}–${micro(max)}`,
      '× filling': (median / base).toFixed(2),
    })),
  );
  const ratio = judged(results['a new user, map full (one forgotten)'].median / base, 2, { atMost: true });
  console.log(`goal: a call with the map full ≤ 2× one while it fills → ${ratio.figure}×: ${verdict(ratio.met)}`);
}
