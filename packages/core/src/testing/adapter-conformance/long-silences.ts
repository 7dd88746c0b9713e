// A stream whose provider is silent for long (a reasoning model thinking): byokit writes its head and SSE comments
// (`: keep-alive`) meanwhile, so that a reverse proxy's idle timeout does not cut it (docs/http-api.md, "Long
// silences in a stream"). The mount must pass each on as it is written: one that buffered them, or waited for the
// first event to write the head, would leave the proxy nothing to see.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWithUserKeys } from './exchange.js';
import { STREAMED_CHATS } from './scenarios.js';
import { authorizationOf, type Side } from './world.js';
import type { MountAdapter, MountedAdapter } from './types.js';

/** A small interval, so that comments come at once; the provider stays silent far longer. */
const KEEP_ALIVE_MS = 20;
const SILENCE_MS = 30_000;

/**
 * Sends the request with node:http and reads the body until `comments` keep-alive comments came (then leaves),
 * resolving the status, the content type and what was read. Rejects if the body ends first.
 */
function readComments(
  url: string,
  headers: Record<string, string>,
  body: string,
  comments: number,
): Promise<{ status: number | undefined; contentType: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const client = httpRequest(url, { method: 'POST', headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        if (text.split(': keep-alive\n\n').length - 1 < comments) return;
        client.destroy();
        resolve({ status: response.statusCode, contentType: response.headers['content-type'], text });
      });
      response.on('end', () => reject(new Error(`the stream ended before ${comments} comments: ${JSON.stringify(text)}`)));
    });
    client.on('error', () => {});
    client.end(body);
  });
}

export function describeLongSilences(mount: MountAdapter, prefix: string): void {
  describe('a stream whose provider is silent for long is kept alive', () => {
    let side: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      ({ side, adapter } = await mountWithUserKeys(mount, prefix, { streamKeepAliveMs: KEEP_ALIVE_MS }));
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    const headers = { ...authorizationOf('user'), 'content-type': 'application/json' };

    for (const { route, provider, body } of STREAMED_CHATS) {
      it(`POST ${route} (${provider}), before the provider's first event: the head, then comments as they are written`, async () => {
        side.mock.reset();
        side.mock.setAnswerDelayMs(SILENCE_MS);
        try {
          const { status, contentType, text } = await readComments(`${adapter.baseUrl}${prefix}${route}`, headers, JSON.stringify(body), 2);
          expect(status).toBe(200);
          expect(contentType).toBe('text/event-stream; charset=utf-8');
          expect(text).toBe(': keep-alive\n\n: keep-alive\n\n');
        } finally {
          side.mock.setAnswerDelayMs(0);
        }
        // Leaving ended the silent call too.
        await side.mock.waitForRequest((request) => request.provider === provider && request.aborted, { timeoutMs: 5_000 });
      }, 15_000);

      it(`POST ${route} (${provider}), silent after the provider began (its first event in, nothing to pass on): comments`, async () => {
        side.mock.reset();
        side.mock.setChunkGapMs(SILENCE_MS);
        try {
          const { status, text } = await readComments(`${adapter.baseUrl}${prefix}${route}`, headers, JSON.stringify(body), 1);
          expect(status).toBe(200);
          // Anthropic's first event (`message_start`) has its head written at once; OpenAI's (the role chunk) does not.
          expect(text).toMatch(/^(data: [^\n]*\n\n)*: keep-alive\n\n$/);
        } finally {
          side.mock.setChunkGapMs(0);
        }
        await side.mock.waitForRequest((request) => request.provider === provider && request.aborted, { timeoutMs: 5_000 });
      }, 15_000);
    }
  });
}
