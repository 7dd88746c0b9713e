// A small harness: time an async operation for a fixed wall-clock budget, repeat in rotated order, and
// report medians with min–max. Run by bench/run.mjs; machines are shared, so only ratios measured in the
// same run mean anything.

/** Runs `operation` repeatedly for about `budgetMs`; returns nanoseconds per operation. */
async function timeOnce(operation, budgetMs) {
  for (let warm = 0; warm < 200; warm++) await operation();
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(budgetMs * 1e6);
  let now = started;
  while (now < deadline) {
    for (let batch = 0; batch < 100; batch++) await operation();
    count += 100;
    now = process.hrtime.bigint();
  }
  return Number(now - started) / count;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Measures each case `repetitions` times, rotating the order each round so that no case always runs
 * first (warm-up, GC and frequency effects spread evenly). Returns name → { median, min, max } in ns/op.
 */
export async function measure(cases, { repetitions = 3, budgetMs = 400 } = {}) {
  const samples = Object.fromEntries(cases.map(([name]) => [name, []]));
  for (let round = 0; round < repetitions; round++) {
    const order = cases.map((_, index) => cases[(index + round) % cases.length]);
    for (const [name, operation] of order) samples[name].push(await timeOnce(operation, budgetMs));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, { median: median(values), min: Math.min(...values), max: Math.max(...values) }]),
  );
}

/** Formats ns/op as µs with two decimals. */
export const micro = (ns) => (ns / 1000).toFixed(2);
