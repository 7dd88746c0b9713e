/**
 * @byokit/core/node: byokit's /v2 routes on Node's own `http` server, and the base of the framework adapters.
 */
export { createNodeHandler } from './node-handler.js';
export type { NodeHandler, NodeHandlerOptions, NodeRequest, NodeResponse } from './node-handler.js';
