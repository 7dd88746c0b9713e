import type { z } from 'zod';
import { ByokitError, isByokitError } from '../errors.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import { failureLogger, type Logger } from '../logging/logger.js';
import { baseHeaders, errorResponse } from './error-response.js';
import { requestIdOf } from './headers.js';
import { readJsonBody } from './read-json-body.js';
import { refuseBody } from './refuse-body.js';
import { RequestAbort } from './request-abort.js';
import { kindOfOption } from '../host-option-checks.js';
import { USER_ID_RULE, userIdProblem } from './routes/stored-text.js';
import type { Route } from './route.js';
import type { ByokitRequest, ByokitResponse, Principal } from './types.js';
import { readableParse, schemaIssues, validationFailed } from './validation-error.js';

/** Handles a request below the prefix; resolves `undefined` when no route has that path, so the host's own routes may answer. */
export type RequestHandler = (request: ByokitRequest) => Promise<ByokitResponse | undefined>;

/**
 * The /v2 contract as one framework-free function. Order of checks: route → principal (401) → role
 * (403) → path parameters (422) → body (415, 413, 400; 422 for one sent to a route that takes none) → body, then
 * query, schemas (422) → the route.
 * Every answer, success or error, carries `x-request-id`; every error is mapped to the contract's shape
 * here, once, for all adapters.
 */
export function createRequestHandler(routes: readonly Route<any, any, any>[], logger: Logger): RequestHandler {
  const table = new RouteTable(routes);

  return async (request) => {
    // Asked per request, as a host may change its level while running; a line no one writes is not built.
    const logRequests = logger.isLevelEnabled?.('debug') ?? true;
    const started = logRequests ? performance.now() : 0;
    const url = withoutFragment(request.url);
    const queryStart = url.indexOf('?');
    const path = normalisePath(queryStart === -1 ? url : url.slice(0, queryStart));
    const match = table.match(path);
    if (!match) return undefined;

    const requestId = requestIdOf(request.headers);
    const method = request.method.toUpperCase();
    // HEAD is GET without the body (RFC 9110 §9.3.2), which every general-purpose server must answer (§9.1), as
    // Express and Fastify do for their own GET routes: the GET route runs, checks and all, and its body is dropped.
    const isHead = method === 'HEAD';
    const route = match.methods.get(isHead ? 'GET' : method);
    // Routes of one path share a format; a method it lacks (405) is answered in that format too.
    const errorFormat = (route ?? match.methods.values().next().value)?.errorFormat;
    let response: ByokitResponse;
    try {
      if (!route) {
        const allowed = allowedMethods(match.methods).join(', ');
        const named = HTTP_METHODS.has(method) ? method : 'This method';
        throw Object.assign(new ByokitError('method_not_allowed', `${named} is not allowed here; use ${allowed}.`), { allowed });
      }
      // A public route (the API description) does not ask the host who is calling; its handler never reads the
      // principal, so none is made up for it.
      const principal = route.access === 'public' ? (undefined as unknown as Principal) : await authenticate(request);
      if (route.access === 'admin' && !principal.isAdmin) throw new ByokitError('forbidden', 'This route is for admins only.');
      const params = pathParams(route, match);
      // A route without a body schema takes none: one sent is refused here, for every such route alike.
      const body = route.body
        ? validate(route.body, await readJsonBody(request, route.bodyLimitBytes ?? 0), 'body')
        : await refuseBody(request, queryNames(route));
      const query = route.query
        ? validate(route.query, queryObject(url, queryStart), 'query')
        : refuseBodyFieldsInQuery(route, url, queryStart);
      // A signal of the request's own when the adapter gave none: calls below listen on it, and a signal shared
      // by every request would keep each call's listener for the life of the process. A null one is none, as for `??` below.
      const own = request.signal ? undefined : new RequestAbort();
      const signal = request.signal ?? own!;
      const result = await route.handle({ principal, body, query, params, requestId, signal });
      const headers = Object.assign(baseHeaders(requestId), result.headers);
      if ('stream' in result) {
        headers['content-type'] = result.contentType;
        response = { status: result.status ?? 200, headers, body: own ? abortedWhenLeft(result.stream, own) : result.stream };
      } else {
        response = { status: result.status ?? 200, headers, body: JSON.stringify(result.body) };
      }
    } catch (error) {
      // A client that went away mid-request is no failure of ours, and no one reads this answer: see failureLogger.
      response = errorResponse(error, requestId, failureLogger(logger, request.signal), errorFormat);
      // The 405's own list only: what is thrown may be no object (a host's `reject()`, `throw null`: reading a field of
      // it made handle() reject), or an error of the host's carrying an `allowed` of its own, sent as `Allow` on a 500.
      const allowed = isByokitError(error) && error.code === 'method_not_allowed' ? (error as { allowed?: unknown }).allowed : undefined;
      if (typeof allowed === 'string') response.headers.allow = allowed;
    }
    // GET routes never stream, so a HEAD answer's body is always text, dropped here for every adapter alike.
    if (isHead) response.body = '';
    if (logRequests) {
      logger.debug(
        // The path is the caller's text, and may hold a key pasted in the wrong place (`/llm-models/sk-…`).
        {
          requestId,
          method: scrubSecrets(request.method),
          path: scrubSecrets(path),
          status: response.status,
          durationMs: +(performance.now() - started).toFixed(3),
        },
        'request',
      );
    }
    return response;
  };
}

/**
 * The methods a 405 names back (RFC 9110 §9.3, and PATCH). Any other token is the caller's text, and a fetch host
 * hands it on as sent: a key sent as the method must not echo into the answer.
 */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/**
 * A stream whose adapter gave no signal, ending as a client gone when the adapter ends it before its end (its iterator's
 * `return()`, read or not). Such an adapter has no other way to say it: a stream's generators not yet begun run none of
 * their code when ended, so a chat's stream ended before its first read held its place among the user's calls at once,
 * its provider connection and budget hold, and was never recorded (`byokit.close()` waited for it for good).
 */
function abortedWhenLeft(stream: AsyncIterable<string>, abort: RequestAbort): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator]() {
      const source = stream[Symbol.asyncIterator]();
      let ended = false;
      return {
        next: async () => {
          const step = await source.next();
          if (step.done) ended = true;
          return step;
        },
        return: async (value?: unknown) => {
          if (!ended) abort.abort();
          ended = true;
          return (await source.return?.(value)) ?? { done: true, value: undefined };
        },
      };
    },
  };
}

/** The methods a path takes, for `Allow`: HEAD wherever GET is, right after it. */
function allowedMethods(methods: Map<string, Route<any, any, any>>): string[] {
  return [...methods.keys()].flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]));
}

/** Routes by path: static paths in a map (one lookup), parameterised ones (`/llm-models/:id`) matched by segment. */
class RouteTable {
  readonly #static = new Map<string, Map<string, Route<any, any, any>>>();
  readonly #parameterised: Array<{ segments: string[]; methods: Map<string, Route<any, any, any>> }> = [];

  constructor(routes: readonly Route<any, any, any>[]) {
    for (const route of routes) {
      const path = normalisePath(route.path);
      if (!path.includes('/:')) {
        const methods = this.#static.get(path) ?? new Map();
        this.#static.set(path, methods.set(route.method, route));
        continue;
      }
      const segments = path.split('/');
      let entry = this.#parameterised.find((candidate) => candidate.segments.join('/') === segments.join('/'));
      if (!entry) this.#parameterised.push((entry = { segments, methods: new Map() }));
      entry.methods.set(route.method, route);
    }
  }

  match(path: string): RouteMatch | undefined {
    const methods = this.#static.get(path);
    if (methods) return { methods, params: {} };
    const parts = path.split('/');
    for (const { segments, methods } of this.#parameterised) {
      if (segments.length !== parts.length) continue;
      const match: RouteMatch = { methods, params: {} };
      const matches = segments.every((segment, index) => {
        if (!segment.startsWith(':')) return segment === parts[index];
        const decoded = decodedSegment(parts[index]!);
        if (decoded === undefined) match.undecodable ??= segment.slice(1);
        else match.params[segment.slice(1)] = decoded;
        return parts[index] !== '';
      });
      if (matches) return match;
    }
    return undefined;
  }
}

interface RouteMatch {
  methods: Map<string, Route<any, any, any>>;
  params: Record<string, string>;
  /** The first parameter whose percent-escapes do not decode (`%zz`, `%E0%A4%A`): refused with the path's 422. */
  undecodable?: string;
}

/** A path segment as text; undefined for a malformed escape, which no schema should have to know about. */
function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The path's parameters, checked. A malformed escape is refused here, for every route alike: taken as sent, it
 * would pass a schema that accepts any text (a budget's user id), and a budget would be set for `%E0%A4%A`.
 */
function pathParams(route: Route<any, any, any>, match: RouteMatch): Record<string, string> {
  if (match.undecodable !== undefined) {
    const message = 'Not valid percent-encoding: each % must begin an escape of UTF-8, such as %20.';
    throw validationFailed([{ path: match.undecodable, message }], 'path');
  }
  return route.params ? validate(route.params, match.params, 'path') : match.params;
}

async function authenticate(request: ByokitRequest): Promise<Principal> {
  const principal: unknown = await request.authenticate();
  if (principal === null || principal === undefined) throw new ByokitError('unauthenticated', 'Sign in first: send a valid access token.');
  // The host's authenticate is outside our control; a malformed principal is its bug, not the caller's. A NUL
  // in the id, or one longer than its key table holds, would fail in PostgreSQL's storage only: refused here,
  // for every storage alike. The log says what is wrong, never the id itself. Each field is read once, and the
  // values checked are the ones acted on: a host's object may compute them (getters, a proxy over a session).
  if (typeof principal !== 'object' || Array.isArray(principal))
    throw badPrincipal(`the principal is ${kindOfOption(principal)}, not { userId, isAdmin }`);
  const { userId, isAdmin } = principal as { userId?: unknown; isAdmin?: unknown };
  const problem =
    userIdProblem(userId) ?? (typeof isAdmin === 'boolean' ? undefined : `isAdmin is ${kindOfOption(isAdmin)}, not a boolean`);
  if (problem !== undefined) throw badPrincipal(problem);
  return { userId: userId as string, isAdmin: isAdmin as boolean };
}

function badPrincipal(problem: string): TypeError {
  return new TypeError(
    `authenticate() returned a principal byokit cannot take: ${problem}. It must return { userId: ${USER_ID_RULE}; isAdmin: a boolean } or null.`,
  );
}

function validate<T>(schema: z.ZodType<T>, input: unknown, where: 'body' | 'query' | 'path'): T {
  const result = schema.safeParse(input, readableParse(where));
  if (result.success) return result.data;
  throw validationFailed(schemaIssues(result.error.issues), where);
}

/** The names a route's query takes, to say where a parameter sent in a body belongs. */
function queryNames(route: Route<any, any, any>): string[] {
  return shapeNames(route.query);
}

/** The field names of an object schema; none for any other. */
function shapeNames(schema: z.ZodType | undefined): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * The query as names and values, for a route that reads one. A name given twice is refused, whatever its values:
 * taking the last one silently did what was not asked (`?provider=openai&provider=google` removed Google's key
 * only, `?verify=true&verify=false` saved a key unchecked).
 */
function queryObject(url: string, queryStart: number): Record<string, string> {
  if (queryStart === -1) return {};
  const query = new Map<string, string>();
  const repeated = new Set<string>();
  const undecodable = new Set<string>();
  for (const part of queryParts(url.slice(queryStart + 1))) {
    if ('undecodable' in part) undecodable.add(part.undecodable);
    else if (query.has(part.name)) repeated.add(part.name);
    else query.set(part.name, part.value);
  }
  if (undecodable.size > 0) {
    const message = 'Not valid percent-encoding: each % must begin an escape of UTF-8, such as %20.';
    throw validationFailed(
      [...undecodable].map((name) => ({ path: name, message })),
      'query',
    );
  }
  if (repeated.size > 0) {
    throw validationFailed(
      [...repeated].map((name) => ({ path: name, message: 'Given more than once: send it once.' })),
      'query',
    );
  }
  return Object.fromEntries(query);
}

/**
 * The query's names and values, decoded as URLSearchParams does (`+` is a space), except that a part with an escape
 * that does not decode to UTF-8 (`%zz`, a bare `%`, `%E9`, `%ED%A0%80`) is undecodable, named by its name (decoded
 * if it can be), to be refused as a path parameter's is. URLSearchParams kept `%zz` as sent and made bytes that
 * are not UTF-8 U+FFFD, so that `?user_id=caf%E9` was taken as the user id `caf\uFFFD`.
 */
function queryParts(query: string): Array<{ name: string; value: string } | { undecodable: string }> {
  return query
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const equals = part.indexOf('=');
      const rawName = equals === -1 ? part : part.slice(0, equals);
      const name = decodedQueryPart(rawName);
      const value = decodedQueryPart(equals === -1 ? '' : part.slice(equals + 1));
      return name !== undefined && value !== undefined ? { name, value } : { undecodable: name ?? rawName };
    });
}

function decodedQueryPart(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * Refuses a field of the route's body sent in the query of a route that reads none, with where it goes instead, as a
 * body sent to a route that takes none is refused (refuseBody): ignored, `PATCH /llm-models/{id}?is_active=false`
 * answered 200 with the model still active, and `POST /llm/chat/completions?stream=true` answered unstreamed. Any
 * other name is still ignored there, so that a cache-buster works (docs/http-api.md).
 */
function refuseBodyFieldsInQuery(route: Route<any, any, any>, url: string, queryStart: number): undefined {
  if (queryStart === -1 || !route.body) return undefined;
  const fields = new Set(shapeNames(route.body));
  const misplaced = new Set([...new URLSearchParams(url.slice(queryStart + 1)).keys()].filter((name) => fields.has(name)));
  if (misplaced.size === 0) return undefined;
  throw validationFailed(
    [...misplaced].map((name) => ({ path: name, message: `Send ${name} in the JSON body, not in the query string.` })),
    'query',
  );
}

/**
 * The target without its fragment (`/llm-models?is_active=true#top` → `/llm-models?is_active=true`). A fragment is
 * no part of a request target (RFC 9112 §3.2) and no client sends one, but Node hands on one written by hand, where
 * Express, Fastify and fetch hosts route by what comes before it: taken as part of the path or query, it left
 * byokit's route to the host's 404 (`/users/me/api-key-status#top`) or was refused as a value (`?is_active=true#x`,
 * a model id `<uuid>#x`) on the Node mounts alone.
 */
function withoutFragment(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

/** `/llm-models/` and `/llm-models` are the same route. */
function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
