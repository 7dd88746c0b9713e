import { Hono } from 'hono';
import {
  createByokit,
  generateKeyringEntry,
  memoryStorage,
  parseKeyring,
  type Byokit,
  type Logger,
  type Principal,
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
  const mock = config.mockProviders ? await startMockProviders() : undefined;
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

/** The mock providers' URLs in offline mode, else each provider SDK's own base URL variable when set. */
function providerSettings(environment: Record<string, string | undefined>, mock: MockProviders | undefined): ProvidersSettings {
  const baseUrls = mock?.baseUrls ?? {
    anthropic: environment.ANTHROPIC_BASE_URL,
    openai: environment.OPENAI_BASE_URL,
    google: environment.GOOGLE_GEMINI_BASE_URL,
  };
  return Object.fromEntries(Object.entries(baseUrls).flatMap(([provider, baseUrl]) => (baseUrl ? [[provider, { baseUrl }]] : [])));
}
