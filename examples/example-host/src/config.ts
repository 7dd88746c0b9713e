import { resolve } from 'node:path';
import { scrubSecrets, type Provider } from '@byokit/core';
import { emailSchema, passwordSchema, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './account-rules.js';

/** The example server's settings, all from the environment (the README's configuration table). */
export interface ServerConfig {
  port: number;
  dataDirectory: string;
  /** A real PostgreSQL; when unset, an embedded one (PGlite) in `<dataDirectory>/pgdata`. */
  databaseUrl: string | undefined;
  /** Schema for byokit's tables and the example's own. */
  databaseSchema: string;
  keyring: string | undefined;
  /** Master key ids refused for decryption (`BYOKIT_KEYRING_RETIRED`), whichever keyring is used: variable or file. */
  keyringRetired: string | undefined;
  jwtSecret: string | undefined;
  accessTokenMinutes: number;
  firstSuperuser: string;
  firstSuperuserPassword: string | undefined;
  logLevel: string;
  /** Provider base URLs from each SDK's own variable ({@link BASE_URL_VARIABLES}), with its meaning; unset: its public API. */
  providerBaseUrls: Record<Provider, string | undefined>;
  /** Answer chat from the built-in mock providers (recorded real responses) instead of the real APIs. */
  mockProviders: boolean;
  /** The whole environment, for system keys (`ANTHROPIC_API_KEY`, …) read by byokit. */
  environment: Record<string, string | undefined>;
}

/**
 * Each provider SDK's own base URL variable: one for every provider byokit knows, so that a provider added there
 * fails to compile here until the example reads its variable (else its calls went to its public API without a word).
 */
export const BASE_URL_VARIABLES = {
  anthropic: 'ANTHROPIC_BASE_URL',
  openai: 'OPENAI_BASE_URL',
  google: 'GOOGLE_GEMINI_BASE_URL',
} as const satisfies Record<Provider, string>;

/** The shortest secret that may sign access tokens: HS256's hash length (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

const MINUTES_IN_A_DAY = 60 * 24;
const MINUTES_IN_A_YEAR = MINUTES_IN_A_DAY * 365;

/** pino's levels, which `LOG_LEVEL` names (pino itself throws an unreadable error for any other). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A bad value as its refusal quotes it: anything that looks like a key redacted, as a .env whose two lines ran together
 * gives a variable the next one's line (`PORT=8000ANTHROPIC_API_KEY=sk-ant-…`).
 */
const quoted = (value: string | undefined) => `'${scrubSecrets(String(value))}'`;

/**
 * Reads the environment; a bad value throws an `Error` whose message names the variable and says what it must
 * be (never quoting a secret), which `npm start` prints as its one line before exiting with code 1.
 */
export function configFromEnvironment(environment: Record<string, string | undefined> = process.env): ServerConfig {
  const port = Number(environment.PORT || 8000);
  // Digits only: Number() would also take '8e3', '0x1F40' or ' 80'.
  if (!/^\d+$/.test(environment.PORT || '8000') || port > 65535)
    throw new Error(`PORT must be a port number from 0 to 65535, not ${quoted(environment.PORT)}.`);
  // Whole minutes, at most a year: a fraction of a minute rounded to '0s' issued tokens already expired, and a
  // lifetime from about 1.7e19 minutes on is written '…e+21s', which jose cannot read (every login a 500).
  const minutes = Number(environment.ACCESS_TOKEN_EXPIRE_MINUTES || MINUTES_IN_A_DAY);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MINUTES_IN_A_YEAR)
    throw new Error(
      `ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number of minutes from 1 to ${MINUTES_IN_A_YEAR} (a year), not ${quoted(environment.ACCESS_TOKEN_EXPIRE_MINUTES)}.`,
    );
  // HS256 wants a key at least as long as its hash (RFC 7518 §3.2, a MUST): a short one can be guessed offline from
  // any token, and then every token forged. Not quoted back: it is a secret.
  if (environment.SECRET_KEY && Buffer.byteLength(environment.SECRET_KEY) < MIN_SECRET_BYTES) {
    throw new Error(
      "SECRET_KEY must be at least 32 bytes (it signs access tokens with HS256). Make one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\", or unset it to use the one generated into the data folder.",
    );
  }
  const logLevel = environment.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not ${quoted(logLevel)}.`);
  // The first admin is held to signup's rules: an email login reads, a password login takes (never quoted back).
  const firstSuperuser = (environment.FIRST_SUPERUSER || 'admin@example.com').trim();
  if (!emailSchema.safeParse(firstSuperuser).success)
    throw new Error(`FIRST_SUPERUSER must be an email address of at most 254 characters, not ${quoted(firstSuperuser)}.`);
  const firstSuperuserPassword = environment.FIRST_SUPERUSER_PASSWORD || undefined;
  if (firstSuperuserPassword !== undefined && !passwordSchema.safeParse(firstSuperuserPassword).success)
    throw new Error(
      `FIRST_SUPERUSER_PASSWORD must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, as every user's password (login reads no more), or unset to have one generated.`,
    );
  return {
    port,
    // npm runs a workspace's script in the workspace folder; INIT_CWD is where `npm start` was typed.
    dataDirectory: resolve(environment.INIT_CWD ?? '.', environment.BYOKIT_DATA_DIR || '.byokit'),
    databaseUrl: environment.DATABASE_URL || undefined,
    databaseSchema: environment.DATABASE_SCHEMA || 'public',
    keyring: environment.BYOKIT_KEYRING || undefined,
    keyringRetired: environment.BYOKIT_KEYRING_RETIRED || undefined,
    jwtSecret: environment.SECRET_KEY || undefined,
    accessTokenMinutes: minutes,
    firstSuperuser,
    firstSuperuserPassword,
    logLevel,
    providerBaseUrls: Object.fromEntries(
      Object.entries(BASE_URL_VARIABLES).map(([provider, variable]) => [provider, environment[variable] || undefined]),
    ) as Record<Provider, string | undefined>,
    mockProviders: environment.BYOKIT_MOCK_PROVIDERS === '1' || environment.BYOKIT_MOCK_PROVIDERS === 'true',
    environment,
  };
}
