import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A streamed answer of the fetch handler whose Response its host lets go of unread and uncancelled, its request's signal
// never aborted (a middleware that answered meanwhile, as Hono's timeout does). Needs `--expose-gc`, hence a child
// process on the built package.
describe('a streamed Response of the fetch handler let go of unread', () => {
  it('is ended once the Response is collected: the provider call aborted, recorded as aborted, and byokit.close() resolves', async () => {
    const script = fileURLToPath(new URL('./response-left-after-gc.script.mjs', import.meta.url));
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', script], { timeout: 30_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      ),
    );
    expect(JSON.parse(output)).toEqual({ status: 200, aborted: true, closed: true, records: ['aborted'] });
  }, 40_000);
});
