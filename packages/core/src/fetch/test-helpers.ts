// For core's own tests: a fetch handler served over node:http, the way @hono/node-server and similar bridges
// do it (core does not depend on one). Not part of the package: no entry point imports it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { drainedOrClosed } from '../node/node-handler.js';
import { listenOnLoopback } from '../testing/adapter-conformance/listen.js';

/** What the bridge serves: a fetch handler, `undefined` meaning "not mine" (then `fallback` answers). */
export type BridgedHandler = (request: Request) => Promise<Response | undefined>;

/**
 * Serves `handler` on 127.0.0.1 at a free port: the request body as a web stream, a signal aborted when the
 * client goes away, the response body written read by read (waiting for the socket when it is full) and
 * cancelled when the connection closes. `fallback` answers what the handler leaves (default: a bare 404).
 */
export async function serveFetchOverNode(
  handler: BridgedHandler,
  fallback: (response: ServerResponse) => void = (response) => void response.writeHead(404).end(),
): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = createServer((incoming, outgoing) => {
    void bridge(handler, fallback, incoming, outgoing).catch(() => {
      if (!outgoing.headersSent) outgoing.writeHead(500).end();
      else outgoing.destroy();
    });
  });
  return listenOnLoopback(server);
}

async function bridge(
  handler: BridgedHandler,
  fallback: (response: ServerResponse) => void,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): Promise<void> {
  const client = new AbortController();
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) client.abort();
  });
  // What the handler left unread of the body (a 413 on the declared length reads none) is read and dropped once
  // the answer is sent: the web stream's reader keeps Node from doing it, and the connection would stay stuck on
  // those bytes, hanging the next request on it (as @hono/node-server does: honojs/node-server#246).
  outgoing.once('finish', () => {
    if (incoming.complete || incoming.destroyed) return;
    incoming.removeAllListeners('data');
    incoming.resume();
  });
  const response = await handler(toRequest(incoming, client.signal));
  if (response === undefined) return fallback(outgoing);
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body === null) return void outgoing.end();
  outgoing.flushHeaders();
  const reader = response.body.getReader();
  outgoing.once('close', () => void reader.cancel().catch(() => {}));
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    if (outgoing.destroyed) break;
    if (!outgoing.write(part.value)) await drainedOrClosed(outgoing);
  }
  outgoing.end();
}

/** A Node request as a fetch `Request`: its URL, every header as sent, the body as a stream, the client's signal. */
export function toRequest(incoming: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let index = 0; index < incoming.rawHeaders.length; index += 2)
    headers.append(incoming.rawHeaders[index]!, incoming.rawHeaders[index + 1]!);
  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD';
  // A target in absolute form (`GET http://host/v2/… HTTP/1.1`) is the URL itself, as @hono/node-server takes it.
  const target = incoming.url ?? '/';
  const absolute = target.startsWith('http://') || target.startsWith('https://');
  const url = new URL(absolute ? target : `http://${incoming.headers.host}${target}`);
  // A user name in it stays in the request's `url`, as @hono/node-server's lazy Request keeps it, though a Request
  // built from such a URL throws ("cannot be constructed from a URL that includes credentials").
  const withUser = url.href;
  url.username = url.password = '';
  const request = new Request(url, {
    method: incoming.method,
    headers,
    body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null,
    duplex: 'half',
    signal,
  } as RequestInit);
  if (withUser !== url.href) Object.defineProperty(request, 'url', { value: withUser });
  return request;
}
