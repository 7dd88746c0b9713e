// What `byokit` prints, and how: key counts by master key id, the stored keys' owners, rotation and migration progress, logged
// rows and error messages.
import type { AuditRecord, Keyring, Logger, RotationProgress } from '@byokit/core';
import type { StoredKeyOwner } from '../key-queries.js';
import type { MigrationLockWait } from '../migrate.js';
import { redactSecrets } from './database.js';

/**
 * One line per master key id: the stored keys' ids, and the keyring's too (with 0 rows) so that a finished rotation
 * shows 0 on the old id rather than leaving it out.
 */
export function formatCounts(counts: Map<string, number>, keyring: Keyring | undefined): string[] {
  const ids = [...new Set([...(keyring?.ids ?? []), ...counts.keys()])];
  if (ids.length === 0) return ['  (no stored keys)'];
  const width = Math.max(...ids.map((id) => id.length));
  const rowsWidth = Math.max(...ids.map((id) => String(counts.get(id) ?? 0).length));
  return ids.map((id) => `  ${id.padEnd(width)}  ${String(counts.get(id) ?? 0).padStart(rowsWidth)}  ${keyState(id, keyring)}`.trimEnd());
}

/** The keyring's word for a master key id in the counts (primary, retired, not in the keyring), or nothing. */
function keyState(id: string, keyring: Keyring | undefined): string {
  if (keyring === undefined) return '';
  if (id === keyring.primaryId) return 'primary';
  if (keyring.retiredIds.includes(id)) return 'retired';
  return keyring.ids.includes(id) ? '' : 'not in the keyring';
}

/** The first line of `key-owners`: its columns, separated by tabs as each line's are. */
export const KEY_OWNERS_HEADER = 'owner\tprovider\thint\tmaster_key_id\tupdated_at';

/**
 * `value` as JSON, with every character that is not printable escaped: JSON.stringify leaves DEL, the C1 controls
 * (U+009B starts a terminal command as ESC [ does), bidi overrides and U+2028 as they are.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\p{C}\p{Zl}\p{Zp}]/gu, (character) =>
    character
      .split('')
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/**
 * A column of a `key-owners` line: the text as is, or as a JSON string when it holds a space, a quote or a character
 * that is not printable, or is `reserved`. A user id is any text the host's `authenticate` gave: a newline in one
 * would start a line that is not a key, an escape sequence would drive the terminal, and a user named `system`
 * would read as the system key.
 */
function column(text: string, reserved?: string): string {
  return text === '' || text === reserved || /[\p{C}\p{Z}"]/u.test(text) ? printableJson(text) : text;
}

/** One line of `key-owners`, without the key: owner, provider, hint, master key id and last update (UTC). */
export function formatKeyOwner({ owner, provider, hint, keyId, updatedAt }: StoredKeyOwner): string {
  const ownerColumn = owner.type === 'system' ? 'system' : column(owner.id, 'system');
  return [ownerColumn, provider, column(hint), column(keyId), updatedAt.toISOString()].join('\t');
}

/** One line of `key-owners --json`: one JSON object, as each of `key-audit --json`'s. */
export function keyOwnerJson({ owner, provider, hint, keyId, updatedAt }: StoredKeyOwner): string {
  return printableJson({
    owner_type: owner.type,
    owner: owner.id,
    provider,
    hint,
    master_key_id: keyId,
    updated_at: updatedAt.toISOString(),
  });
}

/** The first line of `key-audit`: its columns, separated by tabs as each line's are. */
export const KEY_AUDIT_HEADER = 'at\taction\towner\tprovider\thint\tactor\trequest_id';

/**
 * One line of `key-audit`: when (UTC), set or delete, owner (as key-owners prints it), provider, hint, actor and request
 * id. Nothing of the key but its hint, which is all the record holds.
 */
export function formatAuditRecord({ at, action, owner, provider, hint, actorId, requestId }: AuditRecord): string {
  const ownerColumn = owner.type === 'system' ? 'system' : column(owner.id, 'system');
  return [at.toISOString(), action, ownerColumn, provider, column(hint), column(actorId), column(requestId)].join('\t');
}

/** One line of `key-audit --json`: one JSON object. */
export function auditRecordJson({ at, action, owner, provider, hint, actorId, requestId }: AuditRecord): string {
  return printableJson({
    at: at.toISOString(),
    action,
    owner_type: owner.type,
    owner: owner.id,
    provider,
    hint,
    actor: actorId,
    request_id: requestId,
  });
}

/**
 * Writes to stdout and waits until it is written, so that a long list is never held in memory while its reader (a
 * pipe, a terminal) is behind. Rejects with the write's error: EPIPE when the reader has gone (`| head`).
 */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The stream also emits the failure as an 'error' event, after the callback: unheard, it would end the process.
    process.stdout.once('error', reject);
    process.stdout.write(text, (error) => {
      if (error) return reject(error);
      process.stdout.off('error', reject);
      resolve();
    });
  });
}

/**
 * stdout for a command that prints as it works (migrate's lock waits, rotate-keys' progress), line by line through
 * {@link writeOut}, in order, from callbacks that cannot wait. Once the reader has gone, later lines are dropped and
 * `onGone` is called (rotate-keys stops after the current row); `end()` resolves once every line is written, or
 * rejects with the write's error (EPIPE), which ends the command as it ends key-owners. console.log ignored the
 * first EPIPE and threw the next one as an unhandled 'error' event: `rotate-keys | head -1` printed a stack trace.
 */
export function lineWriter(onGone: () => void = () => {}) {
  let failure: { error: unknown } | undefined;
  let written = Promise.resolve();
  return {
    line(text: string): void {
      written = written
        .then(() => (failure === undefined ? writeOut(`${text}\n`) : undefined))
        .catch((error: unknown) => {
          failure = { error };
          onGone();
        });
    },
    async end(): Promise<void> {
      await written;
      if (failure !== undefined) throw failure.error;
    },
  };
}

/** One line of rotation progress: the running totals of a page, or of the whole run. */
export function formatProgress({ resealed, skipped, failed, scanned }: RotationProgress): string {
  return `resealed ${resealed} / skipped ${skipped} / failed ${failed} / scanned ${scanned}`;
}

/** One line for a migrate run that gave way to another session's lock and will start again. */
export function formatLockWait({ migration, run, runs, pauseMs }: MigrationLockWait): string {
  return (
    `Migration ${migration} waits for a lock on a table it changes, held by another session (a long transaction, a report, ` +
    `a pg_dump: see pg_locks and pg_stat_activity): run ${run} of ${runs} undone, trying again in ${pauseMs / 1000} s.`
  );
}

/** Where the re-encryption reports rows that did not open (owner, provider and key id; never a key). */
export const stderrLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (fields, message) => console.error(`byokit: ${message} ${JSON.stringify(fields)}`),
  error: (fields, message) => console.error(`byokit: ${message} ${JSON.stringify(fields)}`),
};

/**
 * A master key as a keyring holds it: 32 bytes in base64url, 43 characters, standing alone (`k1:<key>,k0:<key>`). A
 * refusal quotes what it was given (a path, an argument), and the keyring is easily given where those go.
 */
const MASTER_KEY_TEXT = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

/**
 * The text to print after `byokit: ` for a failure: its message, its cause's when there is one, and no
 * database password nor master key. The redaction is here rather than in the caller so that no failure can be printed
 * without it.
 */
export function errorMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  // storage_unavailable says only "try again"; its cause says why. Node's ECONNREFUSED to a host with
  // several addresses is an AggregateError with an empty message, hence the code. A message that already says
  // its cause's (a failed migration's) is not followed by it again.
  const cause = error instanceof Error ? (error.cause as (Error & { code?: string }) | undefined) : undefined;
  const why = cause instanceof Error ? cause.message || cause.code : undefined;
  if (why && !message.includes(why)) message += ` (${why})`;
  return redactSecrets(message).replace(MASTER_KEY_TEXT, '***');
}
