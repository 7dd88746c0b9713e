import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A stream read in code whose iterator is let go of before its end, without `break`, `return()` or a signal (a
// host's own loop that stopped calling next()). Needs `--expose-gc`, hence a child process on the built package.
describe('a stream in code whose iterator is let go of unfinished', () => {
  it('is ended once the iterator is collected: the provider call aborted, recorded as aborted, and byokit.close() resolves', async () => {
    const script = fileURLToPath(new URL('./stream-left-after-gc.script.mjs', import.meta.url));
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', script], { timeout: 30_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(JSON.parse(output)).toEqual({ aborted: true, closed: true, records: ['aborted'] });
  }, 40_000);
});
