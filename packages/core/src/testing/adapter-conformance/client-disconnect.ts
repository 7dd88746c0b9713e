// A client that goes away, mid-stream or before the answer began: the adapter must tell byokit (the request's
// signal, or by ending the stream it was sending), which aborts the provider call and records the usage so far
// as `aborted` (spec/http-api.md, "Chat").
import { request as httpRequest } from 'node:http';
import { setTimeout } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWithUserKeys, sendChatHead } from './exchange.js';
import { ANTHROPIC_MODEL, STREAMED_CHATS } from './scenarios.js';
import { authorizationOf, PRINCIPALS, type Side } from './world.js';
import type { MountAdapter, MountedAdapter } from './types.js';

/** Streams that last: the provider's events this far apart, so the client leaves long before the last one. */
const GAP_MS = 50;

const hello = (stream: boolean) => ({ model_id: ANTHROPIC_MODEL.id, messages: [{ role: 'user', content: 'Hello!' }], stream });

/** How long the provider takes before it answers a plain chat, in the test of a client that leaves before. */
const THINKING_MS = 10_000;

/** Sends the request with node:http and drops the connection once `leave` resolves; rejects if an answer comes first. */
function sendThenLeave(url: string, headers: Record<string, string>, body: string, leave: Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = httpRequest(url, { method: 'POST', headers }, (response) =>
      reject(new Error(`an answer came before the client left: ${response.statusCode}`)),
    );
    client.on('error', () => {});
    client.end(body);
    leave.then(() => {
      client.destroy();
      resolve();
    }, reject);
  });
}

/** Sends the request with node:http and drops the connection as soon as the answer's head came. */
function leaveOnceHeadCame(url: string, headers: Record<string, string>, body: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const client = httpRequest(url, { method: 'POST', headers }, (response) => {
      client.destroy();
      resolve(response.statusCode);
    });
    client.on('error', reject);
    client.end(body);
  });
}

/** Sends the request with node:http, waits for the first piece of the body, then drops the connection. */
function readFirstChunkThenLeave(url: string, headers: Record<string, string>, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = httpRequest(url, { method: 'POST', headers }, (response) =>
      response.once('data', (chunk: Buffer) => {
        client.destroy();
        resolve(chunk.toString('utf8'));
      }),
    );
    client.on('error', reject);
    client.end(body);
  });
}

export function describeClientDisconnect(mount: MountAdapter, prefix: string): void {
  describe('a client that goes away aborts the provider call', () => {
    let side: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      ({ side, adapter } = await mountWithUserKeys(mount, prefix));
      side.mock.setChunkGapMs(GAP_MS);
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    const usageStatusOf = async (requestId: string) =>
      (await side.byokit.usage.events(PRINCIPALS.user.userId)).records.find((record) => record.requestId === requestId)?.status;
    /** byokit's log lines about one request. */
    const linesOf = (requestId: string) =>
      side.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.requestId === requestId);
    /** A client leaving is not a failure of the server's: no error line about it, which any client could multiply. */
    const expectNoErrorLine = (requestId: string) => expect(linesOf(requestId).filter((line) => line.level === 'error')).toEqual([]);

    it('POST /llm/chat/completions, plain, left before the provider answered: the upstream request is aborted', async () => {
      side.mock.reset();
      side.mock.setAnswerDelayMs(THINKING_MS);
      try {
        const requestId = 'conformance-leaves-early';
        const headers = { ...authorizationOf('user'), 'content-type': 'application/json', 'x-request-id': requestId };
        const reached = side.mock.waitForRequest((request) => request.provider === 'anthropic');
        await sendThenLeave(`${adapter.baseUrl}${prefix}/llm/chat/completions`, headers, JSON.stringify(hello(false)), reached);
        const upstream = await side.mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted, {
          timeoutMs: 5_000,
        });
        expect(upstream.aborted).toBe(true);
        await expect.poll(() => usageStatusOf(requestId), { timeout: 5_000 }).toBe('aborted');
        // The handler's own line comes last, once the aborted call has unwound.
        await expect.poll(() => linesOf(requestId).some((line) => line.message === 'request'), { timeout: 5_000 }).toBe(true);
        expectNoErrorLine(requestId);
      } finally {
        side.mock.setAnswerDelayMs(0);
      }
    }, 15_000);

    it('POST /llm/chat/completions, left halfway through sending the body: no provider call, no error logged, the next request answered', async () => {
      side.mock.reset();
      const requestId = 'conformance-leaves-mid-body';
      const body = JSON.stringify(hello(false));
      const socket = sendChatHead(adapter.baseUrl, prefix, requestId, body, body.slice(0, 20));
      await setTimeout(100);
      socket.destroy();
      // Long enough for the adapter to see the connection close and byokit to unwind whatever it had begun.
      await setTimeout(300);
      expectNoErrorLine(requestId);
      expect(side.mock.requests).toHaveLength(0);
      const next = await fetch(`${adapter.baseUrl}${prefix}/llm/chat/completions`, {
        method: 'POST',
        headers: { ...authorizationOf('user'), 'content-type': 'application/json' },
        body,
      });
      expect(next.status).toBe(200);
    });

    it('POST /llm/chat/completions, streamed, left while the provider is silent after its head: the upstream request is aborted', async () => {
      side.mock.reset();
      // After its first event (no text) the provider sends nothing for an hour: no chunk comes for the adapter to find
      // the client gone by, so only the request's abort, passed on by the adapter, can end the call.
      side.mock.setChunkGapMs(3_600_000);
      try {
        const requestId = 'conformance-leaves-silent-stream';
        const headers = { ...authorizationOf('user'), 'content-type': 'application/json', 'x-request-id': requestId };
        expect(await leaveOnceHeadCame(`${adapter.baseUrl}${prefix}/llm/chat/completions`, headers, JSON.stringify(hello(true)))).toBe(200);
        const upstream = await side.mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted, {
          timeoutMs: 5_000,
        });
        expect(upstream.aborted).toBe(true);
        await expect.poll(() => usageStatusOf(requestId), { timeout: 5_000 }).toBe('aborted');
        expectNoErrorLine(requestId);
      } finally {
        side.mock.setChunkGapMs(GAP_MS);
      }
    }, 15_000);

    for (const { route, provider, body } of STREAMED_CHATS) {
      it(`POST ${route} (${provider}), left mid-stream: the upstream request is aborted and the usage so far recorded`, async () => {
        side.mock.reset();
        const requestId = `conformance-leaves-${provider}`;
        const headers = { ...authorizationOf('user'), 'content-type': 'application/json', 'x-request-id': requestId };
        const first = await readFirstChunkThenLeave(`${adapter.baseUrl}${prefix}${route}`, headers, JSON.stringify(body));
        expect(first).toMatch(/^data: /);
        const upstream = await side.mock.waitForRequest((request) => request.provider === provider && request.aborted, {
          timeoutMs: 5_000,
        });
        expect(upstream.aborted).toBe(true);
        await expect.poll(() => usageStatusOf(requestId), { timeout: 5_000 }).toBe('aborted');
        expectNoErrorLine(requestId);
      }, 15_000);
    }
  });
}
