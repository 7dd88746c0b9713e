// A client that reads a long streamed answer slowly, or stops reading without closing (a slow link, a tab in the
// background): the mount must pass the socket's back-pressure on to byokit, which stops reading the provider's
// body, so that a provider writing faster than the client reads is held back rather than buffered in the host's
// memory (docs/http-api.md, "Streams"). Measured over real sockets in bytes, never in time: the provider's
// answer is far longer than the sockets between it and the client hold, and while the client reads nothing the
// provider cannot hand the socket more than those buffers take. Read on, the answer then arrives whole.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWithUserKeys } from './exchange.js';
import { listenOnLoopback } from './listen.js';
import { OPENAI_MODEL } from './scenarios.js';
import { authorizationOf, PRINCIPALS, type Side } from './world.js';
import type { MountAdapter, MountedAdapter } from './types.js';

/** Text in each of the provider's chunks: large, so that the answer outgrows the sockets' buffers in few events. */
const PIECE_CHARS = 4096;
/** 32 MiB of text: several times what loopback's socket buffers between the provider and the client take (~10 MiB). */
const PIECES = 8192;
/** The provider's own count of the answer's tokens, which its record must carry. */
const USAGE = { prompt_tokens: 9, completion_tokens: 7_340_032, total_tokens: 7_340_041 };
/** A small interval: many ticks pass while the client reads nothing, none of which may leave a comment behind. */
const KEEP_ALIVE_MS = 20;

/** Piece `index` of the answer: its number first, so that a piece lost, doubled or out of order shows. */
const pieceText = (index: number) => `${index}:`.padEnd(PIECE_CHARS, String.fromCharCode(97 + (index % 26)));

const chunk = (delta: object, finishReason: string | null = null, usage: object | null = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-long',
    object: 'chat.completion.chunk',
    created: 1,
    model: OPENAI_MODEL.model,
    choices: usage ? [] : [{ index: 0, delta, finish_reason: finishReason }],
    usage,
  })}\n\n`;

/** One call to the long-answering provider: how far it got, and how it ended. */
export interface LongCall {
  /** Pieces handed to the socket so far (the last one may wait in the provider's own buffer). */
  written: number;
  /** The whole answer was handed to the socket. */
  finished: boolean;
  /** Resolves once the connection closed; `aborted` then says whether it closed before the answer's end. */
  closed: Promise<void>;
  aborted: boolean;
}

/**
 * An OpenAI that answers every streamed chat with {@link PIECES} chunks of text, as fast as its socket takes them:
 * it writes until the socket's buffer is full and goes on when it drains, as a provider's server does.
 */
export async function longAnsweringProvider(): Promise<{ baseUrl: string; call(nth: number): Promise<LongCall>; close(): Promise<void> }> {
  const calls: LongCall[] = [];
  let arrived = () => {};
  const answer = (response: ServerResponse) => {
    const call: LongCall = { written: 0, finished: false, aborted: false, closed: Promise.resolve() };
    call.closed = new Promise((resolve) =>
      response.once('close', () => {
        call.aborted = !response.writableFinished;
        resolve();
      }),
    );
    calls.push(call);
    arrived();
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ role: 'assistant', content: '' }));
    const more = () => {
      while (call.written < PIECES && !response.destroyed) {
        const room = response.write(chunk({ content: pieceText(call.written) }));
        call.written += 1;
        if (!room) return;
      }
      if (response.destroyed || call.finished) return;
      call.finished = true;
      response.end(chunk({}, 'stop') + chunk({}, null, USAGE) + 'data: [DONE]\n\n');
    };
    response.on('drain', more);
    more();
  };
  const server = createServer((request, response) => {
    response.on('error', () => {});
    request.resume();
    request.once('end', () => answer(response));
  });
  const { baseUrl, close } = await listenOnLoopback(server);
  return {
    baseUrl: `${baseUrl}/v1`,
    /** The `nth` call (from 1), once it came: byokit may write the stream's head before, at a keep-alive tick. */
    async call(nth) {
      while (calls.length < nth) await new Promise<void>((resolve) => (arrived = resolve));
      return calls[nth - 1]!;
    },
    close,
  };
}

/**
 * A streamed chat sent with node:http whose body is read as far as its first bytes, then not at all until `readOn()`:
 * Node's client then stops taking from the socket once its own small buffer is full, as a slow client does.
 */
function readWhenAsked(url: string, body: string, requestId: string) {
  const pieces: Buffer[] = [];
  const request = httpRequest(url, {
    // A connection of its own: one kept alive from the test before may be closed by the server (its keep-alive timeout)
    // just as it is reused, which a loaded machine met as ECONNRESET.
    agent: false,
    method: 'POST',
    headers: { ...authorizationOf('user'), 'content-type': 'application/json', 'x-request-id': requestId },
  });
  const responded = new Promise<IncomingMessage>((resolve, reject) => request.once('response', resolve).once('error', reject));
  const ended = responded.then(
    (response) =>
      new Promise<void>((resolve, reject) => {
        response.on('data', (piece: Buffer) => pieces.push(piece));
        response.once('end', resolve).once('error', reject);
      }),
  );
  // Left on purpose in one test: the end never comes there.
  ended.catch(() => {});
  request.end(body);
  return {
    /** The status, once the body's first bytes came; from then on nothing is read until `readOn()`. */
    async firstBytes(): Promise<number | undefined> {
      const response = await responded;
      while (pieces.length === 0) await new Promise((resolve) => response.once('data', resolve));
      response.pause();
      return response.statusCode;
    },
    /** Reads on to the body's end: the whole body. */
    async readOn(): Promise<string> {
      (await responded).resume();
      await ended;
      return Buffer.concat(pieces).toString('utf8');
    },
    /** Drops the connection, unread. */
    leave: () => request.destroy(),
  };
}

/** How many looks in a row, {@link LOOK_MS} apart, find the provider where it was before it is taken as held back. */
const STILL_LOOKS = 10;
const LOOK_MS = 100;

/**
 * Waits until the provider has written nothing more for {@link STILL_LOOKS} looks in a row (the client's pause has
 * reached it through every buffer between), or has written its whole answer. Time is not what is tested: a mount
 * that buffers the answer lets the provider finish, however long it takes, and one that holds it back never does;
 * the looks only say when to stop waiting (a process that stalls long enough could end them early, which only
 * makes the check weaker).
 */
export async function heldBack(call: LongCall): Promise<void> {
  for (let last = -1, still = 0; still < STILL_LOOKS && !call.finished;) {
    still = call.written === last ? still + 1 : 0;
    last = call.written;
    await delay(LOOK_MS);
  }
}

/** The streamed chat every test sends. */
const body = JSON.stringify({ model_id: OPENAI_MODEL.id, messages: [{ role: 'user', content: 'Write at length.' }], stream: true });

/** What the client reads of a chunk. */
interface Chunk {
  choices: Array<{ delta?: { content?: string }; finish_reason?: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; cost_usd: string };
}

/** What an SSE client makes of a body: each event's data, comments skipped. */
function eventsOf(text: string): string[] {
  const events: string[] = [];
  createParser({ onEvent: (event) => events.push(event.data) }).feed(text);
  return events;
}

export function describeSlowReaders(mount: MountAdapter, prefix: string): void {
  describe('a client that reads a long stream slowly holds the provider back', () => {
    let provider: Awaited<ReturnType<typeof longAnsweringProvider>>;
    let side: Side;
    let adapter: MountedAdapter;
    /** Calls the provider had so far. */
    let calls = 0;

    beforeAll(async () => {
      provider = await longAnsweringProvider();
      ({ side, adapter } = await mountWithUserKeys(mount, prefix, {
        streamKeepAliveMs: KEEP_ALIVE_MS,
        baseUrls: { openai: provider.baseUrl },
      }));
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
      await provider?.close();
    });

    const url = () => `${adapter.baseUrl}${prefix}/llm/chat/completions`;
    const recordOf = async (requestId: string) =>
      (await side.byokit.usage.events(PRINCIPALS.user.userId)).records.find((record) => record.requestId === requestId);
    /** A stream read to its head and then not at all, once the provider is held back by it. */
    const heldBackStream = async (requestId: string) => {
      const client = readWhenAsked(url(), body, requestId);
      expect(await client.firstBytes()).toBe(200);
      const call = await provider.call(++calls);
      await heldBack(call);
      expect(call.finished).toBe(false);
      return { client, call };
    };

    it('POST /llm/chat/completions, not read for a while: the provider is held back, then the answer comes whole, recorded once', async () => {
      const requestId = 'conformance-slow-reader';
      // The provider could hand over no more than the sockets' buffers and byokit's own take: held back, not read
      // into the host's memory (a mount that buffered the answer would let it write all 32 MiB).
      const { client, call } = await heldBackStream(requestId);
      expect(call.written).toBeLessThan(PIECES / 2);

      const text = await client.readOn();
      const events = eventsOf(text);
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((data) => JSON.parse(data) as Chunk);
      const content = chunks.map((parsed) => parsed.choices[0]?.delta?.content ?? '').join('');
      expect(content.length).toBe(PIECES * PIECE_CHARS);
      expect(content === Array.from({ length: PIECES }, (_, index) => pieceText(index)).join('')).toBe(true);
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 7_340_032 });
      // Keep-alive comments go only while byokit waits on the provider, never while the client's socket is full: the
      // pause lasted fifty ticks and more, and left none behind (one or two written while byokit waited on the provider,
      // on a loaded machine, are no pile; a comment queued at every tick the client read nothing left 54 here).
      expect(text.split(': keep-alive\n\n').length - 1).toBeLessThan(5);
      await expect.poll(async () => (await recordOf(requestId))?.status, { timeout: 5_000 }).toBe('ok');
      const record = await recordOf(requestId);
      expect([record?.inputTokens, record?.outputTokens, record?.costUsd]).toEqual([9, 7_340_032, chunks.at(-1)?.usage?.cost_usd]);
      expect((await side.byokit.usage.events(PRINCIPALS.user.userId)).records.filter((one) => one.requestId === requestId)).toHaveLength(1);
    }, 60_000);

    it('POST /llm/chat/completions, not read and then left: the held-back provider call is aborted and recorded as aborted', async () => {
      const requestId = 'conformance-slow-reader-leaves';
      const { client, call } = await heldBackStream(requestId);
      client.leave();
      await call.closed;
      expect(call.aborted).toBe(true);
      await expect.poll(async () => (await recordOf(requestId))?.status, { timeout: 5_000 }).toBe('aborted');
    }, 60_000);
  });

  describe('a client that stops reading a long stream, its connection left open, is let go', () => {
    let provider: Awaited<ReturnType<typeof longAnsweringProvider>>;
    let side: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      provider = await longAnsweringProvider();
      ({ side, adapter } = await mountWithUserKeys(mount, prefix, {
        streamKeepAliveMs: KEEP_ALIVE_MS,
        // A reader that takes nothing is waited for this long, in whole keep-alive ticks (docs/http-api.md, "Streams").
        providerTimeoutMs: 25 * KEEP_ALIVE_MS,
        baseUrls: { openai: provider.baseUrl },
      }));
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
      await provider?.close();
    });

    it("POST /llm/chat/completions: the held-back provider call is aborted once the reader took nothing for the provider's timeout, recorded as aborted, and what the client reads later ends there", async () => {
      const requestId = 'conformance-slow-reader-stalls';
      const client = readWhenAsked(`${adapter.baseUrl}${prefix}/llm/chat/completions`, body, requestId);
      expect(await client.firstBytes()).toBe(200);
      const call = await provider.call(1);
      // Ended by byokit, the client never having left nor read on.
      await call.closed;
      expect([call.finished, call.aborted]).toEqual([false, true]);
      await expect
        .poll(
          async () => (await side.byokit.usage.events(PRINCIPALS.user.userId)).records.map(({ requestId, status }) => [requestId, status]),
          {
            timeout: 5_000,
          },
        )
        .toEqual([[requestId, 'aborted']]);
      // Read on: what was on its way, then the end, without [DONE].
      const events = eventsOf(await client.readOn());
      expect(events.length).toBeGreaterThan(0);
      expect(events).not.toContain('[DONE]');
      expect(events.length).toBeLessThan(PIECES);
    }, 20_000);
  });
}
