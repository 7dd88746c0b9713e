import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT } from './load.mjs';

// A target that answers, one that never does (a server that hangs on some requests), and a stream that ends without
// the text it was asked for.
let server;
let origin;
beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    if (request.url === '/answers') request.on('end', () => response.end('Hello'));
    // A stream that starts well and ends without a word of the answer, as one that fails after its head would.
    if (request.url === '/streams-no-text') request.on('end', () => response.end('data: {"error":"upstream gone"}\n\n'));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/**
 * The open loop over `paths` in turn, 100 requests/s in slices of 10 for 0.4 s: 20 to each. What has no answer 10 s
 * after the loop began counts as failed: a loaded machine's slow answer is not taken for none (with 2 s, an answer
 * held 2.5 s was); the requests never answered wait that out.
 */
async function openLoop(paths, target = {}) {
  const alternate = paths.map((path) => ({ url: `${origin}${path}`, headers: { 'content-type': 'text/plain' }, body: 'Hi', ...target }));
  const spec = { mode: 'open-loop', rate: 100, sliceMs: 100, durationMs: 400, graceMs: 10_000, alternate };
  const { stdout } = await promisify(execFile)(process.execPath, [CLIENT, JSON.stringify(spec)]);
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

describe("the hrtime client's open loop", () => {
  // The chat benchmark checks each target's `failed` only: a request never answered must count there, or a target that
  // hangs on some requests passes with the percentiles of the others.
  it('counts a request never answered as failed, for its target too', async () => {
    const result = await openLoop(['/answers', '/hangs']);
    expect(result.failed).toBe(20);
    expect(result.byUrl.map((figures) => figures.failed)).toEqual([0, 20]);
  });

  // The first-token figures are taken over the streams that carried their text: a 200 stream that ended without it
  // passed as answered, its whole-stream time and first byte counted, its missing first token in no figure.
  it('counts a stream answered 200 that never carries its first text as failed, for its target too', async () => {
    const result = await openLoop(['/answers', '/streams-no-text'], { tokenMarker: 'Hello' });
    expect(result.byUrl.map((figures) => figures.failed)).toEqual([0, 20]);
    expect(result.failed).toBe(20);
  });
});
