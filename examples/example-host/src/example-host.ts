import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  ByokitError,
  createByokit,
  isByokitError,
  keyringFromEnv,
  type Byokit,
  type Principal,
  type ProvidersSettings,
} from '@byokit/core';
import { startMockProviders, type MockProviders } from '@byokit/core/mock-providers';
import { embeddedPostgresStorage, postgresStorage, type PostgresStorage } from '@byokit/storage-postgres';
import type { ServerConfig } from './config.js';
import { jwtSecret, keyringText, makeDataDirectory } from './data-directory.js';
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
  /**
   * Call once the server listens. Only then is the generated password of a first admin this start created
   * shown: a start that cannot listen (its port taken) must not use up the one showing.
   */
  listening(): void;
  /** Call instead when the server could not listen: removes the first admin this start created, then closes. */
  closeUnstarted(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The user guide's host: users with scrypt-hashed passwords, JWT bearer tokens, the first admin, and byokit
 * on PostgreSQL (embedded unless DATABASE_URL is set). byokit never sees passwords.
 */
export async function createExampleHost(config: ServerConfig, logger: Logger): Promise<ExampleHost> {
  if (!config.databaseUrl) privateDataDirectory(config.dataDirectory);
  // The keyring before the database: a bad BYOKIT_KEYRING is refused at once, before a database is created.
  // BYOKIT_KEYRING_RETIRED too: without it a retired id stayed usable here, and a start with rows still on it went ahead.
  const keyring = keyringFromEnv({
    BYOKIT_KEYRING: keyringText(config.dataDirectory, config.keyring, logger),
    BYOKIT_KEYRING_RETIRED: config.keyringRetired,
  });
  const storage = await openStorage(config);
  let mockProviders: MockProviders | undefined;
  let byokit: Byokit | undefined;
  try {
    const providers = await providerSettings(config, logger);
    mockProviders = providers.mock;
    byokit = await createByokit({ storage, keyring, environment: config.environment, logger, providers: providers.settings }).catch(
      (error: unknown): never => {
        throw withRotationAdvice(error, config, keyring.primaryId);
      },
    );
    const users = new UserDirectory(storage.database, config.databaseSchema);
    await users.migrate();
    const tokens = new AccessTokens(jwtSecret(config.dataDirectory, config.jwtSecret, logger), config.accessTokenMinutes);
    const firstAdmin = await createFirstSuperuser(users, config, logger);
    return assembleHost(byokit, users, storage, tokens, mockProviders, firstAdmin);
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
  firstAdmin: FirstAdmin,
): ExampleHost {
  const authenticate = async (headers: RequestHeaders): Promise<Principal | null> => {
    const header = headers.authorization;
    if (typeof header !== 'string' || header.length > 8192 || !/^Bearer /i.test(header)) return null;
    const userId = await tokens.verify(header.slice(7).trim());
    const user = userId ? await users.find(userId) : null;
    return user ? { userId: user.id, isAdmin: user.is_superuser } : null;
  };

  const close = async () => {
    await byokit.close();
    await mockProviders?.close();
  };
  return {
    byokit,
    users,
    storage,
    mockProviders,
    authenticate,
    routes: new ExampleRoutes(users, tokens, authenticate),
    listening: firstAdmin.announce,
    closeUnstarted: async () => {
      await firstAdmin.undo();
      await close();
    },
    close,
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
    // The latest 100 requests the mock received, for a look at what byokit sent; every one would grow with each chat.
    const mock = await startMockProviders({ maxRequestsKept: 100 });
    logger.warn(
      { baseUrls: mock.baseUrls },
      'BYOKIT_MOCK_PROVIDERS is on: chat answers come from the mock providers (recorded responses), not the real APIs.',
    );
    const settings = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl }]));
    return { settings, mock };
  }
  const baseUrls = Object.entries(config.providerBaseUrls);
  return {
    settings: Object.fromEntries(baseUrls.flatMap(([provider, baseUrl]) => (baseUrl ? [[provider, { baseUrl }]] : []))),
    mock: undefined,
  };
}

/**
 * byokit refuses a keyring that lacks the id of a stored key, saying what to do whether that id is an old key
 * dropped too soon or the new key of a rotation this keyring was not given. The example adds where its keyring
 * is read from, the file a rotation with the CLI leaves out of date unless it is given the new key too.
 */
function withRotationAdvice(error: unknown, config: ServerConfig, primaryId: string): unknown {
  if (!isByokitError(error) || error.code !== 'keyring_invalid') return error;
  const source = config.keyring ? 'BYOKIT_KEYRING' : join(config.dataDirectory, 'keyring');
  const where = config.keyring ? 'BYOKIT_KEYRING' : `the keyring file ${source} (BYOKIT_KEYRING is not set)`;
  return new ByokitError(
    'keyring_invalid',
    `${error.message} This server's keyring is ${where}, whose primary is '${primaryId}'. If you rotated the stored keys to a new master key, ${source} is out of date: put the new key in it first, as primary, with '${primaryId}' after it (<new id>:<new key>,${primaryId}:<key>); re-encrypting with it as it is would seal every key back under '${primaryId}'.`,
    error.details,
    { cause: error },
  );
}

/**
 * Creates the data folder for the embedded database (mode 0700), or checks that one already there is its owner's
 * alone. PGlite writes the database's files with mode 0666 whatever the umask: in a folder others may enter, any
 * local user could read the password hashes and rewrite the tables. PostgreSQL refuses such a data directory too
 * ("has invalid permissions"); the example says how to fix it rather than change a folder's mode unasked.
 */
function privateDataDirectory(directory: string): void {
  makeDataDirectory(directory);
  if (process.platform === 'win32') return;
  const mode = statSync(directory).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `The data folder ${directory} may be entered by other users (mode 0${mode.toString(8)}), and the embedded database writes files anyone who enters may change. Make it yours alone: chmod 700 ${directory}`,
    );
  }
}

/** A real PostgreSQL when DATABASE_URL is set, else an embedded one in the data folder; migrated. */
async function openStorage(config: ServerConfig): Promise<PostgresStorage> {
  // Without DATABASE_URL the data folder was made private before the keyring was read (privateDataDirectory).
  if (!config.databaseUrl) {
    return embeddedPostgresStorage({ dataDir: join(config.dataDirectory, 'pgdata'), schema: config.databaseSchema });
  }
  const storage = postgresStorage({ connectionString: config.databaseUrl, schema: config.databaseSchema });
  try {
    await storage.migrate();
  } catch (error) {
    await storage.close();
    throw whyUnavailable(error, config.databaseUrl);
  }
  return storage;
}

/**
 * byokit's storage_unavailable says what an HTTP client may know ("try again shortly"); the operator starting the
 * server needs the reason (connection refused, no such host, a password refused), kept in its cause. Quoted
 * without the URL's password, should a driver ever repeat it.
 */
function whyUnavailable(error: unknown, databaseUrl: string): unknown {
  const cause = (error as { cause?: unknown }).cause;
  if (!isByokitError(error) || error.code !== 'storage_unavailable' || !(cause instanceof Error)) return error;
  const reason = withoutPassword(cause.message, passwordOf(databaseUrl));
  return new ByokitError('storage_unavailable', `${error.message} The server in DATABASE_URL: ${reason}.`, error.details, { cause: error });
}

/**
 * `text` with `password` replaced by `***` where text shows a password (`user:secret@`), and, for one of 8 characters
 * or more, wherever it stands alone: the CLI's rule (storage-postgres's cli/database.ts), which learnt that a short
 * password replaced everywhere garbles every message.
 */
function withoutPassword(text: string, password: string): string {
  if (!password) return text;
  const secret = password.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const shown = text.replace(new RegExp(`(:)${secret}(@)`, 'g'), '$1***$2');
  return password.length < 8 ? shown : shown.replace(new RegExp(`(?<![A-Za-z0-9])${secret}(?![A-Za-z0-9])`, 'g'), '***');
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** The first admin as this start left it: how to show its generated password, and how to take it back. */
interface FirstAdmin {
  announce(): void;
  undo(): Promise<void>;
}

/**
 * Creates the first admin if it is missing. FIRST_SUPERUSER_PASSWORD only ever sets the password of the admin
 * a start creates; when that admin already has another one, or the email is an ordinary user's, the start says
 * so rather than leave a login failing, or an admin missing, for no stated reason (neither password is logged:
 * one is the operator's, the other was shown once).
 */
async function createFirstSuperuser(users: UserDirectory, config: ServerConfig, logger: Logger): Promise<FirstAdmin> {
  const email = config.firstSuperuser;
  const nothing: FirstAdmin = { announce: () => {}, undo: async () => {} };
  const existing = await users.findByEmail(email);
  if (existing) {
    // Never promoted: whoever signed up first with this email would become an admin by a restart.
    if (!existing.is_superuser) {
      logger.warn(
        { email },
        `FIRST_SUPERUSER is ${email}, a user who signed up and is not an admin: not made one. Set FIRST_SUPERUSER to an email no one uses, and the next start creates that admin.`,
      );
      return nothing;
    }
    if (config.firstSuperuserPassword !== undefined && !(await users.authenticate(email, config.firstSuperuserPassword))) {
      logger.warn(
        { email },
        `FIRST_SUPERUSER_PASSWORD is set, but ${email} already exists with another password, which is not changed: the variable sets the password only of the admin a start creates. Log in with the password it was created with, or set FIRST_SUPERUSER to a new email to create another admin with FIRST_SUPERUSER_PASSWORD.`,
      );
    }
    return nothing;
  }
  const password = config.firstSuperuserPassword ?? randomBytes(12).toString('base64url');
  const created = await users.create({ email, password, fullName: 'Admin', isSuperuser: true });
  if (!created) return nothing;
  return {
    announce: () => {
      if (config.firstSuperuserPassword) return;
      // Shown once, when the admin is created, so that `npm start` works with no set-up; set FIRST_SUPERUSER_PASSWORD to choose it.
      logger.warn(
        { email },
        `FIRST_SUPERUSER_PASSWORD is not set: created the first admin with the password ${password} (shown this once)`,
      );
    },
    // The start failed before the password could be shown: the next start creates the admin again and shows its own.
    undo: () => users.remove(created.id),
  };
}
