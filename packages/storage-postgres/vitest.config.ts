import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../scripts/vitest-defaults.js';

// Database tests share one server and PGlite is slow to start: files run one at a time. The limits catch a hang,
// not slowness: a CLI test starts PGlite in up to three processes (`migrate` creating a database took 5.4 s alone on
// this 2-CPU host, the migrate test 29 s while turbo ran every package's tests, and 60 s, failing the old limit,
// with another clone's suites running beside them: each `migrate` then had a fifth of a CPU).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    ...sharedTestOptions,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
