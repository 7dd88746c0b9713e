// What `byokit` prints: key counts by master key id, rotation and migration progress, logged rows and error messages.
import type { Keyring, Logger, RotationProgress } from '@byokit/core';
import type { MigrationLockWait } from '../migrate.js';
import { redactSecrets } from './database.js';

/**
 * Prints one line per master key id: the stored keys' ids, and the keyring's too (with 0 rows) so that a
 * finished rotation shows 0 on the old id rather than leaving it out.
 */
export function printCounts(counts: Map<string, number>, keyring: Keyring | undefined): void {
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

/** The keyring's word for a master key id in the counts (primary, retired, not in the keyring), or nothing. */
function keyState(id: string, keyring: Keyring | undefined): string {
  if (keyring === undefined) return '';
  if (id === keyring.primaryId) return 'primary';
  if (keyring.retiredIds.includes(id)) return 'retired';
  return keyring.ids.includes(id) ? '' : 'not in the keyring';
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
 * The text to print after `byokit: ` for a failure: its message, its cause's when there is one, and no
 * database password. The redaction is here rather than in the caller so that no failure can be printed without it.
 */
export function errorMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  // storage_unavailable says only "try again"; its cause says why. Node's ECONNREFUSED to a host with
  // several addresses is an AggregateError with an empty message, hence the code. A message that already says
  // its cause's (a failed migration's) is not followed by it again.
  const cause = error instanceof Error ? (error.cause as (Error & { code?: string }) | undefined) : undefined;
  const why = cause instanceof Error ? cause.message || cause.code : undefined;
  if (why && !message.includes(why)) message += ` (${why})`;
  return redactSecrets(message);
}
