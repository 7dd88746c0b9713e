import { defineConfig } from 'tsup';

export default defineConfig({
  // mock-providers is its own entry: the example server runs it in production, without vitest.
  entry: {
    index: 'src/index.ts',
    'node/index': 'src/node/index.ts',
    'testing/index': 'src/testing/index.ts',
    'mock-providers/index': 'src/testing/mock-providers.ts',
    'mock-providers/cli': 'src/testing/mock-providers-cli.ts',
  },
  format: ['esm'],
  // What the source marks @internal (Keyring.keyFor: a copy of a master key's bytes) stays out of a host's types.
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  target: 'node20',
  // Keep `node:` on built-in imports: without it vite resolves 'timers/promises' as a path in dependents' tests.
  removeNodeProtocol: false,
  sourcemap: true,
  external: ['vitest'],
});
