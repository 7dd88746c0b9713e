import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../scripts/vitest-defaults.js';

// Each suite starts whole servers on embedded PostgreSQL (PGlite takes 1 to 5 s to start), and CI runs
// both examples' suites beside the others on 2 cores: generous limits, so that only a real hang fails.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    ...sharedTestOptions,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
