/**
 * @byokit/adapter-fastify: byokit's /v2 routes as an encapsulated Fastify plugin.
 *
 * ```ts
 * await app.register(byokitPlugin, { byokit, authenticate: (request) => yourSession(request), prefix: '/v2' });
 * ```
 */
export { byokitPlugin } from './byokit-plugin.js';
export type { ByokitPluginOptions } from './byokit-plugin.js';
