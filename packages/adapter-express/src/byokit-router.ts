import type { Request, RequestHandler } from 'express';
import { byokitOption, mountSettings, type Authenticate, type Byokit } from '@byokit/core';
import { createNodeHandler } from '@byokit/core/node';

/** Options of {@link byokitRouter}. */
export interface ByokitRouterOptions {
  /** Your auth: the principal behind an Express request, or null when nobody is signed in. */
  authenticate: Authenticate<Request>;
}

/**
 * Express middleware that answers byokit's routes below wherever you mount it (`app.use('/v2', …)`), and
 * passes every other path on to your app (`next()`). It only translates, through core's Node handler (an
 * Express request and response are Node's own); every rule is the core's. Works whether or not your app ran
 * `express.json()` first.
 *
 * @throws TypeError when `byokit` is not the instance createByokit() resolves to (its promise, not awaited), when
 *   `options` is left out, when `options.authenticate` is not a function (left out, or misspelt in plain JavaScript):
 *   thrown where you mount it, rather than every request being answered `500`; and when `options` has another name,
 *   `prefix` say, which Express takes from where you mount the router.
 */
export function byokitRouter(byokit: Pick<Byokit, 'handle'>, options: ByokitRouterOptions): RequestHandler {
  byokitOption(byokit, 'byokitRouter');
  mountSettings(options, 'byokitRouter', '{ authenticate }');
  const handle = createNodeHandler<Request>(byokit, { authenticate: options.authenticate });
  // `{ authenticate, prefix: '/v2' }`, as createNodeHandler takes it, left byokit's routes at the root without a word.
  const unknown = Object.keys(options).find((name) => name !== 'authenticate');
  if (unknown !== undefined) {
    throw new TypeError(
      `byokitRouter has no setting ${unknown}: it takes authenticate (mount it where its routes belong: app.use('/v2', byokitRouter(byokit, { authenticate })))`,
    );
  }
  return (request, response, next) => {
    handle(request, response).then((handled) => handled || next(), next);
  };
}
