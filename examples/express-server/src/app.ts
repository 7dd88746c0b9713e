import { randomBytes, randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createByokit, keyringFromEnv, type Byokit, type Principal, type ProvidersSettings } from '@byokit/core';
import { startMockProviders, type MockProviders } from '@byokit/core/mock-providers';
import { embeddedPostgresStorage, postgresStorage, type PostgresStorage } from '@byokit/storage-postgres';
import { byokitRouter } from '@byokit/adapter-express';
import type { ServerConfig } from './config.js';
import { jwtSecret, keyringText } from './data-directory.js';
import { AccessTokens } from './tokens.js';
import { UserDirectory } from './users.js';

/** The example server's parts, returned so tests can reach them. */
export interface ExampleApp {
  app: express.Express;
  byokit: Byokit;
  users: UserDirectory;
  storage: PostgresStorage;
  /** The mock providers, when BYOKIT_MOCK_PROVIDERS is on. */
  mockProviders: MockProviders | undefined;
  close(): Promise<void>;
}

const signupBody = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(8).max(128),
  full_name: z.string().max(255).nullable().optional(),
});

const loginForm = z.object({ username: z.string().min(1).max(254), password: z.string().min(1).max(128) });

const PREFIX = '/v2';

/**
 * The user guide's server: signup, login (scrypt-hashed passwords, JWT bearer tokens), `GET /users/me`,
 * and byokit's routes mounted below `/v2`. This is the host's side of things; byokit never sees passwords.
 */
export async function createExampleApp(config: ServerConfig, logger: Logger = pino({ level: config.logLevel })): Promise<ExampleApp> {
  const storage = await openStorage(config);
  const keyring = keyringFromEnv({ BYOKIT_KEYRING: keyringText(config.dataDirectory, config.keyring, logger) });
  const providers = await providerSettings(config, logger);
  const byokit = await createByokit({ storage, keyring, environment: config.environment, logger, providers: providers.settings });
  const users = new UserDirectory(storage.database, config.databaseSchema);
  await users.migrate();
  const tokens = new AccessTokens(jwtSecret(config.dataDirectory, config.jwtSecret), config.accessTokenMinutes);
  await createFirstSuperuser(users, config, logger);

  const authenticate = async (request: Request): Promise<Principal | null> => {
    const header = request.headers.authorization;
    if (!header || header.length > 8192 || !/^Bearer /i.test(header)) return null;
    const userId = await tokens.verify(header.slice(7).trim());
    const user = userId ? await users.find(userId) : null;
    return user ? { userId: user.id, isAdmin: user.is_superuser } : null;
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(assignRequestId);

  app.post(`${PREFIX}/users/signup`, requireMediaType('application/json'), express.json({ limit: '8kb' }), async (request, response) => {
    const input = parse(signupBody, request.body, response);
    if (!input) return;
    const user = await users.create({ email: input.email, password: input.password, fullName: input.full_name ?? null });
    if (!user) return sendError(response, 409, 'email_taken', 'A user with this email already exists.');
    response.status(200).json(user);
  });

  app.post(
    `${PREFIX}/login/access-token`,
    requireMediaType('application/x-www-form-urlencoded'),
    express.urlencoded({ extended: false, limit: '8kb' }),
    async (request, response) => {
      const input = parse(loginForm, request.body, response);
      if (!input) return;
      const user = await users.authenticate(input.username, input.password);
      if (!user) return sendError(response, 400, 'invalid_credentials', 'Incorrect email or password.');
      response.json({ access_token: await tokens.issue(user.id), token_type: 'bearer' });
    },
  );

  app.get(`${PREFIX}/users/me`, async (request, response) => {
    const principal = await authenticate(request);
    const user = principal && (await users.find(principal.userId));
    if (!user) return sendError(response, 401, 'unauthenticated', 'Sign in first: send a valid access token.');
    response.json(user);
  });

  app.use(PREFIX, byokitRouter(byokit, { authenticate }));
  app.use(PREFIX, (_request, response) => sendError(response, 404, 'not_found', 'No such route.'));
  app.use(handleError(logger));

  return {
    app,
    byokit,
    users,
    storage,
    mockProviders: providers.mock,
    close: async () => {
      await byokit.close();
      await providers.mock?.close();
    },
  };
}

/**
 * Where each provider is: its public API, the URL in its SDK's variable (a proxy, a gateway, a local
 * mock), or, with BYOKIT_MOCK_PROVIDERS=1, byokit's mock of all three started here (offline mode).
 */
async function providerSettings(
  config: ServerConfig,
  logger: Logger,
): Promise<{ settings: ProvidersSettings; mock: MockProviders | undefined }> {
  if (config.mockProviders) {
    const mock = await startMockProviders();
    logger.warn(
      { baseUrls: mock.baseUrls },
      'BYOKIT_MOCK_PROVIDERS is on: chat answers come from the mock providers (recorded responses), not the real APIs.',
    );
    const settings = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl }]));
    return { settings, mock };
  }
  const { anthropic, openai, google } = config.providerBaseUrls;
  return {
    settings: {
      ...(anthropic && { anthropic: { baseUrl: anthropic } }),
      ...(openai && { openai: { baseUrl: openai } }),
      ...(google && { google: { baseUrl: google } }),
    },
    mock: undefined,
  };
}

/** A real PostgreSQL when DATABASE_URL is set, else an embedded one in the data folder; migrated. */
async function openStorage(config: ServerConfig): Promise<PostgresStorage> {
  if (!config.databaseUrl) {
    mkdirSync(config.dataDirectory, { recursive: true, mode: 0o700 });
    return embeddedPostgresStorage({ dataDir: join(config.dataDirectory, 'pgdata'), schema: config.databaseSchema });
  }
  const storage = postgresStorage({ connectionString: config.databaseUrl, schema: config.databaseSchema });
  await storage.migrate();
  return storage;
}

async function createFirstSuperuser(users: UserDirectory, config: ServerConfig, logger: Logger): Promise<void> {
  if (await users.exists(config.firstSuperuser)) return;
  const password = config.firstSuperuserPassword ?? randomBytes(12).toString('base64url');
  const created = await users.create({ email: config.firstSuperuser, password, fullName: 'Admin', isSuperuser: true });
  if (created && !config.firstSuperuserPassword) {
    // Shown once, when the admin is created, so that `npm start` works with no set-up; set FIRST_SUPERUSER_PASSWORD to choose it.
    logger.warn(
      { email: config.firstSuperuser },
      `FIRST_SUPERUSER_PASSWORD is not set: created the first admin with the password ${password} (shown this once)`,
    );
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const assignRequestId: RequestHandler = (request, response, next) => {
  const sent = request.get('x-request-id');
  response.locals.requestId = sent && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
  response.set('x-request-id', response.locals.requestId);
  next();
};

function requireMediaType(type: string): RequestHandler {
  return (request, response, next) =>
    request.is(type) ? next() : sendError(response, 415, 'unsupported_media_type', `Send the body as ${type}.`);
}

function parse<T>(schema: z.ZodType<T>, input: unknown, response: Response): T | undefined {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  sendError(response, 422, 'validation_failed', 'The request is not valid.', { issues });
  return undefined;
}

function sendError(response: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  response
    .status(status)
    .set('cache-control', 'no-store')
    .json({ error: { code, message, ...extra, request_id: response.locals.requestId } });
}

/** body-parser's errors in the contract's shape; anything else is logged and answered as `internal_error`. */
function handleError(logger: Logger): ErrorRequestHandler {
  return (error, _request, response, _next) => {
    const type = (error as { type?: string }).type;
    if (type === 'entity.parse.failed') return sendError(response, 400, 'invalid_json', 'The request body is not valid JSON.');
    if (type === 'entity.too.large') return sendError(response, 413, 'payload_too_large', 'The request body is too large.');
    if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
      return sendError(response, 415, 'unsupported_media_type', 'Unsupported body encoding.');
    }
    logger.error({ requestId: response.locals.requestId, error: String(error) }, 'request failed');
    sendError(response, 500, 'internal_error', 'Internal error. Quote the request id if you report it.');
  };
}
