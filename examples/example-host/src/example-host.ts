import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createByokit, keyringFromEnv, type Byokit, type Principal, type ProvidersSettings } from '@byokit/core';
import { startMockProviders, type MockProviders } from '@byokit/core/mock-providers';
import { embeddedPostgresStorage, postgresStorage, type PostgresStorage } from '@byokit/storage-postgres';
import type { ServerConfig } from './config.js';
import { jwtSecret, keyringText } from './data-directory.js';
import { ExampleRoutes, type RequestHeaders } from './example-routes.js';
import { AccessTokens } from './tokens.js';
import { UserDirectory } from './users.js';

/** Where the example mounts byokit and its own routes. */
export const PREFIX = '/v2';

/**
 * Everything an example server is made of except its framework: storage, byokit, users and tokens, the
 * host's auth, and its own routes as plain functions. An example server adds the mounting lines.
 */
export interface ExampleHost {
  byokit: Byokit;
  users: UserDirectory;
  storage: PostgresStorage;
  /** The mock providers, when BYOKIT_MOCK_PROVIDERS is on. */
  mockProviders: MockProviders | undefined;
  /** The host's auth, as byokit asks for it: the principal behind a bearer token, or null. */
  authenticate(headers: RequestHeaders): Promise<Principal | null>;
  /** The example's own routes (signup, login, who am I), framework-free. */
  routes: ExampleRoutes;
  close(): Promise<void>;
}

/**
 * The user guide's host: users with scrypt-hashed passwords, JWT bearer tokens, the first admin, and byokit
 * on PostgreSQL (embedded unless DATABASE_URL is set). byokit never sees passwords.
 */
export async function createExampleHost(config: ServerConfig, logger: Logger): Promise<ExampleHost> {
  // The keyring before the database: a bad BYOKIT_KEYRING is refused at once, before a database is created.
  const keyring = keyringFromEnv({ BYOKIT_KEYRING: keyringText(config.dataDirectory, config.keyring, logger) });
  const storage = await openStorage(config);
  let mockProviders: MockProviders | undefined;
  let byokit: Byokit | undefined;
  try {
    const providers = await providerSettings(config, logger);
    mockProviders = providers.mock;
    byokit = await createByokit({ storage, keyring, environment: config.environment, logger, providers: providers.settings });
    const users = new UserDirectory(storage.database, config.databaseSchema);
    await users.migrate();
    const tokens = new AccessTokens(jwtSecret(config.dataDirectory, config.jwtSecret), config.accessTokenMinutes);
    await createFirstSuperuser(users, config, logger);
    return assembleHost(byokit, users, storage, tokens, mockProviders);
  } catch (error) {
    // Refused once the database was open (a stored key sealed by a key id the keyring lacks, say): what was
    // opened is closed, so that the embedded database shuts down cleanly and releases its folder lock. Once
    // byokit has started, its close ends its provider connections and then the storage.
    await mockProviders?.close();
    await (byokit ? byokit.close() : storage.close());
    throw error;
  }
}

function assembleHost(
  byokit: Byokit,
  users: UserDirectory,
  storage: PostgresStorage,
  tokens: AccessTokens,
  mockProviders: MockProviders | undefined,
): ExampleHost {
  const authenticate = async (headers: RequestHeaders): Promise<Principal | null> => {
    const header = headers.authorization;
    if (typeof header !== 'string' || header.length > 8192 || !/^Bearer /i.test(header)) return null;
    const userId = await tokens.verify(header.slice(7).trim());
    const user = userId ? await users.find(userId) : null;
    return user ? { userId: user.id, isAdmin: user.is_superuser } : null;
  };

  return {
    byokit,
    users,
    storage,
    mockProviders,
    authenticate,
    routes: new ExampleRoutes(users, tokens, authenticate),
    close: async () => {
      await byokit.close();
      await mockProviders?.close();
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
