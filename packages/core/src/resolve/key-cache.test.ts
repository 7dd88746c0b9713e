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
});
