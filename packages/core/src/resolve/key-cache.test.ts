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
});
