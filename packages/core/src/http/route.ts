import type { z } from 'zod';
import type { Principal } from './types.js';

/** Who may call a route. */
export type RouteAccess = 'user' | 'admin';

/** What a route's handler receives: the principal and the validated body, query and path parameters. */
export interface RouteContext<Body, Query, Params = Record<string, string>> {
  principal: Principal;
  body: Body;
  query: Query;
  params: Params;
  requestId: string;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** A route's answer: a JSON body (status 200 unless said otherwise), or a stream of text chunks; extra headers. */
export type RouteResult = { status?: number; headers?: Record<string, string> } & (
  { body: unknown } | { stream: AsyncIterable<string>; contentType: string }
);

/**
 * One route of the /v2 contract. Its zod schemas are the single source of truth: they validate the
 * request, type the handler, and (later) generate the OpenAPI document.
 */
export interface Route<Body = unknown, Query = unknown, Params = Record<string, string>> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the prefix, `:name` for a parameter (`/llm-models/:id`); a trailing slash is optional when matching. */
  path: string;
  access: RouteAccess;
  summary: string;
  body?: z.ZodType<Body>;
  /** Largest body accepted, in bytes; required with `body`. */
  bodyLimitBytes?: number;
  query?: z.ZodType<Query>;
  params?: z.ZodType<Params>;
  response: z.ZodType;
  handle(context: RouteContext<Body, Query, Params>): Promise<RouteResult>;
}

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<Body = undefined, Query = undefined, Params = Record<string, string>>(
  route: Route<Body, Query, Params>,
): Route<Body, Query, Params> {
  return route;
}
