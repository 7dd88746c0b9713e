import type { AddressInfo } from 'node:net';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestAsyncHookHandler,
} from 'fastify';
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
  type ExampleRoutes,
  type ListeningServer,
  type ServerConfig,
} from '@byokit/example-host';
import { byokitPlugin } from '@byokit/adapter-fastify';
import { MAX_BODY_BYTES, scrubSecrets } from '@byokit/core';

/** The example server's parts, returned so tests can reach them. */
export interface ExampleApp extends ExampleHost {
  app: FastifyInstance;
}

/**
 * The user guide's server on Fastify: the same host, routes and behaviour as the Express example (all but the
 * mounting lines come from @byokit/example-host), with byokit registered as a plugin below `/v2`.
 */
export async function createExampleApp(config: ServerConfig, logger: Logger = pino({ level: config.logLevel })): Promise<ExampleApp> {
  const host = await createExampleHost(config, logger);

  const app = Fastify({
    // One logger for the host, Fastify's request lines and byokit; a request's id is its x-request-id when sane.
    // (Typed as Fastify's base logger: pino's own type would thread through every route and hook type.)
    loggerInstance: logger.child({}, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    genReqId: (request) => requestIdOf(request.headers),
    requestTimeout: REQUEST_TIMEOUT_MS,
    // `/v2/users/me/` is `/v2/users/me`, as on Express and on byokit's own routes.
    routerOptions: { ignoreTrailingSlash: true },
    // Fastify's router refuses a path that is not valid percent-encoding before any route or plugin runs; it
    // names no route, so it gets the example's 404 in the contract's shape rather than Fastify's own body.
    frameworkErrors: (error, request, reply: FastifyReply) => {
      if (error.code !== 'FST_ERR_BAD_URL') return reply.send(error);
      return send(reply.header('x-request-id', request.id), notFound(request.id));
    },
  });
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;
  app.addHook('onRequest', async (request, reply) => {
    // byokit takes a request's id from this header, and makes one of its own when it is missing or not sane: given
    // Fastify's (the caller's when sane), Fastify's request lines, byokit's own lines and the answer share one id.
    request.headers['x-request-id'] = request.id;
    reply.header('x-request-id', request.id);
  });
  app.setNotFoundHandler((request, reply) => send(reply, notFound(request.id)));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // Fastify reads a body before it finds that no route has the path; Express never reads it: 404 either way.
    if (request.is404) return send(reply, notFound(request.id));
    const refusal = BODY_REFUSALS[error.code];
    if (refusal) return send(reply, bodyRefusal(refusal, request.id));
    request.log.error({ requestId: request.id, error: String(error) }, 'request failed');
    return send(reply, internalError(request.id));
  });

  // The guide's pages (/profile, /language-models, /language-models/billing) and their script and style sheet.
  for (const path of STATIC_PATHS) {
    app.get(path, async (_request, reply) => {
      const page = examplePage(path);
      return reply.code(page.status).headers(page.headers).send(page.body);
    });
  }

  // The mounting lines: the host's own routes, and byokit's beside them.
  await app.register(ownRoutes, { prefix: PREFIX, routes: host.routes });
  await app.register(byokitPlugin, {
    byokit: host.byokit,
    authenticate: (request) => host.authenticate(request.headers),
    prefix: PREFIX,
    // byokit's largest route limit (a chat, 2 MiB): Fastify's default of 1 MiB would refuse some chats Express takes.
    bodyLimit: MAX_BODY_BYTES,
  });

  return { ...host, app };
}

/** Starts the Fastify example on `config.port`: what `npm start` runs, and the tests. */
export async function listen(config: ServerConfig, logger: Logger): Promise<ExampleApp & ListeningServer> {
  const example = await createExampleApp(config, logger);
  const endConnections = endConnectionsOnStop(example.app.server);
  // '::' is every interface, IPv4 too, as Node's (and so Express's) default; Fastify's own default is localhost only.
  try {
    await example.app.listen({ port: config.port, host: '::' });
  } catch (error) {
    await example.app.close();
    await example.closeUnstarted();
    throw error;
  }
  example.listening();
  return {
    ...example,
    port: (example.app.server.address() as AddressInfo).port,
    stop: async () => {
      const closed = example.app.close();
      endConnections();
      await closed;
      await example.close();
    },
  };
}

/**
 * Fastify's request line (its `req`), with the path as byokit's own request line logs it: without the query string,
 * a key in the path redacted. Fastify's own logged the URL as sent, so a password, an access token
 * (`?access_token=`) or a provider key put in a query string was written to the log.
 */
function requestForLog(request: FastifyRequest) {
  const queryStart = request.url.indexOf('?');
  return {
    method: request.method,
    url: scrubSecrets(queryStart === -1 ? request.url : request.url.slice(0, queryStart)),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Fastify's refusals of a body on the host's own routes, as the contract names them. */
const BODY_REFUSALS: Record<string, Parameters<typeof bodyRefusal>[0] | undefined> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_encoding',
};

/** The example's own routes below the prefix; their form parser stays in this plugin. */
async function ownRoutes(app: FastifyInstance, { routes }: { routes: ExampleRoutes }): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, parseForm(body as string)),
  );
  // Fastify's JSON parser refuses a `__proto__` or `constructor.prototype` field as invalid JSON (400); it is valid
  // JSON, which the Express example and byokit's routes refuse as an unknown field (422). Safe to keep here: JSON.parse
  // makes such a field an own property, never a prototype, and the route's strict schema refuses it.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('ignore', 'ignore'));
  const bodyOf = (type: string) => ({ bodyLimit: OWN_ROUTE_BODY_LIMIT_BYTES, onRequest: requireMediaType(type) });

  app.post('/users/signup', bodyOf('application/json'), async (request, reply) =>
    send(reply, await routes.signup(request.body, request.id)),
  );
  app.post('/login/access-token', bodyOf('application/x-www-form-urlencoded'), async (request, reply) =>
    send(reply, await routes.login(request.body, request.id)),
  );
  app.get('/users/me', async (request, reply) => send(reply, await routes.me(request.headers, request.id)));
}

/** Refuses a body of another media type before it is read, as the Express example does. */
function requireMediaType(type: string): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const contentType = request.headers['content-type'];
    if (!hasMediaType(contentType, type)) return send(reply, wrongMediaType(type, request.id));
    const refusal = otherCharset(contentType, request.id) ?? otherContentCoding(request.headers['content-encoding'], request.id);
    if (refusal) return send(reply, refusal);
  };
}

/** A form body as Express's `urlencoded({ extended: false })` reads it: a repeated field becomes a list. */
function parseForm(text: string): Record<string, string | string[]> {
  const form: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const previous = form[name];
    form[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return form;
}

function send(reply: FastifyReply, answer: ExampleAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}
