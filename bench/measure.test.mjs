import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { judged, median, quantile } from './measure.mjs';

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

describe("the benchmarks' percentiles", () => {
  const hundred = Array.from({ length: 100 }, (_, index) => 100 - index);

  // The hrtime client's p50 of an even count was its upper middle value, unlike the median of the rounds; and its p99
  // of 100 values the largest, a p100.
  it('put a p50 where the median is, and a p99 of 100 values below the largest', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(median([4, 1, 3, 2]));
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile(hundred, 0.99)).toBeLessThan(100);
    expect(quantile(hundred, 0.99)).toBeCloseTo(99.01, 9);
    expect(quantile(hundred, 0.9)).toBeCloseTo(90.1, 9);
  });

  it('take the smallest and the largest at 0 and 1, the one value of one, and nothing of none', () => {
    expect(quantile(hundred, 0)).toBe(1);
    expect(quantile(hundred, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe("a goal's printed figure and verdict", () => {
  // 1.5049× against a goal of ≤ 1.5× printed "1.50" beside "NOT met"; 0.3496× against ≥ 0.35× printed "0.35".
  it('prints as many more decimals as it takes for the figure to say what the verdict says', () => {
    expect(judged(1.5049, 1.5, { atMost: true })).toEqual({ figure: '1.505', met: false });
    expect(judged(0.3496, 0.35, { atMost: false })).toEqual({ figure: '0.3496', met: false });
    expect(judged(5.004, 5, { atMost: true })).toEqual({ figure: '5.004', met: false });
  });

  it('prints two decimals where they already say it, on either side of the goal', () => {
    expect(judged(1.5, 1.5, { atMost: true })).toEqual({ figure: '1.50', met: true });
    expect(judged(1.53, 1.5, { atMost: true })).toEqual({ figure: '1.53', met: false });
    expect(judged(1.4951, 1.5, { atMost: true })).toEqual({ figure: '1.50', met: true });
    expect(judged(0.45, 0.35, { atMost: false })).toEqual({ figure: '0.45', met: true });
  });

  it('meets no goal with a figure that is not a number', () => {
    expect(judged(Number.NaN, 1.5, { atMost: true })).toEqual({ figure: 'n/a', met: false });
    expect(judged(Number.NaN, 0.35, { atMost: false })).toEqual({ figure: 'n/a', met: false });
  });
});

describe("the benchmarks' modules", () => {
  // Each phase of npm run bench imports what it needs from measure.mjs and the chat modules: one that lost an export
  // fails here, not minutes into a run. Imported by Node itself, whose linking refuses a missing export (vitest's
  // transform would let it through as undefined).
  it.each(['./key-path.mjs', './rate-limiter.mjs', './storage-postgres.mjs', './metering.mjs', './chat/index.mjs'])(
    '%s loads',
    async (path) => {
      const url = new URL(path, import.meta.url).href;
      await expect(
        promisify(execFile)(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`]),
      ).resolves.toBeDefined();
    },
  );
});
