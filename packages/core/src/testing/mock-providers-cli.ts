#!/usr/bin/env node
/**
 * Runs the provider mock on its own, for the example server's offline mode and the benchmark; installed as the
 * package's `byokit-mock-providers` command:
 *
 *   byokit-mock-providers [--port N] [--gap-ms N] [--repeat-chunks N]
 *
 * Prints one JSON line with the base URLs (`{"anthropic":…,"openai":…,"google":…}`), then serves until SIGINT or
 * SIGTERM. Anything else it says goes to stderr, so stdout stays that one line.
 */
import { parseArgs } from 'node:util';
import { startMockProviders } from './mock-providers.js';

const USAGE = 'usage: byokit-mock-providers [--port N] [--gap-ms N] [--repeat-chunks N]';

function integer(name: string, text: string | undefined, minimum: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer ≥ ${minimum}, got ${text}`);
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'gap-ms': { type: 'string' }, 'repeat-chunks': { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mock = await startMockProviders({
    port: integer('port', values.port, 0),
    chunkGapMs: integer('gap-ms', values['gap-ms'], 0),
    repeatChunks: integer('repeat-chunks', values['repeat-chunks'], 1),
    // It serves until stopped (the benchmark, the example's offline mode): no one reads what it received.
    maxRequestsKept: 1,
  });
  process.stdout.write(`${JSON.stringify(mock.baseUrls)}\n`);
  const stop = () => {
    mock.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(2);
});
