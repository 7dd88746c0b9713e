import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { server: 'src/server.ts', app: 'src/app.ts' },
  format: ['esm'],
  dts: false,
  clean: true,
  target: 'node20',
  // Keep `node:` on built-in imports: without it vite resolves 'timers/promises' as a path in dependents' tests.
  removeNodeProtocol: false,
  sourcemap: true,
});
