/**
 * @byokit/adapter-express: byokit's /v2 routes as an Express router.
 *
 * ```ts
 * app.use('/v2', byokitRouter(byokit, { authenticate: (request) => yourSession(request) }));
 * ```
 */
export { byokitRouter } from './byokit-router.js';
export type { ByokitRouterOptions } from './byokit-router.js';
