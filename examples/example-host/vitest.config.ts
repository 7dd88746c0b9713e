import { defineConfig } from 'vitest/config';

// scrypt hashes take a second or more each on 2 busy cores (npm test runs every package at once).
export default defineConfig({
  test: { include: ['src/**/*.test.ts'], globalSetup: ['../../scripts/test-temporary-folder.ts'], testTimeout: 30_000 },
});
