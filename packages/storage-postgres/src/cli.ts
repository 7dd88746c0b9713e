#!/usr/bin/env node
/**
 * The `byokit` command: schema migrations and the re-encryption step of a master key rotation
 * (spec/security.md, "Rotation") on the database byokit keeps its keys in. One function per command; `main`
 * parses the arguments and turns failures into `byokit: <message>` and an exit code (1, or 2 for usage).
 * Nothing it prints carries a key, a key's bytes or a database password.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createByokit, keyringFromEnv, type Keyring, type Logger, type RotationProgress, type Storage } from '@byokit/core';
import { embeddedPostgresStorage, postgresStorage } from './postgres-storage-factory.js';
import type { PostgresStorage } from './postgres-storage.js';
import { sqlNames } from './sql-names.js';

const USAGE = `Usage: byokit <command> [options]

Commands:
  migrate       Create or upgrade byokit's tables.
  key-ids       Show how many stored keys each master key id seals (rotation progress).
  rotate-keys   Re-encrypt every stored key under the keyring's primary master key. Resumable: stop it
                with Ctrl-C and run it again to continue.
  help          Show this text.

Options:
  --database-url URL    A PostgreSQL server (default: DATABASE_URL).
  --data-dir DIR        An embedded PostgreSQL (PGlite) kept in DIR/pgdata (default: BYOKIT_DATA_DIR).
  --schema NAME         Schema of byokit's tables (default: public).
  --table-prefix TEXT   Prefix of byokit's table names (default: byokit_).
  --keyring-file PATH   Read the keyring from a file instead of BYOKIT_KEYRING, e.g. the example
                        server's <data dir>/keyring (key-ids, rotate-keys).
  --batch-size N        Rows per page (rotate-keys; default: 500).
  -h, --help            Show this text.

Environment:
  DATABASE_URL            PostgreSQL connection string.
  BYOKIT_DATA_DIR         Folder of the embedded database, as the example server uses it.
  BYOKIT_KEYRING          Master keys as id:base64url, comma-separated, primary first. Needed by
                          rotate-keys; key-ids uses it, when set, to mark the primary.
  BYOKIT_KEYRING_RETIRED  Comma-separated master key ids refused for decryption.

The database is the first given of --database-url, --data-dir, DATABASE_URL, BYOKIT_DATA_DIR.
Only one process at a time may open an embedded database folder: stop the server using it first.

To rotate the master key: put the new key first in BYOKIT_KEYRING with the old one after it, on every
server and here; run byokit rotate-keys until byokit key-ids shows 0 rows on the old id; then retire the
old id (BYOKIT_KEYRING_RETIRED) or remove it.
`;

const OPTIONS = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
  schema: { type: 'string' },
  'table-prefix': { type: 'string' },
  'keyring-file': { type: 'string' },
  'batch-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** The options each command takes besides the database ones; any other is a usage error. */
const COMMANDS = {
  migrate: [],
  'key-ids': ['keyring-file'],
  'rotate-keys': ['keyring-file', 'batch-size'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof OPTIONS>>;

type Command = keyof typeof COMMANDS;

const DATABASE_OPTIONS = new Set<string>(['database-url', 'data-dir', 'schema', 'table-prefix']);

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {}

/** The opened database, how to name it in output (password redacted), and how to let it go. */
interface OpenedStorage {
  storage: PostgresStorage;
  description: string;
  close(): Promise<void>;
}

/** Text that must never be printed (the database password), replaced wherever it shows up. */
const secrets: string[] = [];

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' first sentence names the option and the problem; the rest is about `--` and positionals.
    throw new UsageError(`${(error as Error).message.split('. ')[0]}: run byokit --help for the options`);
  }
  const { values: options, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (options.help || name === undefined || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command '${name}': run byokit --help to list the commands`);
  const command = name as Command;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' after ${command}`);
  const allowed = new Set<string>([...DATABASE_OPTIONS, ...COMMANDS[command]]);
  for (const option of Object.keys(options)) {
    if (!allowed.has(option)) throw new UsageError(`${command} takes no --${option}`);
  }

  switch (command) {
    case 'migrate':
      return migrateCommand(options);
    case 'key-ids':
      return keyIdsCommand(options);
    case 'rotate-keys':
      return rotateKeysCommand(options);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

async function migrateCommand(options: Options): Promise<number> {
  return withStorage(options, { create: true }, async ({ storage, description }) => {
    const result = await storage.migrate();
    if (result.applied.length === 0) {
      console.log(`The schema of ${description} is current (version ${result.version}).`);
    } else {
      console.log(`Applied ${result.applied.join(', ')} to ${description}; the schema is at version ${result.version}.`);
    }
    return 0;
  });
}

async function keyIdsCommand(options: Options): Promise<number> {
  const keyring = await loadKeyring(options, { optional: true });
  return withStorage(options, { create: false }, async ({ storage, description }) => {
    const counts = await storage.countKeysByMasterKeyId();
    console.log(`Stored keys by master key id in ${description}:`);
    printCounts(counts, keyring);
    if (keyring === undefined) console.log('(No keyring given: set BYOKIT_KEYRING or pass --keyring-file to mark the primary.)');
    return 0;
  });
}

async function rotateKeysCommand(options: Options): Promise<number> {
  const batchSize = parseBatchSize(options['batch-size']);
  const keyring = (await loadKeyring(options, { optional: false }))!;
  return withStorage(options, { create: false }, async ({ storage, description }) => {
    // createByokit refuses a keyring that cannot open every stored key, with a message naming the id
    // and its row count: that message reaches the user as is (spec/security.md, "Fail closed at start-up").
    const byokit = await createByokit({ storage: yieldingEachRow(storage), keyring, environment: {}, logger: stderrLogger });
    console.log(`Re-encrypting the stored keys in ${description} under the primary master key '${keyring.primaryId}'.`);

    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      console.error(`byokit: ${signal}: stopping after the current row (press Ctrl-C again to stop at once).`);
      stop.abort(signal);
    };
    // `once`: a second signal gets Node's default, ending the process at once, which is also safe (each row
    // is replaced by a compare-and-swap).
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    let progress: RotationProgress;
    try {
      progress = await byokit.rotateKeys({ batchSize, signal: stop.signal, onProgress: (page) => console.log(formatProgress(page)) });
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }

    const counts = await byokit.keyRowsByMasterKeyId();
    const left = [...counts].filter(([id]) => id !== keyring.primaryId).reduce((sum, [, rows]) => sum + rows, 0);
    console.log(`${stop.signal.aborted ? 'Stopped' : 'Finished'}: ${formatProgress(progress)}.`);
    console.log('Stored keys by master key id:');
    printCounts(counts, keyring);
    if (stop.signal.aborted) {
      console.log('Run byokit rotate-keys again to resume: rows already on the primary are not touched again.');
      return 128 + constants.signals[stop.signal.reason as NodeJS.Signals];
    }
    if (progress.failed > 0) {
      console.error(`byokit: ${progress.failed} stored key(s) could not be opened (see above); they stay sealed as they were.`);
      return 1;
    }
    if (left === 0) {
      console.log(`Every stored key is sealed by '${keyring.primaryId}': the other ids can now be retired (BYOKIT_KEYRING_RETIRED).`);
    } else {
      // Rows written meanwhile by a server whose keyring still has the old primary first.
      console.log(`${left} stored key(s) are still on other ids: check every server's keyring, then run byokit rotate-keys again.`);
    }
    return 0;
  });
}

/**
 * The storage, returning to the event loop before each page and each row's write. PGlite runs in this
 * process and its queries resolve without ever doing so, which would keep a SIGINT handler from running
 * until the whole rotation had ended.
 */
function yieldingEachRow(storage: Storage): Storage {
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  return {
    ...storage,
    listKeysToReseal: async (...args) => {
      await turn();
      return storage.listKeysToReseal(...args);
    },
    replaceKeyEnvelope: async (...args) => {
      await turn();
      return storage.replaceKeyEnvelope(...args);
    },
  };
}

/**
 * Opens the database the options and environment name, runs `work` and closes it. The embedded database is
 * opened without migrating: `migrate` then says what it applied, and `key-ids` or `rotate-keys` never change
 * a schema they were not asked to.
 */
async function withStorage(options: Options, mode: { create: boolean }, work: (opened: OpenedStorage) => Promise<number>): Promise<number> {
  const tables = { schema: options.schema, tablePrefix: options['table-prefix'] };
  try {
    sqlNames(tables.schema, tables.tablePrefix);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const opened = await openStorage(options, tables, mode);
  try {
    return await work(opened);
  } catch (error) {
    // 42P01 undefined_table: the schema was never created here.
    if ((error as { code?: unknown }).code === '42P01') throw new Error(`${(error as Error).message}: run byokit migrate first`);
    throw error;
  } finally {
    await opened.close();
  }
}

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
  return openEmbedded(join(resolve(directory), 'pgdata'), tables, mode);
}

async function openEmbedded(
  path: string,
  tables: { schema?: string; tablePrefix?: string },
  mode: { create: boolean },
): Promise<OpenedStorage> {
  // A mistyped folder would otherwise become a new, empty database that reports no keys.
  if (!mode.create && !existsSync(join(path, 'PG_VERSION'))) {
    throw new Error(`there is no embedded database in ${path}: check --data-dir (or BYOKIT_DATA_DIR), or run byokit migrate to create one`);
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
      secrets.push(url.password, decodeURIComponent(url.password));
      url.password = '***';
    }
    return `${url.href} (schema ${schema})`;
  } catch {
    // A key=value connection string: not parsed here, so not echoed at all.
    secrets.push(connectionString);
    return `the PostgreSQL server in DATABASE_URL (schema ${schema})`;
  }
}

/**
 * The keyring from `--keyring-file` (the same text as `BYOKIT_KEYRING`) or the environment; undefined when
 * `optional` and neither is there. Its errors name entries by position and id, never key material.
 */
async function loadKeyring(options: Options, { optional }: { optional: boolean }): Promise<Keyring | undefined> {
  const file = options['keyring-file'];
  const retired = process.env.BYOKIT_KEYRING_RETIRED;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the keyring file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (text.trim() === '') throw new Error(`the keyring file ${file} is empty`);
    return keyringFromEnv({ BYOKIT_KEYRING: text.trim(), BYOKIT_KEYRING_RETIRED: retired });
  }
  if (optional && !process.env.BYOKIT_KEYRING?.trim()) return undefined;
  return keyringFromEnv(process.env);
}

function parseBatchSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const size = Number(text);
  if (!/^\d+$/.test(text) || size < 1 || size > 10_000)
    throw new UsageError(`--batch-size must be a whole number from 1 to 10000 (got '${text}')`);
  return size;
}

/**
 * Prints one line per master key id: the stored keys' ids, and the keyring's too (with 0 rows) so that a
 * finished rotation shows 0 on the old id rather than leaving it out.
 */
function printCounts(counts: Map<string, number>, keyring: Keyring | undefined): void {
  const ids = [...new Set([...(keyring?.ids ?? []), ...counts.keys()])];
  if (ids.length === 0) {
    console.log('  (no stored keys)');
    return;
  }
  const width = Math.max(...ids.map((id) => id.length));
  const rowsWidth = Math.max(...ids.map((id) => String(counts.get(id) ?? 0).length));
  for (const id of ids) {
    const line = `  ${id.padEnd(width)}  ${String(counts.get(id) ?? 0).padStart(rowsWidth)}  ${keyState(id, keyring)}`;
    console.log(line.trimEnd());
  }
}

function keyState(id: string, keyring: Keyring | undefined): string {
  if (keyring === undefined) return '';
  if (id === keyring.primaryId) return 'primary';
  if (keyring.retiredIds.includes(id)) return 'retired';
  return keyring.ids.includes(id) ? '' : 'not in the keyring';
}

function formatProgress({ resealed, skipped, failed, scanned }: RotationProgress): string {
  return `resealed ${resealed} / skipped ${skipped} / failed ${failed} / scanned ${scanned}`;
}

/** Where the re-encryption reports rows that did not open (owner, provider and key id; never a key). */
const stderrLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (fields, message) => console.error(`byokit: ${message} ${JSON.stringify(fields)}`),
  error: (fields, message) => console.error(`byokit: ${message} ${JSON.stringify(fields)}`),
};

function errorMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  // storage_unavailable says only "try again"; its cause says why. Node's ECONNREFUSED to a host with
  // several addresses is an AggregateError with an empty message, hence the code.
  const cause = error instanceof Error ? (error.cause as (Error & { code?: string }) | undefined) : undefined;
  if (cause instanceof Error && (cause.message || cause.code)) message += ` (${cause.message || cause.code})`;
  for (const secret of secrets) if (secret !== '') message = message.split(secret).join('***');
  return message;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`byokit: ${errorMessage(error)}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
