import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../scripts/vitest-defaults.js';

// The limit catches a hang, not slowness: npm test runs every package's tests at once on 2 shared cores, where tests
// that move tens of megabytes (a million messages, a 32 MiB answer, a stream nobody reads) took over vitest's default
// 5 s and failed, though none is about time.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', '../../scripts/*.test.ts'],
    ...sharedTestOptions,
    testTimeout: 30_000,
  },
});
