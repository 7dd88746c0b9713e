import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../scripts/vitest-defaults.js';

// scrypt hashes take a second or more each on 2 busy cores (npm test runs every package at once).
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], ...sharedTestOptions, testTimeout: 30_000 },
});
