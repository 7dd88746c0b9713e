import type { Byokit } from '../byokit.js';
import { utf8Length } from '../bytes.js';
import { ByokitError } from '../errors.js';
import { assertSettingNames } from '../host-option-checks.js';
import { authenticateOption } from '../http/authenticate-option.js';
import { byokitOption, mountSettings } from '../http/mount-checks.js';
import { errorResponse } from '../http/error-response.js';
import { requestIdOf } from '../http/headers.js';
import { belowPrefix, normalisePrefix } from '../http/mount-prefix.js';
import { RequestAbort } from '../http/request-abort.js';
import type { Authenticate, ByokitResponse, RequestBody } from '../http/types.js';
import { silentLogger } from '../logging/logger.js';
import { dropRest } from './drop-rest.js';

/** The contract's default mount prefix (spec/http-api.md, "Conventions"). */
const DEFAULT_PREFIX = '/v2';

/** Statuses whose response has no body (Fetch standard, "null body status"): `new Response('', …)` throws on them. */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** Options of {@link createFetchHandler}. */
export interface FetchHandlerOptions {
  /** Your auth: the principal behind a fetch `Request`, or null when nobody is signed in. */
  authenticate: Authenticate<Request>;
  /**
   * Where byokit's routes are, in the request URL's path: `/v2` (the default) serves `/v2/llm-models/` and
   * so on; `''` serves them from the root. Fetch hosts hand over the whole URL, so the prefix is always
   * stripped here, whatever path the framework matched.
   */
  prefix?: string | undefined;
  /**
   * What a request byokit has no route for (outside the prefix, or an unknown path below it) gets.
   * `false` (the default): a `404 not_found` in the contract's error shape, so the handler always answers.
   * `true`: the handler resolves `undefined`, having read nothing, so the host's own routes may answer it.
   */
  fallThrough?: boolean | undefined;
}

/** A standard fetch handler: every request gets a `Response`, a 404 in the contract's shape when it is not byokit's. */
export type FetchHandler = (request: Request) => Promise<Response>;

/** A fetch handler made with `fallThrough: true`: `undefined` for a request that is not byokit's. */
export type FallThroughFetchHandler = (request: Request) => Promise<Response | undefined>;

/**
 * byokit's /v2 routes as a standard fetch handler, `(request: Request) => Promise<Response | undefined>`, for every host
 * that speaks web-standard requests: Hono, Next.js route handlers, Bun, Deno, Cloudflare-style workers. It only
 * translates: every rule is `byokit.handle`'s, and it uses nothing but web standards.
 *
 * - The body is read from `request.body` as a stream, held to each route's own limit (413 without reading on).
 *   Mount it before anything reads the body; a `Request` whose body was spent is a host bug (`TypeError`).
 * - `request.signal` aborting (the client went away) aborts the provider call; so does cancelling the
 *   response body, which is what a server does when the client goes away mid-stream.
 * - A streamed answer is a pull-based `ReadableStream`: the next chunk is asked for only when the
 *   server has sent the last one.
 *
 * With `fallThrough: true`, as here, a request that is not byokit's resolves `undefined`, having read nothing, so
 * that the host's own routes below the same prefix answer it:
 *
 * ```ts
 * import { createFetchHandler } from '@byokit/core';
 *
 * const byokitFetch = createFetchHandler(byokit, { authenticate: yourSession, prefix: '/v2', fallThrough: true });
 * app.all('/v2/*', async (c, next) => (await byokitFetch(c.req.raw)) ?? next()); // Hono: your /v2 routes still answer
 * ```
 *
 * With one auth and one prefix, `createByokit({ …, fetchHandler: { authenticate } })` and `byokit.fetch` do the same
 * without this call (and without falling through).
 *
 * @throws TypeError when `byokit` is not the instance createByokit() resolves to (its promise, not awaited), when
 *   `options` is left out, when `options.authenticate` is not a function, or `options.prefix` is neither `''` nor a
 *   path from `/` without `?`, `#` or spaces, or when `options` has a name it does not read (a typo).
 */
export function createFetchHandler(
  byokit: Pick<Byokit, 'handle'>,
  options: FetchHandlerOptions & { fallThrough: true },
): FallThroughFetchHandler;
/**
 * byokit's /v2 routes as a standard fetch handler, `(request: Request) => Promise<Response>`, for hosts that speak
 * web-standard requests (Hono, Next.js route handlers, Bun, Deno): every request gets a `Response`, one that is not
 * byokit's a `404 not_found` in the contract's shape. It only translates: every rule is `byokit.handle`'s.
 *
 * ```ts
 * import { createFetchHandler } from '@byokit/core';
 *
 * const byokitFetch = createFetchHandler(byokit, { authenticate: yourSession, prefix: '/v2' });
 * app.all('/v2/*', (c) => byokitFetch(c.req.raw)); // Hono
 * ```
 *
 * @throws TypeError when `byokit` is not the instance createByokit() resolves to (its promise, not awaited), when
 *   `options` is left out, when `options.authenticate` is not a function, or `options.prefix` is neither `''` nor a
 *   path from `/` without `?`, `#` or spaces, or when `options` has a name it does not read (a typo).
 */
export function createFetchHandler(
  byokit: Pick<Byokit, 'handle'>,
  options: FetchHandlerOptions & { fallThrough?: false | undefined },
): FetchHandler;
/**
 * byokit's /v2 routes as a standard fetch handler, for hosts that speak web-standard requests. With `fallThrough`
 * not known until run time, it may resolve `undefined` for a request that is not byokit's (when it is `true`).
 *
 * @throws TypeError when `byokit` is not the instance createByokit() resolves to (its promise, not awaited), when
 *   `options` is left out, when `options.authenticate` is not a function, or `options.prefix` is neither `''` nor a
 *   path from `/` without `?`, `#` or spaces, or when `options` has a name it does not read (a typo).
 */
export function createFetchHandler(byokit: Pick<Byokit, 'handle'>, options: FetchHandlerOptions): FallThroughFetchHandler;
export function createFetchHandler(byokit: Pick<Byokit, 'handle'>, options: FetchHandlerOptions): FallThroughFetchHandler {
  byokitOption(byokit, 'createFetchHandler');
  mountSettings(options, 'createFetchHandler', '{ authenticate, prefix?, fallThrough? }');
  assertSettingNames('createFetchHandler', options, ['authenticate', 'prefix', 'fallThrough']);
  const prefix = normalisePrefix(options.prefix ?? DEFAULT_PREFIX);
  const authenticate = authenticateOption<Request>(options.authenticate);
  // Read now, with the others: read at each request, a host's options object reused for another mount changed this one.
  const fallThrough = Boolean(options.fallThrough);
  return async (request) => {
    const { pathname, search, username, password } = new URL(request.url);
    // A URL naming a user is no route of byokit's, as originForm leaves such a target on the Node mounts (RFC 9110
    // §4.2.4). A fetch Request cannot hold one, but @hono/node-server's lazy one keeps it, and fails once its body is
    // asked for: a GET to `http://user:secret@host/v2/…` was a 500, the password in the error line.
    const url = username === '' && password === '' ? belowPrefix(pathname + search, prefix) : undefined;
    const answer = url === undefined ? undefined : await answerOf(byokit, request, url, authenticate);
    if (answer !== undefined || fallThrough) return answer;
    return toResponse(notFound(request), request.method);
  };
}

async function answerOf(
  byokit: Pick<Byokit, 'handle'>,
  request: Request,
  url: string,
  authenticate: Authenticate<Request>,
): Promise<Response | undefined> {
  const body = bodyOf(request);
  // Our own controller, not request.signal itself: cancelling the response body must abort too, and some
  // hosts never abort request.signal.
  const aborted = new RequestAbort();
  const abort = () => aborted.abort(request.signal.reason);
  if (request.signal.aborted) abort();
  else request.signal.addEventListener('abort', abort, { once: true });
  const release = () => request.signal.removeEventListener('abort', abort);
  const answer = await byokit.handle({
    method: request.method,
    url,
    headers: request.headers,
    body,
    authenticate: () => authenticate(request),
    signal: aborted,
  });
  if (answer === undefined || typeof answer.body === 'string') {
    release();
    return answer && toResponse(answer, request.method);
  }
  const cancelled = () => {
    aborted.abort();
    release();
  };
  return toResponse(answer, request.method, { cancelled, ended: release });
}

/**
 * The body for byokit to read (and stop reading, at a route's limit). With a declared length, in one read:
 * byokit holds a declared length to the route's limit before it reads a byte, and the server holds the body
 * to its declared length, so the read is bounded; and hosts whose `Request` is lazy (`@hono/node-server`)
 * then answer `arrayBuffer()` straight from the socket, without building a web stream for the body (~40 µs
 * a request, docs/performance.md). Without one (chunked), as a stream, cut off at the limit.
 */
function bodyOf(request: Request): RequestBody {
  if (request.bodyUsed) {
    throw new TypeError(
      "byokit's fetch handler got a Request whose body was already read: mount byokit before anything that reads the body.",
    );
  }
  if (DECLARED_LENGTH.test(request.headers.get('content-length') ?? '')) return { kind: 'stream', stream: wholeBody(request) };
  return { kind: 'stream', stream: chunkedBody(request) };
}

const DECLARED_LENGTH = /^\d{1,15}$/;

/** The body in one piece, read only when byokit asks for it (after auth, and the declared length's check). */
async function* wholeBody(request: Request): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(await request.arrayBuffer());
}

/**
 * A body without a declared length, as its chunks, `request.body` asked for only when byokit reads. On a lazy
 * `Request` (`@hono/node-server`) asking for it pipes the socket into a web stream, which stops taking from the
 * socket once it is full: asked for up front, a body then refused before a byte was read (401, 405, 415) could no
 * longer be dropped by the host, which closed the keep-alive connection instead, the next request on it lost.
 *
 * When byokit stops reading early (past a route's limit; the byte that shows a body on a route that takes none),
 * the rest is read and dropped, up to a bound, and never cancelled (`dropRest`): on a Node bridge, cancelling
 * destroys the request, and with it the connection the refusal was to go out on.
 */
async function* chunkedBody(request: Request): AsyncGenerator<Uint8Array> {
  if (request.body === null) return;
  const reader = request.body.getReader();
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!ended) void dropRest(reader);
  }
}

/** Outside the prefix, or an unknown path below it: the contract's 404, as the example hosts answer it. */
function notFound(request: Request): ByokitResponse {
  return errorResponse(new ByokitError('not_found', 'No such route.'), requestIdOf(request.headers), silentLogger);
}

/** What a streamed body tells its request: cancelled (the client went away mid-stream), or ended. */
interface StreamEvents {
  cancelled(): void;
  ended(): void;
}

const IGNORED: StreamEvents = { cancelled() {}, ended() {} };

/** byokit's answer as a fetch `Response`; `events` hears how a streamed body went. */
function toResponse(answer: ByokitResponse, method: string, events: StreamEvents = IGNORED): Response {
  if (typeof answer.body !== 'string')
    return new Response(readableOf(answer.body, events), { status: answer.status, headers: answer.headers });
  if (NULL_BODY_STATUSES.has(answer.status)) return new Response(null, { status: answer.status, headers: answer.headers });
  // A whole answer declares its length, on every mount (docs/http-api.md, "Framing"): a runtime that serves a
  // Response made from a string does, a bridge over node:http that pipes its stream would not. Not on HEAD: its
  // length would be GET's body's.
  const headers = method === 'HEAD' ? answer.headers : { ...answer.headers, 'content-length': String(utf8Length(answer.body)) };
  return new Response(answer.body, { status: answer.status, headers });
}

/**
 * Text chunks as a byte stream, pulled one by one: with a high-water mark of 0 nothing is read ahead, so a
 * slow client slows the provider stream rather than filling memory. Cancelling it (the server does when the
 * client goes away) aborts the call first, then ends the chunks' iterator, whose `finally` ends the upstream
 * request and records the usage so far as `aborted`.
 */
function readableOf(chunks: AsyncIterable<string>, events: StreamEvents): ReadableStream<Uint8Array> {
  const iterator = chunks[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const left: LeftBody = { iterator, cancelled: events.cancelled };
  const ended = () => {
    leftBodies.unregister(left);
    events.ended();
  };
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const next = await iterator.next();
            if (next.done) {
              ended();
              controller.close();
              return;
            }
            // An empty chunk would be an empty write: some servers take that as the end of a chunked body.
            if (next.value !== '') return controller.enqueue(encoder.encode(next.value));
          }
        } catch (error) {
          ended();
          throw error;
        }
      },
      async cancel() {
        leftBodies.unregister(left);
        events.cancelled();
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  leftBodies.register(readable, left, left);
  return readable;
}

/** What ends a streamed body's call: its chunks, and how its request hears it was cancelled. */
interface LeftBody {
  iterator: AsyncIterator<string>;
  cancelled(): void;
}

/**
 * Ends the call of a streamed body let go of before its end, neither read to it nor cancelled, once the body is
 * garbage, as a cancel would: a host's middleware that answered meanwhile (Hono's `timeout` answers 504 and drops
 * the Response that comes after), its request's signal never aborted. Before, nothing ended it: its chunks not yet
 * begun, its provider connection stayed open (for ever once paused unread), it kept its place among the user's calls
 * at once and its budget hold, left no usage record, and `byokit.close()` never resolved.
 */
const leftBodies = new FinalizationRegistry<LeftBody>(({ iterator, cancelled }) => {
  cancelled();
  void Promise.resolve(iterator.return?.()).catch(() => {});
});
