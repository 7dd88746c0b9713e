/**
 * @byokit/core/node: byokit's /v2 routes on Node's own `http` server, and the base of the framework adapters.
 */
export { createNodeHandler } from './node-handler.js';
export { writtenWhole } from './written-whole.js';
export { originForm } from '../http/mount-prefix.js';
export type { NodeHandler, NodeHandlerOptions } from './node-handler.js';
export type { NodeRequest, NodeResponse } from './written-whole.js';
