import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { ErrorBodyFormat } from './error-response.js';
import type { Principal } from './types.js';
import type { Cancellation } from './request-abort.js';

/**
 * Who may call a route: any signed-in `user`, only an `admin`, or anyone (`public`: the host's authenticate is
 * not asked and the handler gets no principal; only for what is not secret, such as the API description).
 */
export type RouteAccess = 'public' | 'user' | 'admin';

/** A header a route's success carries, as the OpenAPI document gives it (an OpenAPI header object). */
export interface RouteHeader {
  description: string;
  /** True when every success carries it. */
  required?: boolean;
  /** Its value, as JSON Schema. */
  schema: Record<string, unknown>;
}

/** An error a route may answer with: its code, and its status where it differs from the code's usual one. */
export type RouteError = ErrorCode | { code: ErrorCode; status: number };

/** What a route's handler receives: the principal and the validated body, query and path parameters. */
export interface RouteContext<Body, Query, Params = Record<string, string>> {
  /** The caller; a `public` route has none and must not read it. */
  principal: Principal;
  body: Body;
  query: Query;
  params: Params;
  requestId: string;
  /** Aborted when the client goes away. */
  signal: Cancellation;
}

/** A route's answer: a JSON body (status 200 unless said otherwise), or a stream of text chunks; extra headers. */
export type RouteResult = { status?: number; headers?: Record<string, string> } & (
  { body: unknown } | { stream: AsyncIterable<string>; contentType: string }
);

/**
 * One route of the /v2 contract. Its zod schemas are the single source of truth: they validate the
 * request, type the handler, and generate the OpenAPI document (openapi.ts).
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
  /** The status of a success when it is not 200 (201 for a creation), for the OpenAPI document. */
  successStatus?: number;
  /** Headers its success carries beyond those of every answer (`x-request-id`), by lower-case name, for the OpenAPI document. */
  successHeaders?: Readonly<Record<string, RouteHeader>>;
  /** When the route can answer with server-sent events instead: the schema of each event's `data`. */
  streamEvent?: z.ZodType;
  /**
   * Errors the route itself may answer with, for the OpenAPI document. Those every route of its kind gives
   * (401; 403 on admin routes; 400, 413 and 415 with a body; 422 on every route, as one without a body refuses
   * a body sent to it) need no listing.
   */
  errors?: readonly RouteError[];
  /** The schema of error bodies when `errorFormat` writes another API's shape, for the OpenAPI document. */
  errorSchema?: z.ZodType;
  /**
   * How this route's errors are written; default: the contract's shape. Used for every error on its path,
   * those found before the route runs (401, 413, 422…) included: the OpenAI-compatible routes answer in
   * OpenAI's shape. The status and headers never change with the format.
   */
  errorFormat?: ErrorBodyFormat;
  handle(context: RouteContext<Body, Query, Params>): Promise<RouteResult>;
}

/** Declares a route with its types inferred from its schemas. */
export function defineRoute<Body = undefined, Query = undefined, Params = Record<string, string>>(
  route: Route<Body, Query, Params>,
): Route<Body, Query, Params> {
  return route;
}
