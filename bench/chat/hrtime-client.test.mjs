import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT } from './load.mjs';

// A target that answers, and one that never does (a server that hangs on some requests).
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

async function openLoop(spec) {
  const { stdout } = await promisify(execFile)(process.execPath, [CLIENT, JSON.stringify({ mode: 'open-loop', ...spec })]);
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

describe("the hrtime client's open loop", () => {
  // The chat benchmark checks each target's `failed` only: a request never answered must count there, or a target that
  // hangs on some requests passes with the percentiles of the others.
  it('counts a request never answered as failed, for its target too', async () => {
    const target = (path) => ({ url: `${origin}${path}`, headers: { 'content-type': 'text/plain' }, body: 'Hi' });
    // 100 requests/s in slices of 10 for 0.4 s: 20 to each target.
    const result = await openLoop({
      rate: 100,
      sliceMs: 100,
      durationMs: 400,
      graceMs: 2000,
      alternate: [target('/answers'), target('/hangs')],
    });
    expect(result.failed).toBe(20);
    expect(result.byUrl.map((figures) => figures.failed)).toEqual([0, 20]);
  });

  // The first-token figures are taken over the streams that carried their text: a 200 stream that ended without it
  // passed as answered, its whole-stream time and first byte counted, its missing first token in no figure.
  it('counts a stream answered 200 that never carries its first text as failed, for its target too', async () => {
    const target = (path) => ({ url: `${origin}${path}`, headers: { 'content-type': 'text/plain' }, body: 'Hi', tokenMarker: 'Hello' });
    const result = await openLoop({
      rate: 100,
      sliceMs: 100,
      durationMs: 400,
      graceMs: 2000,
      alternate: [target('/answers'), target('/streams-no-text')],
    });
    expect(result.byUrl.map((figures) => figures.failed)).toEqual([0, 20]);
    expect(result.failed).toBe(20);
  });
});
