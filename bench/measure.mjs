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
 * The median of `values` in numeric order: the middle one of an odd count, the mean of the two middle ones of an even
 * count (the upper one alone leans a median of signed differences one way); NaN for none. Every figure of the
 * benchmarks that is a median over rounds or cases is this one.
 */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

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
