// A small harness: time an async operation for a fixed wall-clock budget, repeat in rotated order, and
// report medians with min–max. Run by bench/run.mjs; machines are shared, so only ratios measured in the
// same run mean anything.

/**
 * Runs `operation` for about `budgetMs` from `concurrency` loops at once; returns nanoseconds of wall
 * time per completed operation (so with concurrency > 1 it measures throughput, not latency).
 */
async function timeOnce(operation, budgetMs, concurrency) {
  for (let warm = 0; warm < 200; warm++) await operation();
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(budgetMs * 1e6);
  const loop = async () => {
    while (process.hrtime.bigint() < deadline) {
      for (let batch = 0; batch < 20; batch++) await operation();
      count += 20;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return Number(process.hrtime.bigint() - started) / count;
}

/**
 * The `fraction` quantile of `values` in numeric order, linear between the two closest ranks (numpy's and R's default):
 * at 0.5 the median, the middle value of an odd count and the mean of the two middle ones of an even count (the upper
 * one alone leans a median of signed differences one way); NaN for none. Every percentile and median the benchmarks
 * work out is this one (wrk's own are wrk's).
 */
export function quantile(values, fraction) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * fraction;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export const median = (values) => quantile(values, 0.5);

/**
 * Measures each case `repetitions` times, rotating the order each round so that no case always runs
 * first (warm-up, GC and frequency effects spread evenly). Returns name → { median, min, max } in ns/op.
 */
export async function measure(cases, { repetitions = 3, budgetMs = 400, concurrency = 1 } = {}) {
  const samples = Object.fromEntries(cases.map(([name]) => [name, []]));
  for (let round = 0; round < repetitions; round++) {
    const order = cases.map((_, index) => cases[(index + round) % cases.length]);
    for (const [name, operation] of order) samples[name].push(await timeOnce(operation, budgetMs, concurrency));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, { median: median(values), min: Math.min(...values), max: Math.max(...values) }]),
  );
}

/** Formats ns/op as µs with two decimals. */
export const micro = (ns) => (ns / 1000).toFixed(2);

/** One table row: the case, its median and spread, operations per second, and its ratio to `floorNs`. */
export function row(name, { median, min, max }, floorNs) {
  return {
    case: name,
    'µs/op (median)': micro(median),
    'min–max': `${micro(min)}–${micro(max)}`,
    'ops/s': Math.round(1e9 / median).toLocaleString('en'),
    '× floor': (median / floorNs).toFixed(2),
  };
}

/**
 * A goal's figure as printed beside its verdict: `atMost` for a goal held from above (≤), else from below (≥). Two
 * decimals, or as many more as it takes for the printed figure to say what the verdict says (1.5049 is "1.505", not
 * "1.50", beside "NOT met" for ≤ 1.5); a figure that is not a number meets no goal.
 */
export function judged(value, goal, { atMost }) {
  const holds = (figure) => (atMost ? figure <= goal : figure >= goal);
  const met = holds(value);
  if (!Number.isFinite(value)) return { figure: 'n/a', met: false };
  let digits = 2;
  while (digits < 10 && holds(Number(value.toFixed(digits))) !== met) digits++;
  return { figure: value.toFixed(digits), met };
}

/** "met" or "NOT met". */
export const verdict = (met) => (met ? 'met' : 'NOT met');
