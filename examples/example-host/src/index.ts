/**
 * @byokit/example-host: what the Express and Fastify example servers share. Everything here is the host's own
 * side of the user guide (config, users, passwords, tokens, byokit's set-up, the host's routes without a
 * framework); each example server only adds its framework's mounting lines.
 */
export { configFromEnvironment } from './config.js';
export type { ServerConfig } from './config.js';
export { createExampleHost, PREFIX } from './example-host.js';
export { endConnectionsOnStop } from './end-connections.js';
export type { ExampleHost } from './example-host.js';
export {
  ExampleRoutes,
  OWN_ROUTE_BODY_LIMIT_BYTES,
  bodyRefusal,
  errorAnswer,
  hasMediaType,
  otherCharset,
  otherContentCoding,
  internalError,
  notFound,
  wrongMediaType,
} from './example-routes.js';
/** byokit's own rule for `x-request-id`, so that the example's routes and byokit's answer alike. */
export { requestIdOf } from '@byokit/core';
export type { BodyRefusal, ExampleAnswer, RequestHeaders } from './example-routes.js';
export { PAGE_PATHS, STATIC_PATHS, examplePage } from './pages/pages.js';
export type { ExamplePage } from './pages/pages.js';
export { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS, runExampleServer } from './run-server.js';
export type { Listen, ListeningServer } from './run-server.js';
export { UserDirectory } from './users.js';
export type { User } from './users.js';
export { AccessTokens } from './tokens.js';
