import { defineConfig } from 'tsup';

export default defineConfig({
  // testing/index holds the suites every example server runs; it needs vitest, which only tests load.
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  // Keep `node:` on built-in imports: without it vite resolves 'timers/promises' as a path in dependents' tests.
  removeNodeProtocol: false,
  sourcemap: true,
  external: ['vitest'],
});
