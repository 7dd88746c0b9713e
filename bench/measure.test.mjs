import { describe, expect, it } from 'vitest';
import { median } from './measure.mjs';

describe("the benchmarks' median", () => {
  it('takes the middle value of an odd count, in numeric order', () => {
    expect(median([3, 1, 2])).toBe(2);
    // In string order 100 would sort before 9.
    expect(median([10, 9, 100])).toBe(10);
    expect(median([7])).toBe(7);
  });

  // compare-builds.mjs takes the median of 10 or 16 rounds' differences: the upper of the two middle ones leaned every
  // comparison towards the current build being slower.
  it('takes the mean of the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([-10, 30, -20, 40])).toBe(10);
  });

  it('is not a number for no values, and leaves its input as it was', () => {
    expect(median([])).toBeNaN();
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});
