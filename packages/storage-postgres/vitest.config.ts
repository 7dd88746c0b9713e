import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../scripts/vitest-defaults.js';

// Database tests share one server and PGlite is slow to start: files run one at a time. The limits catch a hang,
// not slowness: a CLI test starts PGlite in up to three processes (`migrate` creating a database took 5.4 s alone on
// this 2-CPU host, and the migrate test 29 s while turbo ran every package's tests), as the examples' tests do (60 s).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    ...sharedTestOptions,
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
