import { defineConfig } from 'vitest/config';

// Database tests share one server and PGlite is slow to start: files run one at a time.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], fileParallelism: false, testTimeout: 30_000, hookTimeout: 60_000 } });
