import { PROVIDERS, type Provider } from './keys/providers.js';
import type { KeyResolver } from './resolve/key-resolver.js';
import { userOwner, type ForgottenUsage, type KeyWriteActor, type Storage } from './storage/storage.js';

/** Options of `byokit.forgetUser`. */
export interface ForgetUserOptions {
  /**
   * What becomes of the user's usage records, which are billing data. Required: each choice gives something up.
   * `'keep'`: they stay under the user id, in every total and in the month's spending a budget counts, so nothing
   * owed is lost; but whoever you give the same id to next sees them as theirs. `'delete'`: they go, with that
   * spending, and what the user spent is gone from every total: bill it first (`byokit.usage.query({ userId })`).
   */
  usage: ForgottenUsage;
  /** Who asked, kept as the actor of each deleted key's audit record (an admin's user id, say). Default `host`. */
  actorId?: string | undefined;
  /**
   * Kept in those audit records, to find them again; a new UUID when left out. Held to the rule of `x-request-id`: 1
   * to 128 characters of `A-Za-z0-9._:-`.
   */
  requestId?: string | undefined;
}

/** What `byokit.forgetUser` removed. */
export interface ForgottenUser {
  /** The providers whose personal key of the user was deleted, each with an audit record. */
  keysDeleted: Provider[];
  /** Whether the user had a budget, now removed (with the holds of their calls). */
  budgetRemoved: boolean;
  /** How many usage records were deleted: 0 with `usage: 'keep'`. */
  usageRecordsDeleted: number;
  /** The audit records' request id. */
  requestId: string;
}

/**
 * Forgets a user in one storage step (Storage.forgetUser), then drops their keys from this node's cache, even when
 * the step failed (its outcome unknown: a cache miss is only a read), as a key write does. Other nodes stop using
 * the keys within their cache's TTL, as after `DELETE /users/me/api-key`.
 *
 * @throws TypeError when the storage has no `forgetUser` (one written before it): nothing is done.
 */
export async function forgetUser(
  storage: Storage,
  resolver: KeyResolver,
  userId: string,
  usage: ForgottenUsage,
  actor: KeyWriteActor,
  at: Date,
): Promise<ForgottenUser> {
  if (typeof storage.forgetUser !== 'function') {
    throw new TypeError(
      "byokit.forgetUser: this storage has no forgetUser(userId, usage, actor, at), which deletes a user's keys, budget and holds in one step: nothing was forgotten. Update the storage (storage-postgres and memoryStorage have it; describeStorageConformance tests it).",
    );
  }
  try {
    const forgotten = await storage.forgetUser(userId, usage, actor, at);
    return {
      keysDeleted: forgotten.audit.map((record) => record.provider),
      budgetRemoved: forgotten.budgetRemoved,
      usageRecordsDeleted: forgotten.usageRecordsDeleted,
      requestId: actor.requestId,
    };
  } finally {
    for (const provider of PROVIDERS) resolver.invalidate(userOwner(userId), provider);
  }
}
