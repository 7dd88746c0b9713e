import { Readable } from 'node:stream';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest, preParsingHookHandler } from 'fastify';
import {
  authenticateOption,
  byokitOption,
  ByokitError,
  RequestAbort,
  type Authenticate,
  type Byokit,
  type ByokitRequest,
} from '@byokit/core';
import { originForm, writtenWhole } from '@byokit/core/node';

/** Options of {@link byokitPlugin}; Fastify's own `prefix` says where the routes are mounted. */
export interface ByokitPluginOptions {
  /** The byokit instance whose routes to answer (`createByokit(…)`). */
  byokit: Pick<Byokit, 'handle'>;
  /** Your auth: the principal behind a Fastify request, or null when nobody is signed in. */
  authenticate: Authenticate<FastifyRequest>;
  /**
   * Largest request body, in bytes, on byokit's routes; default: your server's `bodyLimit` (Fastify's default
   * is 1 MiB). byokit's own per-route limits (8 KiB for keys, 2 MiB for chat…) apply within it, so raise it to
   * `MAX_BODY_BYTES` (from `@byokit/core`) to accept every chat body Express would.
   */
  bodyLimit?: number | undefined;
}

/** Fastify's refusals of a request body or its media type, made before any handler runs. */
const BODY_REFUSALS = new Set(['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE']);

/**
 * byokit's /v2 routes as an encapsulated Fastify plugin:
 *
 * ```ts
 * import { byokitPlugin } from '@byokit/adapter-fastify';
 *
 * await app.register(byokitPlugin, { byokit, authenticate: (request) => yourSession(request), prefix: '/v2' });
 * ```
 *
 * It only translates between Fastify's request and reply and `byokit.handle`; every rule is the core's, so
 * status, headers and body are the same as on every other adapter.
 *
 * - Encapsulated: its body parser, error handler and route live in the plugin's own context; your app's JSON
 *   parser, error handler and other routes are untouched.
 * - Paths that are not byokit's go to Fastify's not-found handling (`reply.callNotFound()`), so your own 404
 *   handler answers them; your routes under the same prefix answer before byokit's catch-all.
 * - The body reaches byokit unread, so that its per-route limits and the order of its checks (401 before 413)
 *   hold; your `bodyLimit` still caps it, and a body over it is refused with byokit's `413 payload_too_large`.
 * - Streamed answers (server-sent events) are piped chunk by chunk, with backpressure; a client that goes away
 *   aborts the request's signal, so the provider call stops too.
 *
 * Why through Fastify's request and reply rather than `reply.hijack()` and core's Node handler: a hijacked
 * reply skips your `onSend` and `onResponse` hooks and Fastify's request logging, which a Fastify host expects
 * to see on every route; `reply.send()` of a string or a stream already writes exactly what core answers.
 *
 * @throws Registration (`app.register`, or `app.ready()` after it) rejects with a `TypeError` when
 *   `options.authenticate` is not a function or `options.byokit` is not what `createByokit` resolved to (its
 *   promise, not awaited, say).
 */
export const byokitPlugin: FastifyPluginAsync<ByokitPluginOptions> = async (fastify, options) => {
  const { bodyLimit } = options;
  // Checked at registration: left out, every request would be answered 500 with nothing logged by default.
  const authenticate = authenticateOption<FastifyRequest>(options.authenticate);
  const byokit = byokitOption(options.byokit, 'byokitPlugin', { setting: true });
  // Fastify's own `prefix` (and any prefix of the plugins around this one) is where byokit's paths start.
  // Fastify matches it decoded (`/café` for a client's `/caf%C3%A9`) but not a `%2F`, so in the URL as sent it is as
  // many path segments, whatever their spelling: its length, taken before, cut `/caf%C3%A9/v2/…` in the wrong place.
  const prefixSegments = fastify.prefix.replace(/\/+$/, '').split('/').length - 1;

  // In this plugin's context only: every body is left unread for byokit, whose schemas and limits decide.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const answered = new WeakSet<FastifyRequest>();
  // The body after the host's preParsing hooks (@fastify/compress inflates it there), for where Fastify refuses a
  // malformed Content-Type before parsing it and byokit answers from the error handler: that body is dropped too.
  const payloads = new WeakMap<FastifyRequest, Readable>();
  const keepPayload: preParsingHookHandler = (request, _reply, payload, done) => {
    payloads.set(request, payload);
    done(null, payload);
  };

  async function answer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    answered.add(request);
    const aborted = new RequestAbort();
    let replied = false;
    // byokit's stream, once handed to Fastify: its answer is whole only once the stream has ended.
    let streamed: Readable | undefined;
    reply.raw.once('close', () => {
      if (replied && writtenWhole(reply.raw) && (streamed === undefined || streamed.readableEnded)) return;
      // Closed before byokit's answer went out whole: the client went away, or the host answered itself (its error
      // handler's answer, say, to its own code that threw as the stream's head was written).
      request.log.debug('byokit: the client went away before the answer was complete; aborting the provider call');
      aborted.abort();
    });
    const payload = payloadOf(request, payloads.get(request));
    // The wildcard route matched, so the URL is the prefix, a slash, then byokit's path and query (once a target in
    // absolute form, `http://host/v2/…`, which Fastify routes by its path, is its path). A target core does not take
    // as a path (one naming a user: `http://user:secret@host/v2/…`) is no route of byokit's.
    const target = originForm(request.url);
    const response = !target.startsWith('/')
      ? undefined
      : await byokit.handle({
          method: request.method,
          url: belowPrefixSegments(target, prefixSegments),
          headers: request.headers,
          body: bodyOf(request, payload),
          authenticate: () => authenticate(request),
          signal: aborted,
        });
    // What byokit left unread (the rest of a body over a limit, a body refused before it was read: 401, 415…) is read
    // and dropped, never kept, as core's Node handler does, or the keep-alive connection hangs. Node drops a request
    // left unread itself, but not one a host's preParsing hook has piped on: @fastify/compress inflates every body,
    // and its inflater, which no one reads, stops taking from the socket.
    if (!payload.readableEnded) payload.resume();
    if (response === undefined) {
      replied = true;
      reply.callNotFound();
      return reply;
    }
    if (reply.sent || reply.raw.headersSent) {
      // The host answered meanwhile (its own timeout, say): through the reply, or on reply.raw (its head out, the rest
      // to come), or took the reply over (reply.hijack(): sent, nothing written yet). Its answer stands, byokit's is
      // dropped unsent, and a stream is ended unread, recorded as aborted (the abort does it), as for a client gone.
      aborted.abort();
      return reply;
    }
    replied = true;
    reply.code(response.status).headers(response.headers);
    // An empty body (core's answer to HEAD) is sent as none: of '' Fastify would say `content-length: 0`, which on
    // HEAD claims GET's body is empty (RFC 9110 §8.6); with none it leaves the length out.
    if (typeof response.body === 'string') return response.body === '' ? reply.send() : reply.send(response.body);
    // Fastify pipes a stream as its chunks come, waiting on the socket when it is full. It sets the head with
    // setHeader, which Node sends only with the first chunk: send it as soon as the piping starts, so the client
    // has the status while the provider is still thinking (as on every other adapter).
    reply.raw.once('pipe', () => reply.raw.flushHeaders());
    // The stream says `cache-control: no-transform`, which @fastify/compress does not read: it leaves a stream alone
    // only while its types leave out text/event-stream (its default), and gzip would hold every chunk until the
    // end. Its one per-answer opt-out is this request header, read in its onSend hook, after this handler. Set on the
    // raw headers, which request.headers shows even where a hook has assigned request.headers anew.
    if (noTransform(response.headers)) request.raw.headers['x-no-compression'] = 'no-transform';
    streamed = Readable.from(response.body, { objectMode: false });
    return reply.send(streamed);
  }

  // Fastify refuses a malformed Content-Type before any handler runs, in its own error shape. On byokit's
  // routes the core decides instead (after auth, in the contract's shape), as on every other adapter; any
  // other error goes on to your error handler.
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (BODY_REFUSALS.has(error.code) && !answered.has(request) && !reply.sent) return answer(request, reply);
    throw error;
  });

  fastify.route({
    method: fastify.supportedMethods,
    url: '/*',
    ...(bodyLimit !== undefined && { bodyLimit }),
    // Run after the host's preParsing hooks: route hooks follow the app's, and @fastify/compress puts its own first.
    preParsing: keepPayload,
    handler: answer,
  });
};

/**
 * The body, unread: the stream the plugin's parser passed on (after every `preParsing` hook), else the one its
 * route's hook kept (a malformed Content-Type Fastify refused before parsing), else the raw request.
 */
const payloadOf = (request: FastifyRequest, kept: Readable | undefined): Readable =>
  request.body instanceof Readable ? request.body : (kept ?? request.raw);

/** The body's bytes as byokit reads them, held to the route's Fastify `bodyLimit`. */
function bodyOf(request: FastifyRequest, payload: Readable): ByokitRequest['body'] {
  const declared = Number(request.headers['content-length']);
  return { kind: 'stream', stream: withinLimit(payload, request.routeOptions.bodyLimit, Number.isFinite(declared) ? declared : 0) };
}

/**
 * The body's bytes, refused with byokit's `payload_too_large` past `limitBytes`. byokit reads a body only after
 * auth and only up to its route's own limit, which is usually the smaller: then this never fires and the
 * answer is the core's, byte for byte.
 *
 * The piece that crosses the limit is still passed on, and the refusal comes when more is asked for: when the
 * route's limit is the same (chat's 2 MiB under a 2 MiB `bodyLimit`) or smaller, byokit sees the crossing
 * piece and refuses in its own words, as on every other adapter; only a body within the route's limit but over
 * this one gets this refusal. At most one piece past the limit is read.
 */
async function* withinLimit(payload: Readable, limitBytes: number, declaredBytes: number): AsyncGenerator<Uint8Array> {
  if (declaredBytes > limitBytes) throw tooLarge(limitBytes);
  let total = 0;
  // Not destroyed when byokit stops reading early: a request destroyed so leaves its socket paused mid-body, and the
  // keep-alive connection hung, the next request on it never read (nor `app.close()` ever done). The rest is read
  // and dropped once byokit has answered (in `answer`).
  for await (const chunk of payload.iterator({ destroyOnReturn: false })) {
    total += chunk.byteLength;
    yield chunk;
    // Asked for more with the limit passed: the route's own limit is the larger one.
    if (total > limitBytes) throw tooLarge(limitBytes);
  }
}

const tooLarge = (limitBytes: number) =>
  new ByokitError('payload_too_large', `The request body is larger than this server accepts (${limitBytes} bytes).`);

/** Whether an answer's `cache-control` forbids transforming it (RFC 9111 §5.2.2.6), compression included. */
const noTransform = (headers: Record<string, string>) => /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(headers['cache-control'] ?? '');

/**
 * The target after its first `segments` path segments (`/caf%C3%A9/v2/llm-models?x`, 2 → `/llm-models?x`); a query or
 * a fragment ends the path.
 */
function belowPrefixSegments(target: string, segments: number): string {
  let end = 0;
  for (let segment = 0; segment < segments; segment++) {
    const next = target.slice(end + 1).search(/[/?#]/);
    end = next === -1 ? target.length : end + 1 + next;
  }
  return target.slice(end);
}
