import type { Budget, BudgetHold, BudgetScope, BudgetUse, HoldOutcome } from '../metering/budget.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { UsagePage, UsageQuery, UsageRecord, UsageSummary, UsageSummaryQuery } from '../metering/usage-record.js';
import type { CatalogModel } from '../catalog/model.js';
import type { Provider } from '../keys/providers.js';

/** Whose key a row is: one user's personal key, or the host's system key (the fallback for everyone). */
export type KeyOwner =
  | {
      /** A user's personal key. */
      readonly type: 'user';
      /** The user's id, as the host's `authenticate` gives it (`Principal.userId`). */
      readonly id: string;
    }
  | {
      /** The host's system key, set by an admin. */
      readonly type: 'system';
      /** Always `system` (see {@link SYSTEM_OWNER}). */
      readonly id: 'system';
    };

/** The one system owner. Its id is fixed so that it can take part in the envelope's associated data. */
export const SYSTEM_OWNER: KeyOwner = Object.freeze({ type: 'system', id: 'system' });

/** The owner of a user's personal keys. */
export function userOwner(userId: string): KeyOwner {
  return { type: 'user', id: userId };
}

/** What the provider said when the key was last checked; `unverified` until it is asked. */
export type KeyVerification = 'unverified' | 'valid' | 'invalid';

/** An encrypted provider key as storage holds it. Never holds plaintext. */
export interface StoredKey {
  /** Whose key it is. */
  owner: KeyOwner;
  /** The provider the key is for: an owner has at most one key per provider. */
  provider: Provider;
  /** The sealed key, as `sealProviderKey` made it: opened with the keyring, and this row's owner and provider. */
  envelope: Uint8Array;
  /** The master key id that sealed `envelope`, mirrored so rotation progress is a query. */
  keyId: string;
  /** The last four characters, prefixed with `…`: all of a key that may ever be shown. */
  hint: string;
  /** What the provider said when the key was last checked. */
  verification: KeyVerification;
  /** When the owner first set a key for this provider: kept when it is replaced, set anew when set after a delete. */
  createdAt: Date;
  /** When the key was last set or replaced (not changed by re-encryption). */
  updatedAt: Date;
}

/** One change in a key write: set (insert or replace) or delete the owner's key for a provider. */
export type KeyChange =
  | {
      /** Insert the key, or replace the owner's key for `provider`. */
      action: 'set';
      /** The provider the key is for. */
      provider: Provider;
      /** The sealed key (see `sealProviderKey`). */
      envelope: Uint8Array;
      /** The master key id that sealed `envelope`. */
      keyId: string;
      /** `…` and the key's last four characters. */
      hint: string;
      /** What the provider said of the key, if it was checked. */
      verification: KeyVerification;
    }
  | {
      /** Delete the owner's key for `provider`; nothing happens (and nothing is audited) when there is none. */
      action: 'delete';
      /** The provider whose key goes. */
      provider: Provider;
    };

/** Who asked for a key write, recorded in the audit trail. */
export interface KeyWriteActor {
  /** The principal's user id. */
  actorId: string;
  /** The id of the request that made the change (its `x-request-id`), to find it in the logs. */
  requestId: string;
}

/** One entry in the audit trail of key changes. It never holds a key, only the hint. */
export interface AuditRecord {
  /** A UUID, unique per record. */
  id: string;
  /** When the change was made. */
  at: Date;
  /** The user id of who made the change: the owner, or an admin; for `byokit.forgetUser`, the `actorId` the host gave (`host` by default). */
  actorId: string;
  /** Whose key changed. */
  owner: KeyOwner;
  /** The provider whose key changed. */
  provider: Provider;
  /** Whether the key was set (added or replaced) or deleted. */
  action: 'set' | 'delete';
  /** The hint of the key set, or of the key deleted. */
  hint: string;
  /** The id of the request that made the change (its `x-request-id`), or the `requestId` of `byokit.forgetUser`. */
  requestId: string;
}

/** What becomes of a forgotten user's usage records (see {@link Storage.forgetUser}). */
export type ForgottenUsage = 'keep' | 'delete';

/** What {@link Storage.forgetUser} removed. */
export interface ForgottenUserRows {
  /** One audit record for each personal key deleted (action `delete`, with its hint), as `writeKeys` writes them. */
  audit: AuditRecord[];
  /** Whether the user had a budget, now removed. */
  budgetRemoved: boolean;
  /** How many usage records were deleted: 0 when they are kept. */
  usageRecordsDeleted: number;
}

/** Where a paged scan of key rows stands: the last row seen, in (owner type, owner id, provider) order. */
export interface KeyRowCursor {
  /** The last row's `owner.type`. */
  ownerType: KeyOwner['type'];
  /** The last row's `owner.id`. */
  ownerId: string;
  /** The last row's provider. */
  provider: Provider;
}

/** Filters for {@link Storage.listAudit}. */
export interface AuditQuery {
  /** Only the changes to this owner's keys. Default: every owner's. */
  owner?: KeyOwner;
  /** At most this many, newest first. Default 100. */
  limit?: number;
}

/**
 * Everything byokit keeps. The in-memory implementation is for tests and trials; storage-postgres is for
 * real use. A third-party implementation proves itself with `describeStorageConformance` from
 * `@byokit/core/testing`. What byokit expects of every method:
 *
 * - **At once**: any method may be called while others run, from this node's requests and from other nodes on the
 *   same database; what a method says is atomic must hold across all of them (a row or a running total read, then
 *   written in a second step, is not).
 * - **Errors**: when the database cannot be reached or cannot take the request now (down, a timeout, read-only),
 *   reject with a `ByokitError` of code `storage_unavailable` (exported by `@byokit/core`): a route answers 503 for that
 *   request alone, and usage records are kept and written again for 5 minutes. Anything else a method rejects with
 *   is the route's `500 internal_error` (a `ByokitError` is answered with its own code, so throw none but those a
 *   method names), and a usage record refused so is given up.
 * - **Values**, read back as written: each time a `Date` (never text or a number), to the millisecond; each amount
 *   in dollars an exact decimal string in its shortest spelling (`'0.5'`, not `'0.50'`, `0.5` or `'5e-1'`), down to
 *   12 decimals; each count a `number` (not a driver's int8 text or a bigint); bytes a plain `Uint8Array` (a driver's
 *   `Buffer` wrapped: `new Uint8Array(buffer)`); `null` where a type says `null`, and a field a type leaves optional
 *   left out when it was. Text is kept and compared exactly: no trimming, padding, case folding or Unicode
 *   normalisation (`'a'`, `'A'` and `'a '` are three users); a user id is up to 255 characters (code points: 255 emoji
 *   are 1,020 bytes of UTF-8).
 * - **Copies**: hand out objects of your own and keep none of the caller's, so that changing either changes nothing
 *   stored.
 * - **Settling**: every call resolves or rejects, in bounded time (a connection's and a statement's timeout: see
 *   storage-postgres's): byokit puts no timer of its own on storage. One that never settles holds its request (a client
 *   that leaves gets no answer, but the call stays), and `byokit.close()` with it, as close() waits for the calls under
 *   way and for their usage records to be written, and for their verdicts on keys (`setKeyVerification`, written
 *   after the answer) too.
 * - **Answers** of the types given, as the conformance suite checks: an outcome other than `holdBudget`'s three
 *   refuses the call (`500`); another wrong shape (an array where one row is meant) is the storage's bug, most often a
 *   `500` for the request that met it.
 * - **close**: called once, by `close()` of the last byokit open on this storage; byokit calls nothing after it.
 */
export interface Storage {
  /** The owner's key for a provider, or null. */
  getKey(owner: KeyOwner, provider: Provider): Promise<StoredKey | null>;
  /** All of the owner's keys, in any order (byokit finds each by its provider). */
  listKeys(owner: KeyOwner): Promise<StoredKey[]>;
  /**
   * Applies every change and appends one audit record for each change that altered a row, all or
   * nothing: if any change fails, none is applied. A change whose provider is not one of `PROVIDERS` fails so (a
   * database's check refuses it; a storage without one checks it itself). Deleting an absent key changes nothing and
   * is not audited.
   * Two writes of one owner at once leave what one would have left coming after the other, never a mix (each
   * reading the rows before the other wrote, both keys of two crossed PATCHes were kept). Resolves with the audit
   * records written.
   */
  writeKeys(owner: KeyOwner, changes: readonly KeyChange[], actor: KeyWriteActor, at: Date): Promise<AuditRecord[]>;
  /**
   * The audit trail, newest first: the last written first (one write's records the last of its changes first),
   * whatever their `at`, which is the caller's clock and may go back.
   */
  listAudit(query?: AuditQuery): Promise<AuditRecord[]>;
  /**
   * How many key rows each master key id seals, so start-up can refuse a keyring that lacks one. An id no row has
   * any more may be left out or counted 0; a count left above 0 keeps a host from dropping that master key.
   */
  countKeysByMasterKeyId(): Promise<Map<string, number>>;
  /**
   * Up to `limit` key rows sealed by any master key other than `primaryKeyId`, in (owner type, owner id,
   * provider) order, after `cursor` when given: the re-encryption job's work list, page by page. Any order of
   * these three will do that takes no two rows as equal and is the same in the sort and in the comparison with
   * `cursor`: a collation that takes `'a'` and `'A'` as one would skip a row at a page's end, and the run would end
   * with it on the old master key.
   */
  listKeysToReseal(primaryKeyId: string, limit: number, cursor?: KeyRowCursor): Promise<StoredKey[]>;
  /**
   * Replaces a row's envelope only if it still holds `expectedEnvelope` (compare-and-swap), so that a
   * re-encryption racing with a user's write or with another re-encryption never overwrites a newer key.
   * Leaves `updatedAt` alone: the key itself did not change. Resolves true when it replaced the envelope.
   */
  replaceKeyEnvelope(
    owner: KeyOwner,
    provider: Provider,
    expectedEnvelope: Uint8Array,
    replacement: { envelope: Uint8Array; keyId: string },
  ): Promise<boolean>;
  /**
   * Records what the provider said of a key when a call was made with it (`invalid`: it refused the key; `valid`: it
   * answered), only if the row still holds `expectedEnvelope` (compare-and-swap), so that a key replaced meanwhile
   * keeps its own. Leaves `updatedAt` alone and writes no audit record: the key did not change. Resolves true when it
   * wrote. Optional: without it, a key's `verification` is only what was found when it was entered, and
   * `describeStorageConformance` skips its test.
   */
  setKeyVerification?(owner: KeyOwner, provider: Provider, expectedEnvelope: Uint8Array, verification: KeyVerification): Promise<boolean>;
  /**
   * Models admins added to the catalog or changed (they replace the built-in model of the same id), by provider
   * and then model name, each in code-point order: the catalog lists added models in this order, which must not
   * depend on the storage or on a database's collation.
   */
  listModels(): Promise<CatalogModel[]>;
  /**
   * Adds or replaces an admin's model by id. Refuses a second model with the same provider and name: rejects with
   * a `ByokitError` of code `conflict`, even when two such saves race. `at` is when it was saved: a storage may keep
   * it, but nothing reads it back (a `CatalogModel` has no time of its own).
   */
  saveModel(model: CatalogModel, at: Date): Promise<void>;
  /**
   * Changes one model as storage holds it now, one change of that id at a time from any node (an admin's `PATCH`):
   * `change` gets the admin's model of this id, or null when none is stored (a built-in model not changed yet), and
   * returns the model to save, with this id, or undefined to save nothing; what it throws is thrown, nothing saved.
   * Resolves with the model saved, or undefined. Refuses, as {@link Storage.saveModel} does, a provider and name
   * another model has. Optional in the type, so that a storage written before it still compiles and runs; without it,
   * byokit reads the models and then saves one, and two changes of one model on two nodes at once may each be
   * applied to the model as it was before the other, the later undoing the earlier (a deactivation lost to a
   * re-pricing saved just after it), which is why `describeStorageConformance` fails a storage that lacks it.
   */
  updateModel?(id: string, change: (stored: CatalogModel | null) => CatalogModel | undefined, at: Date): Promise<CatalogModel | undefined>;
  /**
   * Appends usage records (calls that reached a provider), in order, and ends the budget holds of those calls
   * (`endedHolds`), all in one step: a reader sees a record and the end of its hold together, so spending is
   * never counted twice or lost. All or nothing: rejects, writing nothing, when a record's id is taken already (a
   * write whose answer was lost, tried again), and never as `storage_unavailable`, which would have byokit try it
   * again for 5 minutes. Ending a hold that is gone already (or never was) is no error.
   */
  recordUsage(records: readonly UsageRecord[], endedHolds?: readonly string[]): Promise<void>;
  /**
   * Usage records newest first (by `createdAt`; of equal times, the last written first), filtered, one page at a
   * time: a page's `next` continues exactly where it stopped, even while records are being added (one added
   * with a time among the pages already read is not in the pages after; docs/http-api.md, "Pages"). `next` is this
   * storage's own text, absent on the last page (no `next` that leads to an empty page); clients pass it back in a
   * query string, so letters, digits, `-`, `_`, `.` and `~` are best (a `+` taken unescaped is a space). Rejects a
   * `limit` outside 1 to 1,000 with a RangeError (`assertUsagePageLimit`), and a `cursor` it did not hand out with a
   * TypeError, which byokit answers `422 validation_failed` naming `cursor`.
   */
  listUsage(query: UsageQuery): Promise<UsagePage>;
  /**
   * Sums of the records that match, in total and per group (exact: the groups add up to the totals), groups in
   * code-point order of their keys, days by UTC whatever the database's time zone.
   */
  summarizeUsage(query: UsageSummaryQuery): Promise<UsageSummary>;
  /** The user's budget, or null when none is set. */
  getBudget(userId: string): Promise<Budget | null>;
  /** Sets (or, with null, removes) the user's budget. */
  setBudget(userId: string, budget: Budget | null): Promise<void>;
  /**
   * The user's spending in the period [start, end), a calendar month in UTC (others are refused with a
   * RangeError: see `assertCalendarMonth`): usage records of calls the scope covers (key source), and the
   * holds not expired at `at` (their `expiresAt` later than `at`) of that period or an earlier one (a call held
   * before the month began is recorded in the month it ends in). Its cost must not grow with the month's records:
   * keep a running total per user and month as usage is recorded.
   */
  budgetUse(userId: string, period: { start: Date; end: Date }, scope: BudgetScope, at: Date): Promise<BudgetUse>;
  /**
   * Holds `hold.amountUsd` against the user's budget, atomically with every other hold on that user, from
   * any node: `unlimited` (nothing held) when the user has no budget or it does not cover `keySource`;
   * `held` when spent + held + the amount stays within the limit; else `exceeded` (nothing held). Held counts
   * the holds of the hold's period and of earlier ones, as {@link Storage.budgetUse} does; holds expired at
   * `hold.createdAt` (an `expiresAt` at or before it) do not count. Rejects a period that is not a calendar month
   * with a RangeError before anything else (`assertCalendarMonth`), for a user without a budget too.
   */
  holdBudget(hold: BudgetHold, keySource: KeySource): Promise<HoldOutcome>;
  /**
   * Moves a hold's expiry on to `expiresAt` (never back): byokit renews the hold of a call still running, which may
   * last longer than a hold's 15 minutes (a long streamed answer), so that it keeps counting until the call ends.
   * A hold that is gone (ended, or expired and removed) is no error, and is not brought back. Optional in the type,
   * so that a storage written before it still compiles and runs; without it, a call running past 15 minutes stops
   * counting against its user's budget, which is why `describeStorageConformance` fails a storage that lacks it.
   */
  renewHold?(holdId: string, expiresAt: Date): Promise<void>;
  /**
   * Forgets a user (their account closed), all or nothing: deletes every personal key of theirs, with one audit record
   * each (action `delete`, by `actor`; the audit trail itself is kept), their budget and their budget holds; with
   * `usage: 'delete'`, their usage records and monthly spending too, which `'keep'` leaves under the user id. The
   * system key and other users' rows are left alone; a user with nothing stored is no error. One owner's key writes
   * at a time, as {@link Storage.writeKeys}: a write of this user's keys at once comes wholly before or after. A
   * usage record written at once (a call of theirs that was under way) is either deleted with its spending or kept
   * with it, never one without the other. Optional in the type, so that a storage written before it still compiles
   * and runs; without it, `byokit.forgetUser` rejects, doing nothing, and `describeStorageConformance` fails the
   * storage.
   */
  forgetUser?(userId: string, usage: ForgottenUsage, actor: KeyWriteActor, at: Date): Promise<ForgottenUserRows>;
  /** Releases connections; optional. */
  close?(): Promise<void>;
}
