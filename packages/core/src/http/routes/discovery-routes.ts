import { z } from 'zod';
import { normalisePrefix } from '../mount-prefix.js';
import { openApiDocument, type OpenApiDocument, type OpenApiOptions } from '../openapi.js';
import { defineRoute, type Route } from '../route.js';

/** The OpenAPI document's outline, as the route declares its answer. */
const openApiBody = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

/**
 * `routes` and `GET /openapi.json` (spec/http-api.md, "Discovery"), which describes all of them, itself
 * included. The document is made from this very list, so a route added to it is described without more ado;
 * it is made once, at the first request (not at start-up, which it would slow), and the same object is
 * answered every time, so every answer has the same bytes.
 *
 * Public: an API description holds nothing secret (routes and schemas, as in the published source), and tools
 * (Swagger UI, client generators) fetch it before they have any credential.
 */
export function withOpenApiRoute(options: OpenApiOptions, routes: readonly Route<any, any, any>[]): Route<any, any, any>[] {
  // The document is made on its first request; its prefix is checked now, so that a bad one fails at start-up.
  normalisePrefix(options.prefix ?? '/v2');
  let document: OpenApiDocument | undefined;
  const all: Route<any, any, any>[] = [...routes];
  all.push(
    defineRoute({
      method: 'GET',
      path: '/openapi.json',
      access: 'public',
      summary: 'This API described in OpenAPI 3.1, generated from the schemas that validate each request. No auth needed.',
      response: openApiBody,
      handle: async () => ({ body: (document ??= openApiDocument(all, options)) }),
    }),
  );
  return all;
}
