import { Router, type Request, type Response } from 'express';
import type { Authenticate, Byokit, ByokitResponse, RequestBody } from '@byokit/core';

/** Options of {@link byokitRouter}. */
export interface ByokitRouterOptions {
  /** Your auth: the principal behind an Express request, or null when nobody is signed in. */
  authenticate: Authenticate<Request>;
}

/**
 * An Express router that answers byokit's routes below wherever you mount it, and passes every other
 * path on to your app (`next()`). It only translates between Express and byokit's core; every rule is the
 * core's. Works whether or not your app ran `express.json()` first.
 */
export function byokitRouter(byokit: Pick<Byokit, 'handle'>, options: ByokitRouterOptions): Router {
  const router = Router();
  router.use(async (request, response, next) => {
    const aborted = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) aborted.abort();
    });
    try {
      const answer = await byokit.handle({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: bodyOf(request),
        authenticate: () => options.authenticate(request),
        signal: aborted.signal,
      });
      if (answer === undefined) return next();
      await send(response, answer);
    } catch (error) {
      next(error);
    }
  });
  return router;
}

/**
 * The body as byokit should read it. A body parser that ran first (express.json(), express.raw()) has spent
 * the stream and left its result in `req.body`: pass that on rather than wait for bytes that never come.
 */
function bodyOf(request: Request): RequestBody {
  if (!request.readableEnded) return { kind: 'stream', stream: request };
  const parsed: unknown = request.body;
  if (parsed === undefined) return { kind: 'none' };
  if (parsed instanceof Uint8Array || typeof parsed === 'string') {
    const bytes = typeof parsed === 'string' ? new TextEncoder().encode(parsed) : parsed;
    return { kind: 'stream', stream: [bytes] };
  }
  return { kind: 'parsed', value: parsed };
}

async function send(response: Response, answer: ByokitResponse): Promise<void> {
  response.status(answer.status).set(answer.headers);
  if (typeof answer.body === 'string') {
    response.end(answer.body);
    return;
  }
  response.flushHeaders();
  for await (const chunk of answer.body) {
    if (response.destroyed) break;
    if (!response.write(chunk)) await drainedOrClosed(response);
  }
  response.end();
}

/** Waits for room in the socket buffer, or for the client to go away, whichever comes first. */
function drainedOrClosed(response: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done).off('close', done);
      resolve();
    };
    response.once('drain', done).once('close', done);
  });
}
