#!/usr/bin/env node
/**
 * The `byokit` command: schema migrations, the re-encryption step of a master key rotation (spec/security.md,
 * "Rotation") and the list of the stored keys' owners (whom to tell after a master key leak) on the database byokit
 * keeps its keys in. One function per command; `main` parses the arguments and turns failures into
 * `byokit: <message>` and an exit code (1, or 2 for usage).
 * Nothing it prints carries a key, a key's bytes or a database password.
 *
 * The pieces live in ./cli/: the command line (usage.ts), the database (database.ts), the keyring
 * (keyring.ts) and what gets printed (output.ts).
 */
import { constants } from 'node:os';
import { createByokit, type KeyRowCursor, type Logger, type RotationProgress, type Storage } from '@byokit/core';
import { withStorage } from './cli/database.js';
import { loadKeyring } from './cli/keyring.js';
import {
  auditRecordJson,
  errorMessage,
  formatAuditRecord,
  formatCounts,
  formatKeyOwner,
  formatLockWait,
  formatProgress,
  KEY_AUDIT_HEADER,
  KEY_OWNERS_HEADER,
  keyOwnerJson,
  lineWriter,
  printableJson,
  stderrLogger,
  writeOut,
} from './cli/output.js';
import {
  parseAuditOwner,
  parseBatchSize,
  parseCommandLine,
  parseMasterKeyId,
  parseSince,
  USAGE,
  UsageError,
  type Options,
} from './cli/usage.js';

async function main(args: string[]): Promise<number> {
  const commandLine = parseCommandLine(args);
  if ('help' in commandLine) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { command, options } = commandLine;
  switch (command) {
    case 'migrate':
      return migrateCommand(options);
    case 'key-ids':
      return keyIdsCommand(options);
    case 'key-owners':
      return keyOwnersCommand(options);
    case 'key-audit':
      return keyAuditCommand(options);
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
    const out = lineWriter();
    const result = await storage.migrate({ onLockWait: (wait) => out.line(formatLockWait(wait)) });
    if (result.applied.length === 0) {
      out.line(`The schema of ${description} is current (version ${result.version}).`);
    } else {
      out.line(`Applied ${result.applied.join(', ')} to ${description}; the schema is at version ${result.version}.`);
    }
    await out.end();
    return 0;
  });
}

async function keyIdsCommand(options: Options): Promise<number> {
  const keyring = await loadKeyring(options, { optional: true });
  return withStorage(options, { create: false }, async ({ storage, description }) => {
    const counts = await storage.countKeysByMasterKeyId();
    const lines = [`Stored keys by master key id in ${description}:`, ...formatCounts(counts, keyring)];
    if (keyring === undefined) lines.push('(No keyring given: set BYOKIT_KEYRING or pass --keyring-file to mark the primary.)');
    await writeOut(`${lines.join('\n')}\n`);
    return 0;
  });
}

/** Rows `key-owners` reads a page, as rotate-keys re-encrypts, unless --batch-size says otherwise. */
const KEY_OWNERS_PAGE = 500;

async function keyOwnersCommand(options: Options): Promise<number> {
  const limit = parseBatchSize(options['batch-size']) ?? KEY_OWNERS_PAGE;
  const masterKeyId = parseMasterKeyId(options['master-key-id']);
  const json = options.json === true;
  return withStorage(options, { create: false }, async ({ storage, description }) => {
    // Written with the first page, once it is read: a table that is not there prints its failure alone.
    const header = json ? '' : `${KEY_OWNERS_HEADER}\n`;
    const listed = await writePages(
      limit,
      (after: KeyRowCursor | undefined) => storage.listKeyOwners({ limit, after, masterKeyId }),
      (last) => ({ ownerType: last.owner.type, ownerId: last.owner.id, provider: last.provider }),
      (page, before) =>
        writeOut((before === 0 ? header : '') + page.map((row) => `${json ? keyOwnerJson(row) : formatKeyOwner(row)}\n`).join('')),
    );
    if (listed === 0 && !json) {
      // The database named: an empty list read from the wrong schema or folder must not pass for nobody to tell.
      const none = masterKeyId === undefined ? 'no stored keys' : `no stored key is sealed under '${masterKeyId}'`;
      await writeOut(`${header}(${none} in ${description})\n`);
    }
    return 0;
  });
}

async function keyAuditCommand(options: Options): Promise<number> {
  const limit = parseBatchSize(options['batch-size']) ?? KEY_OWNERS_PAGE;
  const owner = parseAuditOwner(options.owner, options.system);
  const since = parseSince(options.since);
  const json = options.json === true;
  return withStorage(options, { create: false }, async ({ storage, description }) => {
    // Written with the first page, once it is read: a table that is not there prints its failure alone.
    const header = json ? '' : `${KEY_AUDIT_HEADER}\n`;
    const listed = await writePages(
      limit,
      (after: string | undefined) => storage.listKeyAudit({ limit, after, owner, since }),
      (last) => last.id,
      (page, before) =>
        writeOut(
          (before === 0 ? header : '') + page.map((record) => `${json ? auditRecordJson(record) : formatAuditRecord(record)}\n`).join(''),
        ),
    );
    if (listed === 0 && !json) {
      // The database named, as key-owners does: an empty trail read from the wrong schema or folder must not pass for none.
      const whose = owner === undefined ? '' : owner.type === 'system' ? ' of the system keys' : ` of user ${printableJson(owner.id)}`;
      const when = since === undefined ? '' : ` since ${since.toISOString()}`;
      await writeOut(`${header}(no audit records${whose}${when} in ${description})\n`);
    }
    return 0;
  });
}

/**
 * Reads pages of `limit` rows, each after the last row of the one before (`cursorOf`), until one comes back short,
 * writing each (`write`, told how many rows came before it) before the next is read: a table of any size is never
 * held whole. Resolves with how many rows were listed.
 */
async function writePages<Row, Cursor>(
  limit: number,
  read: (after: Cursor | undefined) => Promise<Row[]>,
  cursorOf: (last: Row) => Cursor,
  write: (page: Row[], before: number) => Promise<void>,
): Promise<number> {
  let listed = 0;
  let after: Cursor | undefined;
  for (;;) {
    const page = await read(after);
    if (page.length > 0) await write(page, listed);
    listed += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < limit) return listed;
    after = cursorOf(last);
  }
}

async function rotateKeysCommand(options: Options): Promise<number> {
  const batchSize = parseBatchSize(options['batch-size']);
  const keyring = (await loadKeyring(options, { optional: false }))!;
  return withStorage(options, { create: false }, async ({ storage, description }) => {
    // createByokit refuses a keyring that cannot open every stored key, with a message naming the id
    // and its row count: that message reaches the user as is (spec/security.md, "Fail closed at start-up").
    // The master key ids of the rows that did not open, as the re-encryption logs each one, for the advice below.
    const unopenedIds = new Set<string>();
    const logger: Logger = {
      ...stderrLogger,
      error: (fields, message) => {
        if (typeof fields.keyId === 'string') unopenedIds.add(fields.keyId);
        stderrLogger.error(fields, message);
      },
    };
    const byokit = await createByokit({ storage: yieldingEachRow(storage), keyring, environment: {}, logger });
    const stop = new AbortController();
    // The reader gone (rotate-keys | head) stops the run after the current row, as a signal does; then exit 141.
    const out = lineWriter(() => stop.abort('SIGPIPE'));
    out.line(`Re-encrypting the stored keys in ${description} under the primary master key '${keyring.primaryId}'.`);

    const onSignal = (signal: NodeJS.Signals) => {
      console.error(`byokit: ${signal}: stopping after the current row (press Ctrl-C again to stop at once).`);
      stop.abort(signal);
    };
    // `once`: a second signal gets Node's default, ending the process at once, which is also safe (each row
    // is replaced by a compare-and-swap).
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    let progress: RotationProgress;
    try {
      progress = await byokit.rotateKeys({ batchSize, signal: stop.signal, onProgress: (page) => out.line(formatProgress(page)) });
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }

    const counts = await byokit.keyRowsByMasterKeyId();
    const left = [...counts].filter(([id]) => id !== keyring.primaryId).reduce((sum, [, rows]) => sum + rows, 0);
    out.line(`${stop.signal.aborted ? 'Stopped' : 'Finished'}: ${formatProgress(progress)}.`);
    out.line('Stored keys by master key id:');
    for (const line of formatCounts(counts, keyring)) out.line(line);
    if (stop.signal.aborted) {
      out.line('Run byokit rotate-keys again to resume: rows already on the primary are not touched again.');
      // Every line written before the exit code; the reader gone, out.end() throws EPIPE instead (exit 141).
      await out.end();
      return 128 + constants.signals[stop.signal.reason as NodeJS.Signals];
    }
    if (progress.failed > 0) {
      // None opened and none on the primary yet: the keyring, not the rows, is the likely fault.
      const noneOpened = progress.resealed === 0 && progress.skipped === 0 && (counts.get(keyring.primaryId) ?? 0) === 0;
      // After the summary its "see above" points at, which stdout may not have written yet (stderr is written at once).
      await out.end().finally(() => console.error(unopenedAdvice(progress.failed, [...unopenedIds], noneOpened)));
      return 1;
    }
    if (left === 0) {
      out.line(`Every stored key is sealed by '${keyring.primaryId}': the other ids can now be retired (BYOKIT_KEYRING_RETIRED).`);
    } else {
      // Rows written meanwhile by a server whose keyring still has the old primary first.
      out.line(`${left} stored key(s) are still on other ids: check every server's keyring, then run byokit rotate-keys again.`);
    }
    await out.end();
    return 0;
  });
}

/**
 * What to do about stored keys that did not open: until each is gone, its master key id cannot be retired (a
 * start refuses a keyring without it). None opening points at the keyring (the right id, another key); one
 * alone not opening is a row altered or moved to another owner, whose key is lost and only its owner can replace.
 */
function unopenedAdvice(failed: number, ids: string[], noneOpened: boolean): string {
  const names = ids.map((id) => `'${id}'`).join(', ') || 'their master key id';
  const lines = [
    `byokit: ${failed} stored key(s) could not be opened (see above); they stay sealed as they were, and ${names} cannot be retired while any is left.`,
  ];
  if (noneOpened) {
    lines.push(
      `byokit: None opened: check that the keyring's key for ${names} is the one that sealed them (the id matches, the key does not), and run byokit rotate-keys again.`,
    );
  }
  lines.push(
    "byokit: A key that alone does not open is lost (altered, or moved from another owner's row): its owner saves it again or removes it (PATCH or DELETE /users/me/api-key; the system key: /admin/api-key), which takes it off its old id.",
  );
  return lines.join('\n');
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // The reader of the output went away (byokit key-owners | head): stop as a process that SIGPIPE ended, silently.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') {
      process.exitCode = 128 + constants.signals.SIGPIPE;
      return;
    }
    console.error(`byokit: ${errorMessage(error)}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
