import { z } from 'zod';
// The document's default version is the package's: the build inlines this one field, not the whole file.
import { version as packageVersion } from '../../package.json';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';
import { PROVIDERS } from '../keys/providers.js';
import { contractErrorBody, INTERNAL_CODES } from './error-response.js';
import { normalisePrefix } from './mount-prefix.js';
import type { Route, RouteError } from './route.js';
import { componentRef, jsonSchemaAlone, jsonSchemaComponents, type JsonSchema } from './json-schema-components.js';

/** How the OpenAPI document describes the API. */
export interface OpenApiOptions {
  /** Where the host mounted byokit, the document's one server (`servers: [{ url: prefix }]`). Default `/v2`. */
  prefix?: string | undefined;
  /** `info.title`. Default `byokit`. */
  title?: string | undefined;
  /** `info.version`, the version of this API description. Default: the version of @byokit/core. */
  version?: string | undefined;
}

/** An OpenAPI 3.1 document as plain data, ready for `JSON.stringify`. */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string; description: string }>;
  security: Array<Record<string, string[]>>;
  paths: Record<string, Record<string, JsonSchema>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
    headers: Record<string, JsonSchema>;
    parameters: Record<string, JsonSchema>;
  };
}

const ERROR_SCHEMA = 'Error';
const schemaRef = (name: string) => ({ $ref: componentRef(name) });

/** The error codes a client can see: internal ones are answered as `internal_error` (error-response.ts). */
const PUBLIC_CODES = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => code === 'internal_error' || !INTERNAL_CODES.has(code));

/** The contract's error body, as `contractErrorBody` writes it (spec/http-api.md, errors). */
const contractError = z
  .object({
    error: z.object({
      code: z.enum(PUBLIC_CODES as [ErrorCode, ...ErrorCode[]]).describe('Stable: switch on it, never on the message.'),
      message: z.string().describe('What to fix, for people; never a key, never a stack trace.'),
      provider: z.enum(PROVIDERS).optional(),
      key_source: z.enum(['user', 'system']).optional().describe('Whose key the provider refused.'),
      issues: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe('With validation_failed: every field that is wrong.'),
      request_id: z.string().describe('The x-request-id of the answer: quote it when reporting a problem.'),
    }),
  })
  .describe('Every error of the contract has this shape.');

/** Errors every route of a kind can give, whether or not it lists them (see `Route.errors`). */
function kindErrors(route: Route<any, any, any>): RouteError[] {
  const errors: RouteError[] = [];
  if (route.access !== 'public') errors.push('unauthenticated');
  if (route.access === 'admin') errors.push('forbidden');
  if (route.body) errors.push('invalid_json', 'payload_too_large', 'unsupported_media_type');
  // A body its schema refuses, a query or path it refuses, or a body sent to a route that takes none.
  errors.push('validation_failed');
  return errors;
}

/** `GET` + `/llm-models/:id` → `getLlmModelsById`: unique, since a method and path are. */
export function operationIdOf(route: Route<any, any, any>): string {
  const words = route.path
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => (segment.startsWith(':') ? ['by', ...segment.slice(1).split(/[^A-Za-z0-9]+/)] : segment.split(/[^A-Za-z0-9]+/)))
    .filter(Boolean);
  return [route.method.toLowerCase(), ...words.map((word) => word[0]!.toUpperCase() + word.slice(1))].join('');
}

/** `/llm-models/:id` → `/llm-models/{id}`. */
export function openApiPath(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** A request schema's properties as OpenAPI parameters (`in: query` or `in: path`). */
function parametersOf(schema: JsonSchema | undefined, where: 'query' | 'path'): JsonSchema[] {
  const properties = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' && { description }),
      schema: propertySchema,
    };
  });
}

const describeCodes = (codes: readonly string[]) => codes.map((code) => `\`${code}\``).join(', ');

/**
 * The OpenAPI 3.1 document of `routes`, generated from the zod schemas that validate them: request schemas as
 * the requests are read (`io: 'input'`), response schemas as the answers are written (`io: 'output'`).
 *
 * - Paths are relative to the one server, the mount prefix, as in the contract (`servers: [{ url: '/v2' }]`).
 * - Every operation but the public ones needs the host's auth (`bearer`, the host's own scheme); admin-only
 *   ones say so in `x-byokit-access: admin` and in their description.
 * - A route that can stream also lists `text/event-stream`, whose schema is one event: its `data` is a chunk,
 *   a last error, or `[DONE]`.
 * - Errors are listed by status with the codes each can carry; `default` covers the rest (405, 500, 503).
 */
export function openApiDocument(routes: readonly Route<any, any, any>[], options: OpenApiOptions = {}): OpenApiDocument {
  const inputs = new Map<z.ZodType, string>();
  const outputs = new Map<z.ZodType, string>([[contractError, ERROR_SCHEMA]]);
  const nameOf = (map: Map<z.ZodType, string>, schema: z.ZodType, name: string) => {
    if (!map.has(schema)) map.set(schema, name);
    return map.get(schema)!;
  };
  const alone = new Map<z.ZodType, JsonSchema>();
  const parameterSchema = (schema: z.ZodType) => {
    if (!alone.has(schema)) alone.set(schema, jsonSchemaAlone(schema, 'input'));
    return alone.get(schema)!;
  };

  // First pass: name every body, response and event schema (the first route using one names it).
  const planned = routes.map((route) => {
    const operationId = operationIdOf(route);
    const base = operationId[0]!.toUpperCase() + operationId.slice(1);
    return {
      route,
      body: route.body && nameOf(inputs, route.body, `${base}Request`),
      response: nameOf(outputs, route.response, `${base}Response`),
      event: route.streamEvent && nameOf(outputs, route.streamEvent, `${base}Event`),
      error: route.errorSchema && nameOf(outputs, route.errorSchema, `${base}Error`),
    };
  });

  const paths: OpenApiDocument['paths'] = {};
  for (const { route, body, response, event, error } of planned) {
    const ownErrorShape = route.errorFormat !== undefined && route.errorFormat !== contractErrorBody;
    const errorSchema = ownErrorShape
      ? error
        ? schemaRef(error)
        : { type: 'object', description: "An error in this route's own API's shape." }
      : schemaRef(ERROR_SCHEMA);
    const responses: Record<string, JsonSchema> = {};
    const successContent: Record<string, JsonSchema> = { 'application/json': { schema: schemaRef(response) } };
    if (event) {
      successContent['text/event-stream'] = {
        schema: {
          type: 'object',
          description: 'One server-sent event, `data: <JSON>` on the wire.',
          required: ['data'],
          properties: { data: { anyOf: [schemaRef(event), errorSchema, { const: '[DONE]' }] } },
        },
      };
    }
    responses[String(route.successStatus ?? 200)] = {
      description: event
        ? 'Success: JSON, or when the request asks to stream (`stream: true`), server-sent events: chunks, then `data: [DONE]`; an error after the stream began is a last error event instead of `[DONE]`. While the provider is silent (a model thinking), comment lines (`: keep-alive`) keep the connection alive: SSE clients skip them.'
        : 'Success.',
      headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' }, ...route.successHeaders },
      content: successContent,
    };

    const byStatus = new Map<number, Set<ErrorCode>>();
    for (const entry of [...kindErrors(route), ...(route.errors ?? [])]) {
      const code = typeof entry === 'string' ? entry : entry.code;
      const status = typeof entry === 'string' ? ERROR_STATUS[code] : entry.status;
      byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
    }
    for (const [status, codeSet] of [...byStatus].sort(([a], [b]) => a - b)) {
      const codes = [...codeSet];
      // A provider's failure passes its own delay on, as a rate limit does (providers/upstream-error.ts).
      const waitsAsked = status === 429 || codes.includes('provider_unavailable') || codes.includes('provider_timeout');
      responses[String(status)] = {
        description: `Error: ${describeCodes(codes)}.`,
        headers: {
          'x-request-id': { $ref: '#/components/headers/RequestId' },
          ...(status === 401 && { 'www-authenticate': { $ref: '#/components/headers/WwwAuthenticate' } }),
          ...(waitsAsked && { 'retry-after': { $ref: '#/components/headers/RetryAfter' } }),
          ...((waitsAsked || codes.includes('provider_error')) && { 'x-should-retry': { $ref: '#/components/headers/ShouldRetry' } }),
        },
        content: {
          'application/json': {
            schema: ownErrorShape
              ? errorSchema
              : { allOf: [errorSchema], type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } },
          },
        },
      };
    }
    responses.default = {
      description: 'Any other error: `method_not_allowed` (405), `internal_error` (500), `storage_unavailable` (503).',
      headers: { 'x-request-id': { $ref: '#/components/headers/RequestId' }, allow: { $ref: '#/components/headers/Allow' } },
      content: { 'application/json': { schema: errorSchema } },
    };

    const parameters: JsonSchema[] = [
      ...(route.params ? parametersOf(parameterSchema(route.params), 'path') : []),
      ...(route.query ? parametersOf(parameterSchema(route.query), 'query') : []),
    ];
    // A path parameter the schema does not name is still a parameter of the path (OpenAPI requires each).
    for (const [, name] of route.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
      if (!parameters.some((parameter) => parameter.in === 'path' && parameter.name === name)) {
        parameters.unshift({ name: name!, in: 'path', required: true, schema: { type: 'string' } });
      }
    }

    // What a parameter list cannot say: whether names it does not list are refused (a strict query schema).
    const strictQuery = route.query !== undefined && parameterSchema(route.query).additionalProperties === false;
    const notes = [
      ...(route.access === 'admin' ? ['Admins only: anyone else gets 403 forbidden.'] : []),
      ...(strictQuery ? ['Query parameters other than those listed are refused: 422 validation_failed.'] : []),
      ...(route.query ? ['A query parameter given more than once is refused: 422 validation_failed.'] : []),
      ...(route.body
        ? []
        : ['Takes no request body: one sent (a declared length over 0, or any bytes) is refused: 422 validation_failed.']),
    ];
    const operation: JsonSchema = {
      operationId: operationIdOf(route),
      summary: route.summary,
      ...(notes.length > 0 && { description: [route.summary, ...notes].join(' ') }),
      'x-byokit-access': route.access,
      ...(route.access === 'public' && { security: [] }),
      // Every operation takes the caller's request id (spec/http-api.md, conventions).
      parameters: [...parameters, { $ref: '#/components/parameters/RequestId' }],
      ...(body && {
        requestBody: {
          required: true,
          description: `JSON (UTF-8), at most ${route.bodyLimitBytes} bytes: a larger body is refused with 413 payload_too_large.`,
          content: { 'application/json': { schema: schemaRef(body) } },
        },
      }),
      responses,
    };
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }

  const taken = new Set([...inputs.values(), ...outputs.values()]);
  const prefix = normalisePrefix(options.prefix ?? '/v2');
  return {
    openapi: '3.1.1',
    info: {
      title: options.title ?? 'byokit',
      version: options.version ?? packageVersion,
      description:
        'Bring-your-own-key LLM access: personal and system provider keys, the model catalog, chat completions, usage and budgets. ' +
        'Generated from the zod schemas that validate each request. Paths are relative to the server URL, the prefix the host mounted byokit at. ' +
        'HEAD is answered on every path that has GET, as GET without the body (the same status and headers; RFC 9110 §9.3.2), and is not listed as an operation of its own.',
    },
    servers: [{ url: prefix || '/', description: 'Where the host mounted byokit.' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: { ...jsonSchemaComponents(inputs, 'input', taken), ...jsonSchemaComponents(outputs, 'output', taken) },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            "The host's own auth: byokit asks the host who is calling (its `authenticate(request)`) and never sees passwords. " +
            'Most hosts read an access token from the Authorization header. No principal: 401 unauthenticated; a user on an admin route: 403 forbidden.',
        },
      },
      headers: {
        RequestId: {
          description: 'The request id: the one the client sent when it is sane (`[A-Za-z0-9._:-]{1,128}`), else a new UUID.',
          required: true,
          schema: { type: 'string' },
        },
        Allow: {
          description: 'With 405 `method_not_allowed`: the methods this path takes, `HEAD` right after `GET` (`GET, HEAD, PATCH`).',
          schema: { type: 'string' },
        },
        WwwAuthenticate: {
          description:
            'With 401 `unauthenticated`: `Bearer`, the challenge RFC 9110 §11.6.1 asks of a 401, whatever the host reads to know its caller.',
          required: true,
          schema: { type: 'string', enum: ['Bearer'] },
        },
        RetryAfter: {
          description:
            "Whole seconds to wait before trying again: with a 429, and with a 502 or 504 when the provider's failure said how long to wait.",
          schema: { type: 'integer', minimum: 0 },
        },
        ShouldRetry: {
          description:
            'With `provider_error` when the provider refused the request itself: `false`, as the same request would be refused again; with a 429, 502 or 504 whose `Retry-After` is over 60 s: `false`, a wait for the caller to decide on (the `openai` client, and other Stainless-made SDKs, heed it over their retry of a 5xx or a 429).',
          schema: { type: 'string', enum: ['false'] },
        },
      },
      parameters: {
        RequestId: {
          name: 'x-request-id',
          in: 'header',
          required: false,
          description:
            "An id of the caller's for this request, sent back in the answer's `x-request-id` and kept in byokit's logs and usage records. " +
            'Taken when sane: 1 to 128 of `A-Z a-z 0-9 . _ : -`, and nothing like a provider key; any other is never refused, but replaced by a new UUID.',
          schema: { type: 'string' },
        },
      },
    },
  };
}
