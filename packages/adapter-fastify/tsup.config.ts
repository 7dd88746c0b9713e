import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  // Keep `node:` on built-in imports: without it vite resolves 'timers/promises' as a path in dependents' tests.
  removeNodeProtocol: false,
  sourcemap: true,
});
