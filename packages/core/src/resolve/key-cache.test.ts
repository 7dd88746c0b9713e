import { describe, expect, it } from 'vitest';
import { KeyCache } from './key-cache.js';

describe('the decrypted-key cache', () => {
  const cached = (cache: KeyCache, slots: string[]) => slots.filter((slot) => cache.get(slot) !== undefined);
  const fill = (cache: KeyCache, slots: string[]) => slots.forEach((slot) => cache.set(slot, null, cache.mark()));

  it('holds at most maxEntries, forgetting the slot cached longest ago first, and a slot cached again counts as new', () => {
    const cache = new KeyCache(60_000, 3, () => 0);
    fill(cache, ['a', 'b', 'c']);
    fill(cache, ['a', 'd']); // a again: b is now the oldest
    expect(cached(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    fill(cache, ['e', 'f']);
    expect(cached(cache, ['a', 'c', 'd', 'e', 'f'])).toEqual(['d', 'e', 'f']);
  });

  it('keeps to its bound after being cleared, and across many more slots than it holds', () => {
    const cache = new KeyCache(60_000, 100, () => 0);
    const slots = Array.from({ length: 1_000 }, (_, index) => `slot-${index}`);
    fill(cache, slots.slice(0, 500));
    cache.clear();
    expect(cached(cache, slots)).toEqual([]);
    fill(cache, slots);
    expect(cached(cache, slots)).toEqual(slots.slice(900));
  });

  it("lets go of users' decrypted keys once their TTL has passed, at the next key it caches, though it is far from full", () => {
    let now = 0;
    const cache = new KeyCache(10_000, 10_000, () => now);
    // A busy spell: a thousand users' keys cached over a second; then a quiet one, a single user calling.
    const slots = Array.from({ length: 1_000 }, (_, index) => `user-${index}`);
    for (const [index, slot] of slots.entries()) {
      now = index;
      fill(cache, [slot]);
    }
    now = 10_500;
    fill(cache, ['quiet-user']);
    // Those cached after 500 ms still run.
    expect(cache.size).toBe(500);
    now = 11_000;
    fill(cache, ['quiet-user']);
    expect(cache.size).toBe(1);
    expect(cached(cache, [...slots, 'quiet-user'])).toEqual(['quiet-user']);
  });

  it('still forgets the oldest slot when full after some expired and others were cached again or deleted', () => {
    let now = 0;
    const cache = new KeyCache(100, 3, () => now);
    fill(cache, ['a', 'b', 'c']);
    now = 50;
    fill(cache, ['a']); // a again: b is now the oldest
    cache.delete('b');
    now = 120; // b and c expired at 100; a runs until 150
    fill(cache, ['d', 'e']);
    expect(cache.size).toBe(3);
    fill(cache, ['f']); // full: a, the oldest, goes
    expect(cached(cache, ['a', 'd', 'e', 'f'])).toEqual(['d', 'e', 'f']);
  });

  it('reads storage again once the clock steps back: an entry is not kept for the length of the step on top of the TTL', () => {
    let now = Date.UTC(2026, 11, 4, 12);
    const cache = new KeyCache(10_000, 100, () => now);
    cache.set('user:1:openai', null, cache.mark());
    expect(cache.get('user:1:openai')).toBe(null);
    // NTP steps the clock back an hour: the entry was read "in the future", and its age can no longer be told.
    now -= 3_600_000;
    expect(cache.get('user:1:openai')).toBeUndefined();
    // Cached again from a read at the new time, it lives its TTL from there.
    cache.set('user:1:openai', null, cache.mark());
    now += 9_999;
    expect(cache.get('user:1:openai')).toBe(null);
    now += 1;
    expect(cache.get('user:1:openai')).toBeUndefined();
  });

  it('does not cache what a read found when the clock stepped back while it ran', () => {
    let now = Date.UTC(2026, 11, 4, 12);
    const cache = new KeyCache(10_000, 100, () => now);
    const read = cache.mark();
    now -= 3_600_000;
    cache.set('user:1:openai', null, read);
    expect(cache.get('user:1:openai')).toBeUndefined();
  });

  it('caches nothing while the clock reads no time (a host clock giving an invalid Date)', () => {
    const cache = new KeyCache(10_000, 100, () => Number.NaN);
    cache.set('user:1:openai', null, cache.mark());
    expect(cache.get('user:1:openai')).toBeUndefined();
  });
});
