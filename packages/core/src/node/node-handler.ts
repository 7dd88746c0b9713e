import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Byokit } from '../byokit.js';
import type { Authenticate, ByokitResponse, RequestBody } from '../http/types.js';
import { assertSettingNames } from '../host-option-checks.js';
import { authenticateOption } from '../http/authenticate-option.js';
import { byokitOption, mountSettings } from '../http/mount-checks.js';
import { belowPrefix, normalisePrefix } from '../http/mount-prefix.js';
import { RequestAbort } from '../http/request-abort.js';
import { writtenWhole, type NodeRequest, type NodeResponse } from './written-whole.js';

/** Options of {@link createNodeHandler}. */
export interface NodeHandlerOptions<Request extends NodeRequest = IncomingMessage> {
  /** Your auth: the principal behind a request, or null when nobody is signed in. */
  authenticate: Authenticate<Request>;
  /**
   * Where byokit's routes are mounted, e.g. `/v2`: stripped from the path before routing; requests outside it
   * are not byokit's. Leave it out when the framework strips the mount path itself (Express's `app.use('/v2', …)`).
   */
  prefix?: string | undefined;
}

/**
 * Answers a request if it is one of byokit's routes; resolves `false`, having written nothing, when it is
 * not, so that the host's own routes may answer it. Rejects with what the response threw as byokit's answer was
 * written (a host's code run as the head is written, say), the call ended first as for a client gone.
 */
export type NodeHandler<Request extends NodeRequest = IncomingMessage> = (request: Request, response: NodeResponse) => Promise<boolean>;

/**
 * byokit's /v2 routes on Node's own `http` request and response, the objects every Node framework is built on
 * (Express and Fastify adapters use this). It only translates: every rule is `byokit.handle`'s.
 *
 * - The body is read from the request stream, or taken from `request.body` when a body parser ran first
 *   (`express.json()` and the like), held to the same limits. A parser that keeps what it read elsewhere (Koa's
 *   `ctx.request.body`, Hapi's `request.payload`) leaves byokit nothing: mount byokit before it (a request with a
 *   body is otherwise `500 internal_error`, logged with how to mount it).
 * - A client that goes away aborts the request's signal, so the provider call stops too.
 * - Streamed answers are written chunk by chunk, waiting for the socket when it is full.
 *
 * ```ts
 * import { createServer } from 'node:http';
 * import { createNodeHandler } from '@byokit/core/node';
 *
 * const byokitRoutes = createNodeHandler(byokit, { authenticate: yourSession, prefix: '/v2' });
 * createServer(async (request, response) => {
 *   if (!(await byokitRoutes(request, response))) yourOtherRoutes(request, response);
 * });
 * ```
 *
 * For HTTP/2, see the overload that takes Node's `Http2ServerRequest`.
 *
 * @throws TypeError when `byokit` is not the instance createByokit() resolves to (its promise, not awaited), when
 *   `options` is left out, when `options.authenticate` is not a function, or `options.prefix` is neither `''` nor a
 *   path from `/` without `?`, `#` or spaces, or when `options` has a name it does not read (a typo).
 */
export function createNodeHandler<Request extends IncomingMessage = IncomingMessage>(
  byokit: Pick<Byokit, 'handle'>,
  options: NodeHandlerOptions<Request>,
): NodeHandler<Request>;
/**
 * byokit's /v2 routes on an HTTP/2 server of Node's (`http2.createServer()`, `http2.createSecureServer()`), through
 * its compatibility API, as on `node:http`: name the request type, or type `authenticate`'s request, as its
 * compatibility request (`Http2ServerRequest`), or `NodeRequest` for a server with `allowHTTP1: true`, which hands
 * over either kind. A client that resets its stream aborts the call as one that closes its connection does.
 *
 * ```ts
 * import { createServer, type Http2ServerRequest } from 'node:http2';
 * import { createNodeHandler } from '@byokit/core/node';
 *
 * const byokitRoutes = createNodeHandler<Http2ServerRequest>(byokit, { authenticate: yourSession, prefix: '/v2' });
 * createServer(async (request, response) => {
 *   if (!(await byokitRoutes(request, response))) response.writeHead(404).end();
 * });
 * ```
 *
 * @throws TypeError as the `node:http` overload does.
 */
export function createNodeHandler<Request extends NodeRequest>(
  byokit: Pick<Byokit, 'handle'>,
  options: NodeHandlerOptions<Request>,
): NodeHandler<Request>;
export function createNodeHandler<Request extends NodeRequest>(
  byokit: Pick<Byokit, 'handle'>,
  options: NodeHandlerOptions<Request>,
): NodeHandler<Request> {
  byokitOption(byokit, 'createNodeHandler');
  mountSettings(options, 'createNodeHandler', '{ authenticate, prefix? }');
  assertSettingNames('createNodeHandler', options, ['authenticate', 'prefix']);
  const prefix = normalisePrefix(options.prefix ?? '');
  const authenticate = authenticateOption<Request>(options.authenticate);
  return async (request, response) => {
    const url = belowPrefix(request.url ?? '/', prefix);
    if (url === undefined) return false;
    // A RequestAbort rather than an AbortController: cheaper to make and to listen to (http/request-abort.ts).
    const aborted = new RequestAbort();
    let writing = false;
    const closed = { now: false };
    // Closed before byokit began its answer (the client went away, or the host answered itself: its own timeout,
    // say), or before byokit's answer was written whole: no one will read the rest, so the provider call stops.
    response.once('close', () => {
      closed.now = true;
      if (!writing || !writtenWhole(response)) aborted.abort();
    });
    const answer = await byokit.handle({
      method: request.method ?? 'GET',
      url,
      headers: request.headers,
      body: bodyOf(request),
      authenticate: () => authenticate(request),
      signal: aborted,
    });
    // Not byokit's to answer: nothing listens to its signal.
    if (answer === undefined) return false;
    if (response.headersSent || response.writableEnded) {
      // The host answered meanwhile: its answer stands, byokit's is dropped unwritten (writing it would throw into
      // the host's error handler), and a stream is ended unread, recorded as aborted (the abort does it).
      aborted.abort();
      return true;
    }
    writing = true;
    try {
      await send(response, answer, request.method, closed);
    } catch (error) {
      // Writing threw: the host's code run as the head is written (on-headers, as express-session and response-time
      // use it) or a write. The failure is the host's, handed back (Express: to its error handler), and a stream is
      // ended unread, recorded as aborted: a host's answer written whole after it would leave it open for good. The
      // length set for byokit's body is no length of the host's answer: left, `res.end('…')` went out under it.
      if (!response.headersSent) response.removeHeader('content-length');
      aborted.abort();
      throw error;
    }
    return true;
  };
}

/**
 * The body as byokit should read it. A body parser that ran first has spent the stream and left its result
 * in `request.body`: pass that on rather than wait for bytes that never come.
 */
function bodyOf(request: NodeRequest & { body?: unknown }): RequestBody {
  if (!request.readableEnded) return { kind: 'read', read: (limitBytes) => readBody(request, limitBytes) };
  const parsed = request.body;
  if (parsed === undefined) return declaresBody(request) ? BODY_KEPT_ELSEWHERE : { kind: 'none' };
  if (parsed instanceof Uint8Array || typeof parsed === 'string') {
    const bytes = typeof parsed === 'string' ? new TextEncoder().encode(parsed) : parsed;
    return { kind: 'stream', stream: [bytes] };
  }
  return { kind: 'parsed', value: parsed };
}

/** Whether the request says a body follows (RFC 9112 §6.3): a length over 0, or a transfer coding. */
function declaresBody(request: NodeRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && Number(length) > 0) || request.headers['transfer-encoding'] !== undefined;
}

/**
 * A body the host read before byokit and kept where byokit does not look (Koa's parser: `ctx.request.body`; Hapi's:
 * `request.payload`). Taken as none, the client who sent one was told "The request body is empty"; it is the host's
 * mount to fix, so it is a 500 whose log says how.
 */
const BODY_KEPT_ELSEWHERE: RequestBody = {
  kind: 'read',
  read: () =>
    Promise.reject(
      new Error(
        'The request body was read before byokit saw it, and request.body holds nothing: mount byokit before the body ' +
          'parser, or leave what it read in request.body (on Koa, ctx.req.body = ctx.request.rawBody).',
      ),
    ),
};

/**
 * The request's whole body, or undefined once it passes `limitBytes`: from there on the rest is read and
 * dropped, never kept, so a flood is not buffered and the connection stays usable once it ends. Read from the
 * stream's events: its async iterator costs more than the rest of reading a small body (docs/performance.md).
 */
function readBody(request: NodeRequest, limitBytes: number): Promise<Uint8Array | undefined> {
  // Whole already (the host's authenticate awaited something, and the body came meanwhile): take it from the
  // stream's buffer at once, without switching the stream to flowing and waiting for its events.
  if (request.complete) return Promise.resolve(takeBuffered(request, limitBytes));
  // Gone already: the client left mid-body while the host's authenticate was still answering. Its 'close' has come
  // and gone, and no event would end the wait below: the handler waited for ever, its host's request with it.
  if (request.destroyed) return Promise.reject(closedBeforeItsEnd());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stopListening = () => request.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total <= limitBytes) return void chunks.push(chunk);
      stopListening();
      request.resume();
      resolve(undefined);
    };
    const onEnd = () => {
      stopListening();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => {
      stopListening();
      reject(error);
    };
    // Closed before its end: the client went away mid-body.
    const onClose = () => onError(closedBeforeItsEnd());
    request.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** Why a body is not there: the client went away before its end (so no one reads the answer, and no error is logged). */
function closedBeforeItsEnd(): Error {
  return Object.assign(new Error('The request closed before its body ended.'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/** A body Node has received whole: what its buffer holds, or undefined (and dropped) when that is over `limitBytes`. */
function takeBuffered(request: NodeRequest, limitBytes: number): Uint8Array | undefined {
  if (request.readableLength > limitBytes) {
    request.resume();
    return undefined;
  }
  // read() returns the whole buffer as one chunk; null when it is empty.
  const bytes: Buffer | null = request.read();
  return bytes ?? new Uint8Array();
}

/**
 * Writes byokit's answer. `closed.now` is set once the response closed: an Http2ServerResponse has no `destroyed`, and
 * one written to after its stream closed returns false and never drains, so the closing is counted by the close event.
 */
async function send(to: NodeResponse, answer: ByokitResponse, method: string | undefined, closed: { now: boolean }): Promise<void> {
  // An Http2ServerResponse has every method used here, flushHeaders too (which @types/node leaves out of its type).
  const response = to as ServerResponse;
  if (typeof answer.body === 'string') {
    // A whole answer declares its length, as on Fastify and the fetch handler: Node would send it chunked, and an
    // HTTP/1.0 client (or proxy) could then not keep the connection. Not on HEAD: its length would be GET's body's.
    if (method !== 'HEAD') response.setHeader('content-length', Buffer.byteLength(answer.body));
    response.writeHead(answer.status, answer.headers).end(answer.body);
    return;
  }
  response.writeHead(answer.status, answer.headers).flushHeaders();
  for await (const chunk of answer.body) {
    // Gone, or ended by the host mid-stream: leaving the loop ends the stream, and its usage is recorded so far.
    if (closed.now || response.destroyed || response.writableEnded) break;
    if (!response.write(chunk)) await drainedOrClosed(response);
  }
  if (!response.writableEnded) response.end();
}

/**
 * Waits for room in the socket buffer, or for the client to go away, whichever comes first; each takes the other's
 * listener with it (a 'close' listener left per full buffer piles up to MaxListenersExceededWarning).
 */
export function drainedOrClosed(response: NodeResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done).off('close', done);
      resolve();
    };
    response.once('drain', done).once('close', done);
  });
}
