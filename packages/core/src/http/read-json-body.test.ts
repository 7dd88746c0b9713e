import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, readJsonBody } from './read-json-body.js';
import type { ByokitRequest } from './types.js';

function request(text: string, chunkSize = 64 * 1024): ByokitRequest {
  const bytes = new TextEncoder().encode(text);
  return {
    method: 'POST',
    url: '/',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: {
      kind: 'stream',
      stream: (async function* () {
        for (let offset = 0; offset < bytes.length; offset += chunkSize) yield bytes.subarray(offset, offset + chunkSize);
      })(),
    },
    authenticate: () => null,
  };
}

describe('reading a JSON body', () => {
  it('refuses JSON nested 100,000 deep with invalid_json, without overflowing the stack', async () => {
    const text = '{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
    await expect(readJsonBody(request(text), 10 * 1024 * 1024)).rejects.toMatchObject({ code: 'invalid_json' });
  });

  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels, and brackets inside strings do not count`, async () => {
    const nested = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(await readJsonBody(request(nested), 1024)).toBeInstanceOf(Array);
    const value = await readJsonBody(request(JSON.stringify({ text: '[[[[{{{{"\\"['.repeat(100) })), 4096);
    expect(value).toHaveProperty('text');
  });

  it('does not end a string at an escaped quote: brackets after it are still inside the string', async () => {
    const text = JSON.stringify({ text: '"' + '['.repeat(MAX_JSON_DEPTH + 1) });
    expect(await readJsonBody(request(text), 4096)).toEqual({ text: '"' + '['.repeat(MAX_JSON_DEPTH + 1) });
  });

  it('takes a body of exactly the limit, its Content-Length the limit too', async () => {
    const text = JSON.stringify({ text: 'x'.repeat(100) });
    const exact = request(text);
    exact.headers = { ...exact.headers, 'content-length': String(text.length) };
    expect(await readJsonBody(exact, text.length)).toEqual({ text: 'x'.repeat(100) });
  });

  it("measures a body a host's body parser already read in UTF-8 bytes, as it came: 611 characters of 1,211 bytes are over 1 KiB", async () => {
    const value = { text: 'é'.repeat(600) };
    const parsed: ByokitRequest = { ...request(''), body: { kind: 'parsed', value } };
    await expect(readJsonBody(parsed, 1024)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(await readJsonBody(parsed, 1211)).toEqual(value);
  });

  it('joins a body that arrives in many chunks, multi-byte characters split across them', async () => {
    const value = await readJsonBody(request(JSON.stringify({ text: 'héllo wörld ✓'.repeat(50) }), 7), 4096);
    expect(value).toEqual({ text: 'héllo wörld ✓'.repeat(50) });
  });

  it('stops reading at the limit', async () => {
    let chunksRead = 0;
    const endless: ByokitRequest = {
      method: 'POST',
      url: '/',
      headers: { 'content-type': 'application/json' },
      authenticate: () => null,
      body: {
        kind: 'stream',
        stream: (async function* () {
          for (;;) {
            chunksRead++;
            yield new Uint8Array(1024);
          }
        })(),
      },
    };
    await expect(readJsonBody(endless, 8 * 1024)).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(chunksRead).toBe(9);
  });

  it('never quotes the body in its error message', async () => {
    const secret = 'sk-ant-api03-test-fake-' + 'q'.repeat(40);
    await expect(readJsonBody(request(`{"k": "${secret}" oops}`), 4096)).rejects.toSatisfy(
      (error: Error) => !error.message.includes(secret.slice(0, 12)),
    );
  });
});
