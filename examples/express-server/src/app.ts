import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler, type Response } from 'express';
import pino, { type Logger } from 'pino';
import {
  HEADERS_TIMEOUT_MS,
  OWN_ROUTE_BODY_LIMIT_BYTES,
  PREFIX,
  REQUEST_TIMEOUT_MS,
  bodyRefusal,
  STATIC_PATHS,
  createExampleHost,
  endConnectionsOnStop,
  examplePage,
  hasMediaType,
  otherCharset,
  otherContentCoding,
  internalError,
  notFound,
  requestIdOf,
  wrongMediaType,
  type ExampleAnswer,
  type ExampleHost,
  type ExamplePage,
  type ListeningServer,
  type ServerConfig,
} from '@byokit/example-host';
import { byokitRouter } from '@byokit/adapter-express';

/** The example server's parts, returned so tests can reach them. */
export interface ExampleApp extends ExampleHost {
  app: express.Express;
}

/**
 * The user guide's server on Express: the host's own routes (signup, login, `GET /users/me`, shared with
 * the Fastify example in @byokit/example-host) and byokit's routes mounted below `/v2`. byokit never sees
 * passwords.
 */
export async function createExampleApp(config: ServerConfig, logger: Logger = pino({ level: config.logLevel })): Promise<ExampleApp> {
  const host = await createExampleHost(config, logger);
  const { routes } = host;

  const app = express();
  app.disable('x-powered-by');
  // Every answer here is no-store, so an ETag serves no cache; and the Fastify example sends none.
  app.disable('etag');
  // Paths are matched as written, as byokit's routes and Fastify's are: /v2/users/ME is not /v2/users/me.
  app.enable('case sensitive routing');
  app.use(assignRequestId);

  app.post(
    `${PREFIX}/users/signup`,
    requireMediaType('application/json'),
    // Not strict: a JSON text that is not an object (`5`, `"x"`, `null`) is JSON all the same, and the route's
    // schema refuses it with 422, as core and Fastify's parser do; body-parser's strict mode called it invalid.
    express.json({ limit: OWN_ROUTE_BODY_LIMIT_BYTES, verify: refuseEmptyBody, strict: false }),
    async (request, response) => {
      const { requestId } = response.locals;
      // No body at all (neither Content-Length nor Transfer-Encoding): body-parser leaves it undefined.
      send(response, request.body === undefined ? bodyRefusal('invalid_json', requestId) : await routes.signup(request.body, requestId));
    },
  );
  app.post(
    `${PREFIX}/login/access-token`,
    requireMediaType('application/x-www-form-urlencoded'),
    // No count of fields beside the byte limit (body-parser's own stops at 1,000: a `413` thrown as an error this
    // app answered with a 500), as the Fastify example reads every field: a form of 8 KB has fewer than 8,192.
    express.urlencoded({ extended: false, limit: OWN_ROUTE_BODY_LIMIT_BYTES, parameterLimit: OWN_ROUTE_BODY_LIMIT_BYTES }),
    async (request, response) => send(response, await routes.login(request.body, response.locals.requestId)),
  );
  app.get(`${PREFIX}/users/me`, async (request, response) => send(response, await routes.me(request.headers, response.locals.requestId)));

  // The guide's pages (/profile, /language-models, /language-models/billing) and their script and style sheet.
  for (const path of STATIC_PATHS) app.get(path, (_request, response) => sendPage(response, examplePage(path)));

  // The mounting lines: byokit below the prefix, then a 404 in the contract's shape for what nothing answered,
  // inside the prefix or out of it (Express's own 404 is an HTML page; the Fastify example's is this one too).
  app.use(PREFIX, byokitRouter(host.byokit, { authenticate: (request) => host.authenticate(request.headers) }));
  app.use((_request, response) => send(response, notFound(response.locals.requestId)));
  app.use(handleError(logger));

  return { ...host, app };
}

/** Starts the Express example on `config.port`: what `npm start` runs, and the tests. */
export async function listen(config: ServerConfig, logger: Logger): Promise<ExampleApp & ListeningServer> {
  const example = await createExampleApp(config, logger);
  const server = example.app.listen(config.port);
  try {
    await once(server, 'listening');
  } catch (error) {
    await example.closeUnstarted();
    throw error;
  }
  example.listening();
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  const endConnections = endConnectionsOnStop(server);
  return {
    ...example,
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      endConnections();
      await closed;
      await example.close();
    },
  };
}

const assignRequestId: RequestHandler = (request, response, next) => {
  response.locals.requestId = requestIdOf(request.headers);
  response.set('x-request-id', response.locals.requestId);
  next();
};

/**
 * The Content-Type header, whether or not a body came with it: Express's `request.is` answers null for a request
 * without a body, which would call a bodiless login form the wrong media type (the Fastify example's rule too).
 */
function requireMediaType(type: string): RequestHandler {
  return (request, response, next) => {
    const { requestId } = response.locals;
    const contentType = request.headers['content-type'];
    if (!hasMediaType(contentType, type)) return send(response, wrongMediaType(type, requestId));
    const refusal = otherCharset(contentType, requestId) ?? otherContentCoding(request.headers['content-encoding'], requestId);
    return refusal ? send(response, refusal) : next();
  };
}

/**
 * An empty JSON body is not JSON: core refuses it with 400 invalid_json, as Fastify's parser does. body-parser
 * would take it for `{}`; thrown with its parse error's type, it is answered by `handleError` below.
 */
function refuseEmptyBody(_request: unknown, _response: unknown, body: Buffer): void {
  if (body.length === 0) throw Object.assign(new Error('The request body is empty.'), { type: 'entity.parse.failed' });
}

function send(response: Response, answer: ExampleAnswer): void {
  response.status(answer.status).set(answer.headers).json(answer.body);
}

function sendPage(response: Response, page: ExamplePage): void {
  response.status(page.status).set(page.headers).send(page.body);
}

/** body-parser's errors in the contract's shape; anything else is logged and answered as `internal_error`. */
function handleError(logger: Logger): ErrorRequestHandler {
  return (error, _request, response, _next) => {
    const requestId: string = response.locals.requestId;
    const type = (error as { type?: string }).type;
    if (type === 'entity.parse.failed') return send(response, bodyRefusal('invalid_json', requestId));
    if (type === 'entity.too.large') return send(response, bodyRefusal('payload_too_large', requestId));
    if (type === 'charset.unsupported' || type === 'encoding.unsupported')
      return send(response, bodyRefusal('unsupported_encoding', requestId));
    logger.error({ requestId, error: String(error) }, 'request failed');
    send(response, internalError(requestId));
  };
}
