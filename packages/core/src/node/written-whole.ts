import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

/**
 * A request as Node's servers hand it over: `node:http`'s (and `https`'s) `IncomingMessage`, or the HTTP/2
 * compatibility API's `Http2ServerRequest` (`http2.createServer()`, `http2.createSecureServer()`, whose
 * `allowHTTP1: true` hands over either).
 */
export type NodeRequest = IncomingMessage | Http2ServerRequest;

/** A response as Node's servers hand it over: `ServerResponse`, or HTTP/2's `Http2ServerResponse`. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * Whether a response that closed had its answer written whole: ended by whoever wrote it, and finished. An adapter's
 * `close` listener aborts the request's signal unless it was (the client went away, or the host answered itself),
 * so that the provider call stops. `writableFinished` alone does not tell: over HTTP/2 a stream the client reset
 * (RST_STREAM) closes its response finished (an Http2ServerResponse's is its stream's, true once destroyed), though
 * nothing ended it.
 */
export function writtenWhole(response: NodeResponse): boolean {
  return response.writableEnded && response.writableFinished;
}
