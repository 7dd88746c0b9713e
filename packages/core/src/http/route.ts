import type { z } from 'zod';
import type { Principal } from './types.js';

/** Who may call a route. */
export type RouteAccess = 'user' | 'admin';

/** What a route's handler receives: the principal and the validated body and query. */
export interface RouteContext<Body, Query> {
  principal: Principal;
  body: Body;
  query: Query;
  requestId: string;
}

/** A route's answer: a JSON-serialisable body, status 200 unless said otherwise. */
export interface RouteResult {
  status?: number;
  body: unknown;
}

/**
 * One route of the /v2 contract. Its zod schemas are the single source of truth: they validate the
 * request, type the handler, and (later) generate the OpenAPI document.
 */
export interface Route<Body = unknown, Query = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the prefix; a trailing slash is optional when matching. */
  path: string;
  access: RouteAccess;
  summary: string;
  body?: z.ZodType<Body>;
  /** Largest body accepted, in bytes; required with `body`. */
  bodyLimitBytes?: number;
  query?: z.ZodType<Query>;
  response: z.ZodType;
  handle(context: RouteContext<Body, Query>): Promise<RouteResult>;
}

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<Body = undefined, Query = undefined>(route: Route<Body, Query>): Route<Body, Query> {
  return route;
}
