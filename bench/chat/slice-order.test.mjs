import { describe, expect, it } from 'vitest';
import { cyclicOrder, sliceOrder } from './slice-order.mjs';
import { TARGETS } from './targets.mjs';

/** For each target, how many of its slices after the first cycle (the counted ones) come right after each target. */
function predecessors(order, count) {
  const counts = Array.from({ length: count }, () => Array(count).fill(0));
  for (let slice = count; slice < order.length; slice++) counts[order[slice]][order[slice - 1]]++;
  return counts;
}

// The chat benchmark's streamed open loops: 1 + 8 cycles (250 ms slices); 11 cycles too, for a longer round.
const CYCLES = [9, 11];
const ROUNDS = [0, 1, 2];

describe("the open loop's slice order", () => {
  it("gives every target one slice a cycle, so the first cycle holds each one's first (uncounted) slice", () => {
    for (const count of [2, 3, 4, 5, TARGETS.length])
      for (const cycles of CYCLES)
        for (const round of ROUNDS) {
          const order = sliceOrder(count, round, cycles);
          expect(order).toHaveLength(count * cycles);
          for (let cycle = 0; cycle < cycles; cycle++) {
            const targets = order.slice(cycle * count, (cycle + 1) * count).sort((a, b) => a - b);
            expect(targets).toEqual([...Array(count).keys()]);
          }
        }
  });

  // At 20 ms gaps a stream lasts about a slice: a slice runs beside the tail of the streams of the one before. A target
  // always after the same one would always be measured beside that one's streams (byokit beside the floor's, the
  // direct calls beside the fetch handler's), whichever target a round started with.
  it("has each target's counted slices come after every other target's, never after its own", () => {
    const name = (count, target) => (count === TARGETS.length ? TARGETS[target] : `target ${target} of ${count}`);
    for (const count of [TARGETS.length, 3, 4, 5])
      for (const cycles of CYCLES)
        for (const round of ROUNDS)
          predecessors(sliceOrder(count, round, cycles), count).forEach((before, target) =>
            before.forEach((times, other) => {
              const pair = `${name(count, target)} after ${name(count, other)}, round ${round} of ${cycles} cycles`;
              if (other === target) expect(times, pair).toBe(0);
              else expect(times, pair).toBeGreaterThan(0);
            }),
          );
  });

  // 7 slices of 250 ms: 1.75 s, well inside the 3 s byokit's undici keeps an idle connection to the mock (index.mjs).
  it("puts no more than 7 other slices between a target's slices", () => {
    for (const round of ROUNDS) {
      const order = sliceOrder(TARGETS.length, round, 9);
      order.forEach((target, slice) => {
        const next = order.indexOf(target, slice + 1);
        if (next !== -1) expect(next - slice - 1, `${TARGETS[target]} at slice ${slice}, round ${round}`).toBeLessThanOrEqual(7);
      });
    }
  });

  it('starts each round with another target, in either order', () => {
    for (const order of [sliceOrder, cyclicOrder]) expect(ROUNDS.map((round) => order(TARGETS.length, round, 9)[0])).toEqual([0, 1, 2]);
  });
});
