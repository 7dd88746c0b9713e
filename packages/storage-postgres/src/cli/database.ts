// Opening and closing the database a `byokit` command works on, and keeping its password out of everything printed.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { embeddedPostgresStorage, postgresStorage } from '../postgres-storage-factory.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { sqlNames } from '../sql-names.js';
import { UsageError, type Options } from './usage.js';

/** The opened database, how to name it in output (password redacted), and how to let it go. */
export interface OpenedStorage {
  storage: PostgresStorage;
  description: string;
  close(): Promise<void>;
}

/**
 * The database passwords this process has been given, as written and percent-decoded: never printed. Filled by
 * `describeServer` as a server is opened; read only through {@link redactSecrets}.
 */
const passwords: string[] = [];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A password at least this long is also redacted where it stands alone; a shorter one would match words. */
const MIN_STANDALONE_PASSWORD = 8;

/** The message with every database password this process has been given redacted ({@link redactPasswords}). */
export function redactSecrets(message: string): string {
  return redactPasswords(message, passwords);
}

/**
 * `message` with each of `secrets` replaced by `***`: where text shows a password (a connection URL's user
 * info, `user:secret@`, or a `password=secret` parameter), and, for one of 8 characters or more, wherever it
 * stands alone. Replaced everywhere, a short or common password (`byokit`, `y`) turned every `byokit` and
 * every `y` of a message into `***` ("The database is unavailable; tr*** again shortl***").
 */
export function redactPasswords(message: string, secrets: readonly string[]): string {
  for (const password of secrets) {
    if (password === '') continue;
    const secret = escapeRegExp(password);
    message = message
      .replace(new RegExp(`(:)${secret}(@)`, 'g'), '$1***$2')
      .replace(new RegExp(`(\\bpassword\\s*=\\s*(['"]?))${secret}(?=\\2(?:[\\s&;,]|$))`, 'gi'), '$1***');
    if (password.length >= MIN_STANDALONE_PASSWORD) {
      message = message.replace(new RegExp(`(?<![A-Za-z0-9])${secret}(?![A-Za-z0-9])`, 'g'), '***');
    }
  }
  return message;
}

/**
 * Opens the database the options and environment name, runs `work` and closes it. The embedded database is
 * opened without migrating: `migrate` then says what it applied, and `key-ids` or `rotate-keys` never change
 * a schema they were not asked to.
 */
export async function withStorage(
  options: Options,
  mode: { create: boolean },
  work: (opened: OpenedStorage) => Promise<number>,
): Promise<number> {
  const tables = { schema: options.schema, tablePrefix: options['table-prefix'] };
  try {
    sqlNames(tables.schema, tables.tablePrefix);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const opened = await openStorage(options, tables, mode);
  let result: number;
  try {
    result = await work(opened);
  } catch (error) {
    // Closed all the same, and the command's failure is the one told: a close that failed too (a database gone with
    // the command's failure) was told in its place.
    await opened.close().catch(() => undefined);
    // 42P01 undefined_table: the schema was never created here.
    if ((error as { code?: unknown }).code === '42P01') throw new Error(`${(error as Error).message}: run byokit migrate first`);
    throw error;
  }
  await opened.close();
  return result;
}

/** The first given of --database-url, --data-dir, DATABASE_URL and BYOKIT_DATA_DIR, opened. */
async function openStorage(
  options: Options,
  tables: { schema?: string; tablePrefix?: string },
  mode: { create: boolean },
): Promise<OpenedStorage> {
  const databaseUrl = options['database-url'];
  const dataDir = options['data-dir'];
  if (databaseUrl !== undefined && dataDir !== undefined) throw new UsageError('give --database-url or --data-dir, not both');
  const connectionString = databaseUrl ?? (dataDir === undefined ? process.env.DATABASE_URL || undefined : undefined);
  if (connectionString !== undefined) {
    const storage = postgresStorage({ connectionString, ...tables });
    return { storage, description: describeServer(connectionString, tables.schema), close: () => storage.database.close() };
  }
  const directory = dataDir ?? (process.env.BYOKIT_DATA_DIR || undefined);
  if (directory === undefined) {
    throw new UsageError(
      'no database given: set DATABASE_URL or pass --database-url for PostgreSQL, or pass --data-dir (or set BYOKIT_DATA_DIR) for the embedded one',
    );
  }
  return openEmbedded(directory, tables, mode);
}

/** A PostgreSQL data folder, PGlite's included, holds a PG_VERSION file. */
const isDataFolder = (path: string) => existsSync(join(path, 'PG_VERSION'));

/**
 * The folder of the embedded database that `directory` names: the folder itself when it is a data folder (what a
 * host gave `embeddedPostgresStorage({ dataDir })`), else its `pgdata` (the example server's data folder, which
 * also holds the keyring). `exists` is false when neither holds a database.
 */
export function embeddedDatabaseFolder(directory: string): { path: string; exists: boolean } {
  const folder = resolve(directory);
  if (isDataFolder(folder)) return { path: folder, exists: true };
  const nested = join(folder, 'pgdata');
  return { path: nested, exists: isDataFolder(nested) };
}

/**
 * The embedded database (PGlite) that `directory` names ({@link embeddedDatabaseFolder}); refused when absent
 * unless `mode.create`. A new one is created as `directory/pgdata`, so never inside a data folder.
 */
async function openEmbedded(
  directory: string,
  tables: { schema?: string; tablePrefix?: string },
  mode: { create: boolean },
): Promise<OpenedStorage> {
  const { path, exists } = embeddedDatabaseFolder(directory);
  // A mistyped folder would otherwise become a new, empty database that reports no keys.
  if (!mode.create && !exists) {
    throw new Error(
      `there is no embedded database in ${resolve(directory)} or in ${path} (a database folder holds a PG_VERSION file): check --data-dir (or BYOKIT_DATA_DIR), or run byokit migrate to create one in ${path}`,
    );
  }
  const storage = await embeddedPostgresStorage({ dataDir: path, migrate: false, ...tables }).catch((error: Error) => {
    throw new Error(`cannot open the embedded database in ${path}: ${error.message}`);
  });
  return { storage, description: `the embedded database in ${path}`, close: () => storage.close() };
}

/** Names a server for output: the connection string without its password, which is also never printed elsewhere. */
function describeServer(connectionString: string, schema = 'public'): string {
  try {
    const url = new URL(connectionString);
    if (url.password !== '') {
      passwords.push(url.password, decodeURIComponent(url.password));
      url.password = '***';
    }
    // node-postgres also takes the password from a `password` query parameter (before the one in the user info).
    const inQuery = url.searchParams.getAll('password');
    if (inQuery.length > 0) {
      passwords.push(...inQuery);
      url.searchParams.set('password', '***');
    }
    return `${url.href} (schema ${schema})`;
  } catch {
    // A key=value connection string (libpq's `host=… password=…`): not echoed at all, and its password redacted.
    const password = /\bpassword\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']+))/i.exec(connectionString);
    if (password) passwords.push((password[1] ?? password[2])!);
    return `the PostgreSQL server in DATABASE_URL (schema ${schema})`;
  }
}
