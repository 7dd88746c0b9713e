import { defineConfig } from 'vitest/config';

// The limit catches a hang, not slowness: these tests start node processes (the hrtime client) and load a server for a
// second or two, beside every other package's tests on 2 shared cores, where a process's start alone may take seconds.
// Under vitest's default of 5 s, a client started 3 s late failed them.
export default defineConfig({ test: { testTimeout: 30_000 } });
