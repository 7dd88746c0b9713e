import { Hono, type MiddlewareHandler } from 'hono';
import {
  createByokit,
  generateKeyringEntry,
  memoryStorage,
  parseKeyring,
  requestIdOf,
  type Byokit,
  type Logger,
  type Principal,
  type Provider,
  type ProvidersSettings,
} from '@byokit/core';
import { startMockProviders, type MockProviders } from '@byokit/core/mock-providers';

/** What the example reads from the environment. */
export interface HonoExampleConfig {
  /** The master keyring (`BYOKIT_KEYRING`); unset, a throwaway one is made, as memory storage forgets everything anyway. */
  keyring?: string | undefined;
  /** Answer chat from byokit's mock providers, offline (`BYOKIT_MOCK_PROVIDERS=1`). */
  mockProviders?: boolean;
  /** For system keys (`ANTHROPIC_API_KEY`, …) and provider base URLs. Default: none. */
  environment?: Record<string, string | undefined>;
  /** Bearer tokens and whom they sign in: your session or JWT check goes here instead. */
  tokens?: Record<string, Principal>;
  /**
   * Where byokit's warnings go (a system key in the environment it ignores, a retired model…). Default: silent,
   * as `createByokit`'s is; `npm start` passes its pino logger, as the Express and Fastify examples do.
   */
  logger?: Logger;
  /**
   * Answer only requests for this machine's loopback names (localhost, 127.0.0.1, [::1]), as `npm start` does when it
   * listens on loopback: others are refused with 403.
   */
  loopbackOnly?: boolean;
}

/** The example's parts, returned so tests can reach them. */
export interface HonoExample {
  app: Hono;
  byokit: Byokit;
  mockProviders: MockProviders | undefined;
  close(): Promise<void>;
}

/** Demo sign-ins, printed at start: this example is about mounting byokit, not about auth. */
export const DEMO_TOKENS: Record<string, Principal> = {
  'demo-user-token': { userId: 'demo-user', isAdmin: false },
  'demo-admin-token': { userId: 'demo-admin', isAdmin: true },
};

/**
 * A Hono app with byokit's /v2 routes. Everything byokit needs is given to `createByokit`, including the host's
 * auth for `byokit.fetch`; mounting is then the one `app.all` line.
 */
export async function createHonoExample(config: HonoExampleConfig = {}): Promise<HonoExample> {
  const tokens = config.tokens ?? DEMO_TOKENS;
  // The latest 100 requests the mock received, for a look at what byokit sent; every one would grow with each chat.
  const mock = config.mockProviders ? await startMockProviders({ maxRequestsKept: 100 }) : undefined;
  const byokit = await createByokit({
    storage: memoryStorage(),
    keyring: parseKeyring(config.keyring ?? generateKeyringEntry('k1')),
    environment: config.environment ?? {},
    ...(config.logger && { logger: config.logger }),
    providers: providerSettings(config.environment ?? {}, mock),
    fetchHandler: {
      // The host's auth, on the standard Request: a bearer token here. Only the table's own entries: `tokens[token]` alone
      // read an inherited one for `Bearer constructor` or `Bearer __proto__`, a principal byokit refused with a 500.
      authenticate: (request) => {
        const token = request.headers.get('authorization')?.replace(/^Bearer /i, '') ?? '';
        return Object.hasOwn(tokens, token) ? tokens[token]! : null;
      },
      prefix: '/v2',
    },
  });

  const app = new Hono();
  if (config.loopbackOnly) app.use(onlyLoopbackNames);
  app.get('/', (c) => c.text('byokit example on Hono: the API is below /v2\n'));
  app.all('/v2/*', (c) => byokit.fetch(c.req.raw));

  return {
    app,
    byokit,
    mockProviders: mock,
    close: async () => {
      await byokit.close();
      await mock?.close();
    },
  };
}

/** The names by which a browser reaches this machine's loopback interface, as a URL's hostname spells them. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Refuses a request whose Host is any other name. Listening on loopback keeps other machines out, not a web page the
 * developer opens: it can point a name of its own at 127.0.0.1 (DNS rebinding), then call this server as its own
 * origin, read the answers, and use the public demo tokens (chat on the system key, act as admin).
 */
const onlyLoopbackNames: MiddlewareHandler = async (c, next) => {
  if (LOOPBACK_NAMES.has(new URL(c.req.url).hostname)) return next();
  const requestId = requestIdOf(c.req.raw.headers);
  const message = 'This server answers only requests for localhost, 127.0.0.1 or [::1] (it listens on this machine only).';
  return c.json({ error: { code: 'forbidden', message, request_id: requestId } }, 403, {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  });
};

/**
 * The mock providers' URLs in offline mode, else each provider SDK's own base URL variable when set: one for every
 * provider byokit knows, so that a provider added there fails to compile here until its variable is read.
 */
function providerSettings(environment: Record<string, string | undefined>, mock: MockProviders | undefined): ProvidersSettings {
  const baseUrls: Record<Provider, string | undefined> = mock?.baseUrls ?? {
    anthropic: environment.ANTHROPIC_BASE_URL,
    openai: environment.OPENAI_BASE_URL,
    google: environment.GOOGLE_GEMINI_BASE_URL,
  };
  return Object.fromEntries(Object.entries(baseUrls).flatMap(([provider, baseUrl]) => (baseUrl ? [[provider, { baseUrl }]] : [])));
}
