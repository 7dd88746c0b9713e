import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The benchmark found that on Node 20 an abort did not reach a fetch made from a `Request` object once that
// object had been garbage-collected (nodejs/node#55428), which ky always passed. Provider calls no longer go
// through fetch, and this keeps it so. Needs `--expose-gc`, hence a child process on the built package.
describe('a client that goes away mid-stream', () => {
  it('aborts the upstream request even after a garbage collection', async () => {
    const script = fileURLToPath(new URL('./abort-after-gc.script.mjs', import.meta.url));
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', script], { timeout: 20_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(JSON.parse(output)).toEqual({ aborted: true });
  }, 30_000);
});
