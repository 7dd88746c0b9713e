import { ByokitError } from '@byokit/core';

// SQLSTATE classes and codes that mean "the database is not there right now", not "this query is wrong":
// 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections, 28 a login
// refused (28P01 a password changed under a running pool, 28000 a role that may no longer log in); the server
// ending a session for a timeout a host set, 25P03 idle_in_transaction_session_timeout and 57P05
// idle_session_timeout (node-postgres reads its goodbye when its loop next turns: in a busy process, the next
// statement was sent already, and fails with that code; before, a 500); "it did
// not answer in time": 57014 query_canceled (a statement_timeout, or a cancel from an operator) and 55P03
// lock_not_available (a lock_timeout), a statement that waited on another session's lock, which retrying serves;
// "it cannot take this now": 25006 read_only_sql_transaction (a standby after a failover, or
// default_transaction_read_only), 53000-53200 insufficient resources (disk full, out of memory), and 40001
// serialization_failure / 40P01 deadlock_detected, a transaction that lost to another, which PostgreSQL
// asks the client to run again. Each was a 500 internal_error, as if byokit had a bug; the log keeps the cause.
const UNAVAILABLE_STATES = /^(08...|28...|57P0[1235]|25P03|57014|55P03|53[0-3]00|25006|40001|40P01)$/;
const UNAVAILABLE_SYSTEM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** True when an error says the database cannot be reached, rather than that a statement failed. */
export function isUnavailable(error: unknown): boolean {
  return readable(() => unavailable(error));
}

function unavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_SYSTEM_CODES.has(code))) return true;
  // node-postgres reports a connection that ended under it, or a pool wait that timed out, without a code.
  // pg-pool words the latter "timeout exceeded when trying to connect" (no free client within
  // connectionTimeoutMillis), a new connection that timed out "Connection terminated due to connection timeout",
  // and a statement with no answer within the pool's query_timeout "Query read timeout".
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(
      error.message,
    )
  )
    return true;
  // PGlite, once closed (or while closing), fails every call with exactly this message and no code: the
  // embedded database is gone, as a server that went away is. Matched whole, so that no query error can pass for it.
  return /^PGlite is clos(ed|ing)$/.test(error.message);
}

/**
 * True when a statement failed because its connection did (cut, or silent past the pool's query_timeout), rather
 * than with an answer from the server, which carries its severity: nothing more can be said on that connection.
 */
export function connectionFailed(error: unknown): boolean {
  return readable(() => unavailable(error) && typeof (error as { severity?: unknown }).severity !== 'string');
}

/**
 * True when PostgreSQL failed a transaction for losing to another one running at the same time (40001
 * serialization_failure, 40P01 deadlock_detected): it did nothing, and the same transaction run again may well pass.
 */
export function lostToAnother(error: unknown): boolean {
  return readable(() => {
    if (!(error instanceof Error)) return false;
    const code = (error as { code?: unknown }).code;
    return code === '40001' || code === '40P01';
  });
}

/** True when a statement broke a unique constraint (SQLSTATE 23505), on a server or on PGlite. */
export function isUniqueViolation(error: unknown): boolean {
  return readable(() => error instanceof Error && (error as { code?: unknown }).code === '23505');
}

/**
 * What `question` says of an error, or false when the error cannot be read: a host's pool (a wrapper, a test double)
 * may fail with anything, a revoked proxy among it, whose every read throws (`instanceof` too). Thrown where a
 * transaction failed, the read skipped its ROLLBACK, and the client went back to the pool inside its open transaction.
 */
function readable(question: () => boolean): boolean {
  try {
    return question();
  } catch {
    return false;
  }
}

/**
 * Runs a storage operation, turning "the database is unavailable" into `storage_unavailable` (503), so
 * that a request during an outage gets a clean answer in the contract's shape and the next one, once the
 * database is back, just works. Any other failure is rethrown as is (a 500, logged by core).
 */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isUnavailable(error))
      throw new ByokitError('storage_unavailable', 'The database is unavailable; try again shortly.', {}, { cause: error });
    throw error;
  }
}
