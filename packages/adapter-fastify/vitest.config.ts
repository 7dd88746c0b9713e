import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../scripts/vitest-defaults.js';

export default defineConfig({ test: { include: ['src/**/*.test.ts'], ...sharedTestOptions } });
