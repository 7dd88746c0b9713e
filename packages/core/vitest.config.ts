import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['src/**/*.test.ts', '../../scripts/*.test.ts'], globalSetup: ['../../scripts/test-temporary-folder.ts'] },
});
