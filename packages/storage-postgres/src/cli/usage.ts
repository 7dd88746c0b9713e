// The command line of `byokit`: its help text, options and commands, and how arguments become a command to run.
import { parseArgs } from 'node:util';
import type { KeyOwner } from '@byokit/core';

/** The text `byokit help`, `byokit --help` and a bare `byokit` print. */
export const USAGE = `Usage: byokit <command> [options]

Commands:
  migrate       Create or upgrade byokit's tables.
  key-ids       Show how many stored keys each master key id seals (rotation progress).
  key-owners    List each stored key's owner (system, or the user id), provider, hint, master key id
                and last update, never the key: whom to tell after a master key leak.
  key-audit     List the key changes, newest first: when, set or delete, owner, provider, hint, who
                made it and the request id, never the key.
  rotate-keys   Re-encrypt every stored key under the keyring's primary master key. Resumable: stop it
                with Ctrl-C and run it again to continue.
  help          Show this text.

Options:
  --database-url URL    A PostgreSQL server (default: DATABASE_URL).
  --data-dir DIR        An embedded PostgreSQL (PGlite): DIR itself when it is a database folder (it holds
                        PG_VERSION; the dataDir given to embeddedPostgresStorage), else DIR/pgdata (the
                        example server's data folder). migrate creates DIR/pgdata when neither is one.
                        Default: BYOKIT_DATA_DIR.
  --schema NAME         Schema of byokit's tables (default: public).
  --table-prefix TEXT   Prefix of byokit's table names (default: byokit_).
  --keyring-file PATH   Read the keyring from a file instead of BYOKIT_KEYRING, e.g. the example
                        server's <data dir>/keyring (key-ids, rotate-keys).
  --batch-size N        Rows per page (rotate-keys, key-owners, key-audit; default: 500).
  --master-key-id ID    Only the keys sealed under ID (key-owners).
  --owner ID            Only the changes to the keys of the user ID, even one named system (key-audit).
  --system              Only the changes to the system keys (key-audit).
  --since DATE          Only the changes from DATE on: 2026-12-01 (UTC midnight), 2026-12-01T09:30:00Z (key-audit).
  --json                One JSON object a line (key-owners, key-audit), instead of lines separated by
                        tabs; no header, and nothing when none matches. Each line is whole once printed,
                        so a script may read them as they come (jq -c ., or jq -s . for one array).
  -h, --help            Show this text.

Environment:
  DATABASE_URL            PostgreSQL connection string.
  BYOKIT_DATA_DIR         Folder of the embedded database, read as --data-dir is.
  BYOKIT_KEYRING          Master keys as id:base64url, comma-separated, primary first. Needed by
                          rotate-keys; key-ids uses it, when set, to mark the primary.
  BYOKIT_KEYRING_RETIRED  Comma-separated master key ids refused for decryption.

The database is the first given of --database-url, --data-dir, DATABASE_URL, BYOKIT_DATA_DIR.
Only one process at a time may open an embedded database folder: stop the server using it first.

To rotate the master key: put the new key first in BYOKIT_KEYRING with the old one after it, on every
server and here; run byokit rotate-keys until byokit key-ids shows 0 rows on the old id; then retire the
old id (BYOKIT_KEYRING_RETIRED) or remove it.
`;

/** Every option any command takes, in `node:util` `parseArgs` form; values stay text until a command reads them. */
export const OPTIONS = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
  schema: { type: 'string' },
  'table-prefix': { type: 'string' },
  'keyring-file': { type: 'string' },
  'batch-size': { type: 'string' },
  'master-key-id': { type: 'string' },
  owner: { type: 'string' },
  system: { type: 'boolean' },
  since: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options as parsed: each one given, by its long name. */
export type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** The options each command takes besides the database ones; any other is a usage error. */
export const COMMANDS = {
  migrate: [],
  'key-ids': ['keyring-file'],
  'key-owners': ['batch-size', 'master-key-id', 'json'],
  'key-audit': ['batch-size', 'owner', 'system', 'since', 'json'],
  'rotate-keys': ['keyring-file', 'batch-size'],
} as const satisfies Record<string, ReadonlyArray<keyof typeof OPTIONS>>;

/** The name of a command `byokit` runs. */
export type Command = keyof typeof COMMANDS;

/** What the command line asks for: the help text, or a command with its options. */
export type CommandLine = { help: true } | { command: Command; options: Options };

const DATABASE_OPTIONS = new Set<string>(['database-url', 'data-dir', 'schema', 'table-prefix']);

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

/**
 * Reads the arguments after `byokit`: asks for the help text when given `-h`/`--help`, `help` or nothing, else
 * names a command and its options. Throws a {@link UsageError} on an unknown command or option, an extra
 * argument, or an option the command does not take.
 */
export function parseCommandLine(args: string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' first sentence names the option and the problem; the rest is about `--` and positionals.
    throw new UsageError(`${(error as Error).message.split('. ')[0]}: run byokit --help for the options`);
  }
  const { values: options, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (options.help || name === undefined || name === 'help') return { help: true };
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command '${name}': run byokit --help to list the commands`);
  const command = name as Command;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}' after ${command}`);
  const allowed = new Set<string>([...DATABASE_OPTIONS, ...COMMANDS[command]]);
  for (const option of Object.keys(options)) {
    if (!allowed.has(option)) throw new UsageError(`${command} takes no --${option}`);
  }
  return { command, options };
}

/** The rows per page `--batch-size` asks for, or undefined when not given; a {@link UsageError} outside 1 to 10000. */
export function parseBatchSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const size = Number(text);
  if (!/^\d+$/.test(text) || size < 1 || size > 10_000)
    throw new UsageError(`--batch-size must be a whole number from 1 to 10000 (got '${text}')`);
  return size;
}

/** Whether `text` is a master key as a keyring writes it: 32 bytes in base64url, spelt the one way it is. */
function isMasterKeyText(text: string): boolean {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.length === 32 && bytes.toString('base64url') === text;
}

/**
 * The master key id `--master-key-id` names, or undefined when not given; a {@link UsageError} when empty, or a master
 * key itself.
 */
export function parseMasterKeyId(text: string | undefined): string | undefined {
  if (text === '') throw new UsageError("--master-key-id must name a master key id (got '')");
  // The key itself (its 32 bytes in base64url, which no keyring takes as an id) rather than its id: never quoted back,
  // and never printed as an id.
  if (text !== undefined && isMasterKeyText(text)) {
    throw new UsageError('--master-key-id must name a master key id (k1), not the master key: run byokit key-ids to list the ids');
  }
  return text;
}

/**
 * Whose changes `--owner ID` or `--system` asks for, or undefined for every owner's. `--owner` is always a user id
 * (`system` is a user id like any other), so the system keys have a flag of their own; a {@link UsageError} when
 * both are given or the id is empty.
 */
export function parseAuditOwner(owner: string | undefined, system: boolean | undefined): KeyOwner | undefined {
  if (owner !== undefined && system) throw new UsageError('give --owner or --system, not both');
  if (system) return { type: 'system', id: 'system' };
  if (owner === '') throw new UsageError("--owner must name a user id (--system for the system keys; got '')");
  return owner === undefined ? undefined : { type: 'user', id: owner };
}

/**
 * The time `--since` names, or undefined when not given: a date (midnight UTC) or a date and time with its offset
 * (`Z` or `+01:00`). A {@link UsageError} on anything else, a time without an offset included (whose zone would be
 * the machine's), and on a date that does not exist (2026-02-30).
 */
export function parseSince(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/.exec(text);
  const day = match ? new Date(`${match[1]}T00:00:00Z`) : undefined;
  const date = match?.[2] === undefined ? day : new Date(text);
  // Date rolls 2026-02-30 over to March 2: the day read back must be the one given.
  const exists = day !== undefined && !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === match![1];
  if (!exists || date === undefined || Number.isNaN(date.getTime())) {
    throw new UsageError(`--since must be a date or a time in ISO 8601 (2026-12-01, 2026-12-01T09:30:00Z; got '${text}')`);
  }
  return date;
}
