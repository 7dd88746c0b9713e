// A fake provider for the provider clients' tests: an HTTP server on loopback that answers with a recorded
// response (a JSON body, or a stream replayed as server-sent events) and records what it received, so a
// test asserts both the unified output and the exact request that went out; and the two ways those tests read
// a client's output. Test-only (Node).
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { isByokitError, type ByokitError } from '../errors.js';
import { fixtureChunks } from './fixtures.js';
import type { ProviderCallOptions, ProviderChatRequest, ProviderClient, ProviderStreamEvent } from './provider-types.js';

/** A request the fake provider received. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/v1/messages` or `/v1beta/models/x:streamGenerateContent?alt=sse`. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, if any. */
  body: unknown;
}

/** What the fake provider answers. */
export type ReplayAnswer =
  | { json: unknown; status?: number; headers?: Record<string, string> }
  /**
   * Each line is one event's JSON; `event` names the SSE event type (Anthropic sends `event: <type>`). `cut`: the
   * connection is dropped after the last event, its body never ended (a connection reset).
   */
  | { events: string[]; eventName?: (line: string) => string | undefined; done?: boolean; gapMs?: number; cut?: boolean }
  /** A body sent as is; given as pieces, each is written on its own after `gapMs` (bytes split where a test wants). */
  | { raw: string | Uint8Array | Uint8Array[]; status?: number; headers?: Record<string, string>; gapMs?: number };

export interface ReplayServer {
  /** `http://127.0.0.1:<port>`: use it as the provider's base URL (plus `/v1` for OpenAI). */
  origin: string;
  requests: ReceivedRequest[];
  /**
   * How the first answer ended: `aborted` when its client went away before the answer's end, `finished` when it was
   * sent whole. A test that expects an abort fails on `finished` at once, not by timing out waiting for one.
   */
  ended: Promise<'aborted' | 'finished'>;
  close(): Promise<void>;
}

/** Anthropic names each event by its `type`. */
export const eventNameFromType = (line: string) => (JSON.parse(line) as { type: string }).type;

/** Starts a fake provider answering every request with `answer` (or `answer(request)`). */
export async function startReplayServer(answer: ReplayAnswer | ((request: ReceivedRequest) => ReplayAnswer)): Promise<ReplayServer> {
  const requests: ReceivedRequest[] = [];
  let markEnded!: (how: 'aborted' | 'finished') => void;
  const ended = new Promise<'aborted' | 'finished'>((resolve) => (markEnded = resolve));
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const received: ReceivedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(received);
    response.on('close', () => markEnded(response.writableFinished ? 'finished' : 'aborted'));
    await send(response, typeof answer === 'function' ? answer(received) : answer);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    ended,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function send(response: ServerResponse, answer: ReplayAnswer): Promise<void> {
  if ('json' in answer) {
    response.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.json));
    return;
  }
  if ('raw' in answer) {
    response.writeHead(answer.status ?? 200, { 'content-type': 'text/event-stream', ...answer.headers });
    if (!Array.isArray(answer.raw)) return void response.end(answer.raw);
    for (const piece of answer.raw) {
      if (response.destroyed) return;
      response.write(piece);
      await new Promise((resolve) => setTimeout(resolve, answer.gapMs ?? 20));
    }
    response.end();
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const line of answer.events) {
    if (response.destroyed) return;
    const name = answer.eventName?.(line);
    response.write(`${name ? `event: ${name}\n` : ''}data: ${line}\n\n`);
    if (answer.gapMs) await new Promise((resolve) => setTimeout(resolve, answer.gapMs));
  }
  if (answer.done) response.write('data: [DONE]\n\n');
  // The socket ended under the response: what was written goes out whole, and the body stops short of its end.
  // Node 24 holds a chunked response's writes until the next tick (older Nodes hand them to the socket at once),
  // so the socket is ended once a last blank line (which ends no event) has reached it: ended at once, it took
  // every write with it on Node 24, and the client saw the connection close before any answer.
  if (answer.cut) response.write('\n', () => response.socket?.end());
  else response.end();
}

/** `startReplayServer` for one test file: each server is closed after the test that started it. */
export function replayServersClosedAfterEachTest(): (
  answer: ReplayAnswer | ((request: ReceivedRequest) => ReplayAnswer),
) => Promise<ReplayServer> {
  const started: ReplayServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  return async (answer) => {
    const server = await startReplayServer(answer);
    started.push(server);
    return server;
  };
}

/** A provider that writes faster than it is read: how far it got says whether byokit held it back. */
export interface FloodingProvider {
  origin: string;
  written(): number;
  finished(): boolean;
  close(): Promise<void>;
}

/**
 * An Anthropic stream that opens as the recorded one does, then writes text deltas of `eventChars` characters as fast as
 * the connection takes them until `totalBytes` are out.
 */
export async function startFloodingProvider(eventChars: number, totalBytes: number): Promise<FloodingProvider> {
  let written = 0;
  let finished = false;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const [start, blockStart] = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    response.write(`event: message_start\ndata: ${start}\n\nevent: content_block_start\ndata: ${blockStart}\n\n`);
    const delta = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x'.repeat(eventChars) } })}\n\n`;
    const more = () => {
      while (written < totalBytes) {
        written += delta.length;
        if (!response.write(delta)) return;
      }
      finished = true;
      response.end();
    };
    response.on('drain', more);
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    written: () => written,
    finished: () => finished,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/**
 * Resolves once the flooding provider has finished, or has written nothing more for ten looks 50 ms apart: the looks
 * only say when to stop waiting; what it wrote by then is the test's to judge.
 */
export async function untilStill(flood: FloodingProvider): Promise<void> {
  for (let last = -1, still = 0; still < 10 && !flood.finished(); still = flood.written() === last ? still + 1 : 0, last = flood.written())
    await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Every event of a client's stream, read to its end. */
export async function collect(events: AsyncIterable<ProviderStreamEvent>): Promise<ProviderStreamEvent[]> {
  const collected: ProviderStreamEvent[] = [];
  for await (const event of events) collected.push(event);
  return collected;
}

/** The `ByokitError` a client's call rejects with; anything else (an answer, another error) fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<ByokitError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isByokitError(error)) throw new Error(`expected a ByokitError, got ${String(error)}`);
  return error;
}

/**
 * The codes each of a client's three calls (complete, stream, checkKey) is refused with, made with `options`: each
 * builds its own headers, so each must refuse on its own (a key of another provider); anything else fails the test.
 */
export async function refusalCodesOfEveryCall(
  client: ProviderClient,
  request: ProviderChatRequest,
  options: ProviderCallOptions,
): Promise<string[]> {
  const refusals = [
    await rejection(client.complete(request, options)),
    await rejection(client.stream(request, options)),
    await rejection(client.checkKey(options)),
  ];
  return refusals.map((error) => error.code);
}
