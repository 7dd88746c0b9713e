import type { CatalogModel } from '../catalog/model.js';
import { ByokitError } from '../errors.js';
import { isProvider, type Provider } from '../keys/providers.js';
import {
  assertCalendarMonth,
  budgetCovers,
  type Budget,
  type BudgetHold,
  type BudgetScope,
  type BudgetUse,
  type HoldOutcome,
} from '../metering/budget.js';
import { summarizeUsage } from '../metering/summarize-usage.js';
import { monthStart } from '../metering/usage-service.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from '../metering/usd.js';
import type { KeySource } from '../resolve/key-resolver.js';
import {
  assertUsagePageLimit,
  copyOfUsageRecord,
  type UsagePage,
  type UsageQuery,
  type UsageRecord,
  type UsageSummary,
  type UsageSummaryQuery,
} from '../metering/usage-record.js';
import type {
  AuditQuery,
  AuditRecord,
  ForgottenUsage,
  KeyChange,
  KeyOwner,
  KeyRowCursor,
  KeyWriteActor,
  Storage,
  StoredKey,
} from './storage.js';

const ownerKey = (owner: KeyOwner) => `${owner.type}:${owner.id}`;

function copyKey(key: StoredKey): StoredKey {
  return {
    ...key,
    owner: { ...key.owner },
    envelope: key.envelope.slice(),
    createdAt: new Date(key.createdAt),
    updatedAt: new Date(key.updatedAt),
  };
}

/** Provider, then model name, in code-point order (what `<` compares for these ASCII names). */
function byProviderAndName(a: CatalogModel, b: CatalogModel): number {
  if (a.provider !== b.provider) return a.provider < b.provider ? -1 : 1;
  return a.model < b.model ? -1 : a.model > b.model ? 1 : 0;
}

/** A usage record with its place in insertion order, which breaks ties between records of the same time. */
interface SequencedUsage {
  record: UsageRecord;
  seq: number;
}

/** Where a usage page stopped: the last record's time in ms and its sequence number. */
interface UsagePosition {
  ms: number;
  seq: number;
}

// `ms.seq`, each a whole number; nothing else is a cursor this storage handed out.
const USAGE_CURSOR = /^(-?\d{1,16})\.(\d{1,16})$/;

function encodeUsageCursor(position: UsagePosition): string {
  return `${position.ms}.${position.seq}`;
}

function decodeUsageCursor(cursor: string): UsagePosition {
  const match = typeof cursor === 'string' ? USAGE_CURSOR.exec(cursor) : null;
  const ms = Number(match?.[1]);
  const seq = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) {
    throw new TypeError('Invalid usage cursor: pass back the `next` of a previous page, unchanged.');
  }
  return { ms, seq };
}

/** Newest first; for equal times, the one written last first. */
function newestFirst(a: SequencedUsage, b: SequencedUsage): number {
  return b.record.createdAt.getTime() - a.record.createdAt.getTime() || b.seq - a.seq;
}

/** Whether `entry` comes after `position` in newest-first order, i.e. belongs to a later page. */
function isAfter(entry: SequencedUsage, position: UsagePosition): boolean {
  const ms = entry.record.createdAt.getTime();
  return ms < position.ms || (ms === position.ms && entry.seq < position.seq);
}

function matchesUsageQuery(record: UsageRecord, query: UsageQuery): boolean {
  const ms = record.createdAt.getTime();
  return (
    (query.userId === undefined || record.userId === query.userId) &&
    (query.from === undefined || ms >= query.from.getTime()) &&
    (query.to === undefined || ms < query.to.getTime())
  );
}

function auditRecord(
  owner: KeyOwner,
  provider: Provider,
  action: AuditRecord['action'],
  hint: string,
  actor: KeyWriteActor,
  at: Date,
): AuditRecord {
  return {
    id: crypto.randomUUID(),
    at: new Date(at),
    actorId: actor.actorId,
    owner: { ...owner },
    provider,
    action,
    hint,
    requestId: actor.requestId,
  };
}

const copyAudit = (record: AuditRecord): AuditRecord => ({ ...record, at: new Date(record.at), owner: { ...record.owner } });

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/**
 * Storage in this process's memory: for tests and trials. Nothing survives a restart and nothing is
 * shared between processes; use `@byokit/storage-postgres` for real use.
 */
export function memoryStorage(): Storage {
  // owner → provider → key. Returned values are copies, so callers cannot mutate what is stored.
  const keys = new Map<string, Map<Provider, StoredKey>>();
  const audit: AuditRecord[] = [];
  const models = new Map<string, CatalogModel>();
  // Usage records in insertion order, each with its sequence number, and their ids.
  const usage: SequencedUsage[] = [];
  const usageIds = new Set<string>();
  // Counted apart from `usage`'s length: a forgotten user's records go, and a number once given is never given again.
  let lastUsageSeq = 0;
  const budgets = new Map<string, Budget>();
  const holds = new Map<string, BudgetHold>();
  // Each user's spending per calendar month (UTC), in pico-USD, kept as records come: what budgets read.
  const monthlySpend = new Map<string, { all: bigint; system: bigint }>();
  const spendKey = (userId: string, monthStartMs: number) => `${monthStartMs} ${userId}`;

  /**
   * Lets go of every hold (any user's) expired at `at`: it counts no more, and a hold whose call never ended it
   * (its usage record not made or not saved) would otherwise be kept for the life of the process, and looked at
   * by every later budget check. So the holds kept are those of calls held within one hold's lifetime (15 minutes).
   */
  const forgetExpiredHolds = (at: Date) => {
    for (const [id, hold] of holds) if (hold.expiresAt <= at) holds.delete(id);
  };
  /** All or nothing: every id is checked (against the stored ones and each other) before any record goes in. */
  const appendUsage = (records: readonly UsageRecord[]) => {
    const ids = new Set<string>();
    for (const { id } of records) {
      if (usageIds.has(id) || ids.has(id)) throw new ByokitError('validation_failed', `A usage record ${id} exists already.`);
      ids.add(id);
    }
    for (const record of records) {
      usageIds.add(record.id);
      usage.push({ record: copyOfUsageRecord(record), seq: ++lastUsageSeq });
      const key = spendKey(record.userId, monthStart(record.createdAt).getTime());
      const spend = monthlySpend.get(key) ?? { all: 0n, system: 0n };
      const cost = parseUsd(record.costUsd, PICO_DECIMALS);
      monthlySpend.set(key, { all: spend.all + cost, system: spend.system + (record.keySource === 'system' ? cost : 0n) });
    }
  };
  /** Spent and held in a period, in pico-USD. Everything here runs without an await: each call is atomic. */
  const useOf = (userId: string, period: { start: Date; end: Date }, scope: BudgetScope, at: Date) => {
    assertCalendarMonth(period);
    const spend = monthlySpend.get(spendKey(userId, period.start.getTime()));
    const spent = spend === undefined ? 0n : scope === 'all' ? spend.all : spend.system;
    let held = 0n;
    for (const hold of holds.values()) {
      // A hold of an earlier month still counts: its call, still running, is recorded (and costs) when it ends.
      if (hold.userId === userId && hold.periodStart.getTime() <= period.start.getTime() && hold.expiresAt > at) {
        held += parseUsd(hold.amountUsd, PICO_DECIMALS);
      }
    }
    return { spent, held };
  };

  const saveModel = (model: CatalogModel) => {
    const clash = [...models.values()].find(
      (other) => other.id !== model.id && other.provider === model.provider && other.model === model.model,
    );
    if (clash) throw new ByokitError('conflict', `A model ${model.provider}/${model.model} exists already.`);
    models.set(model.id, structuredClone(model));
  };

  const storage: Storage = {
    async getKey(owner, provider) {
      const key = keys.get(ownerKey(owner))?.get(provider);
      return key ? copyKey(key) : null;
    },

    async listKeys(owner) {
      return [...(keys.get(ownerKey(owner))?.values() ?? [])].map(copyKey);
    },

    async writeKeys(owner: KeyOwner, changes: readonly KeyChange[], actor: KeyWriteActor, at: Date) {
      // Check every change before touching anything: all or nothing, as a database transaction would be.
      for (const change of changes) {
        if (!isProvider(change.provider)) {
          throw new ByokitError('validation_failed', `Unknown provider in key write.`);
        }
        if (change.action === 'set' && !(change.envelope instanceof Uint8Array)) {
          throw new ByokitError('validation_failed', `A key write needs the envelope as bytes.`);
        }
      }
      const owned = keys.get(ownerKey(owner)) ?? new Map<Provider, StoredKey>();
      const written: AuditRecord[] = [];
      for (const change of changes) {
        const previous = owned.get(change.provider);
        if (change.action === 'delete') {
          if (!previous) continue;
          owned.delete(change.provider);
        } else {
          owned.set(change.provider, {
            owner: { ...owner },
            provider: change.provider,
            envelope: change.envelope.slice(),
            keyId: change.keyId,
            hint: change.hint,
            verification: change.verification,
            createdAt: previous?.createdAt ?? new Date(at),
            updatedAt: new Date(at),
          });
        }
        written.push(auditRecord(owner, change.provider, change.action, change.action === 'set' ? change.hint : previous!.hint, actor, at));
      }
      keys.set(ownerKey(owner), owned);
      audit.push(...written);
      return written.map(copyAudit);
    },

    async listAudit(query: AuditQuery = {}) {
      const limit = query.limit ?? 100;
      const matching = query.owner ? audit.filter((r) => ownerKey(r.owner) === ownerKey(query.owner!)) : audit;
      return matching.slice(-limit).reverse().map(copyAudit);
    },

    async listKeysToReseal(primaryKeyId: string, limit: number, cursor?: KeyRowCursor) {
      const rows = [...keys.values()].flatMap((owned) => [...owned.values()]).filter((key) => key.keyId !== primaryKeyId);
      const position = (key: StoredKey) => [key.owner.type, key.owner.id, key.provider].join('\u0000');
      const after = cursor && [cursor.ownerType, cursor.ownerId, cursor.provider].join('\u0000');
      return rows
        .filter((key) => after === undefined || position(key) > after)
        .sort((a, b) => (position(a) < position(b) ? -1 : 1))
        .slice(0, limit)
        .map(copyKey);
    },

    async replaceKeyEnvelope(
      owner: KeyOwner,
      provider: Provider,
      expectedEnvelope: Uint8Array,
      replacement: { envelope: Uint8Array; keyId: string },
    ) {
      const current = keys.get(ownerKey(owner))?.get(provider);
      if (!current || !sameBytes(current.envelope, expectedEnvelope)) return false;
      current.envelope = replacement.envelope.slice();
      current.keyId = replacement.keyId;
      return true;
    },

    async listModels() {
      return [...models.values()].sort(byProviderAndName).map((model) => structuredClone(model));
    },

    async saveModel(model: CatalogModel) {
      saveModel(model);
    },

    async updateModel(id: string, change: (stored: CatalogModel | null) => CatalogModel | undefined) {
      // No await from the read to the write: each change is applied to the model as the last one left it.
      const stored = models.get(id);
      const next = change(stored === undefined ? null : structuredClone(stored));
      if (next === undefined) return undefined;
      saveModel(next);
      return structuredClone(next);
    },

    async recordUsage(records: readonly UsageRecord[], endedHolds: readonly string[] = []) {
      appendUsage(records);
      for (const holdId of endedHolds) holds.delete(holdId);
    },

    async listUsage(query: UsageQuery): Promise<UsagePage> {
      assertUsagePageLimit(query.limit);
      const position = query.cursor === undefined ? undefined : decodeUsageCursor(query.cursor);
      // One more than asked for says whether a next page exists, without promising one that would be empty.
      const page = usage
        .filter((entry) => matchesUsageQuery(entry.record, query) && (position === undefined || isAfter(entry, position)))
        .sort(newestFirst)
        .slice(0, query.limit + 1);
      const records = page.slice(0, query.limit);
      const last = records[records.length - 1];
      return {
        records: records.map((entry) => copyOfUsageRecord(entry.record)),
        ...(page.length > query.limit && last && { next: encodeUsageCursor({ ms: last.record.createdAt.getTime(), seq: last.seq }) }),
      };
    },

    async summarizeUsage(query: UsageSummaryQuery): Promise<UsageSummary> {
      return summarizeUsage(
        usage.map((entry) => entry.record),
        query,
      );
    },

    async getBudget(userId: string) {
      const budget = budgets.get(userId);
      return budget ? { ...budget, updatedAt: new Date(budget.updatedAt) } : null;
    },

    async setBudget(userId: string, budget: Budget | null) {
      if (budget === null) budgets.delete(userId);
      else budgets.set(userId, { ...budget, updatedAt: new Date(budget.updatedAt) });
    },

    async budgetUse(userId: string, period: { start: Date; end: Date }, scope: BudgetScope, at: Date): Promise<BudgetUse> {
      const { spent, held } = useOf(userId, period, scope, at);
      return { spentUsd: formatUsd(spent), heldUsd: formatUsd(held) };
    },

    async holdBudget(hold: BudgetHold, keySource: KeySource): Promise<HoldOutcome> {
      assertCalendarMonth({ start: hold.periodStart, end: hold.periodEnd });
      forgetExpiredHolds(hold.createdAt);
      const budget = budgets.get(hold.userId);
      if (!budget || !budgetCovers(budget.appliesTo, keySource)) return 'unlimited';
      const { spent, held } = useOf(hold.userId, { start: hold.periodStart, end: hold.periodEnd }, budget.appliesTo, hold.createdAt);
      const amount = parseUsd(hold.amountUsd, PICO_DECIMALS);
      if (spent + held + amount > parseUsd(budget.monthlyLimitUsd, PICO_DECIMALS)) return 'exceeded';
      // Dates of its own: the caller's hold is theirs to change (Storage's "Copies").
      holds.set(hold.id, {
        ...hold,
        periodStart: new Date(hold.periodStart),
        periodEnd: new Date(hold.periodEnd),
        createdAt: new Date(hold.createdAt),
        expiresAt: new Date(hold.expiresAt),
      });
      return 'held';
    },

    async renewHold(holdId: string, expiresAt: Date) {
      const hold = holds.get(holdId);
      if (hold && expiresAt > hold.expiresAt) hold.expiresAt = new Date(expiresAt);
    },

    async forgetUser(userId: string, forgottenUsage: ForgottenUsage, actor: KeyWriteActor, at: Date) {
      // No await: all of it at once, as one transaction would be.
      const owner = { type: 'user', id: userId } as const;
      const audited = [...(keys.get(ownerKey(owner))?.values() ?? [])].map((key) =>
        auditRecord(owner, key.provider, 'delete', key.hint, actor, at),
      );
      keys.delete(ownerKey(owner));
      audit.push(...audited);
      const budgetRemoved = budgets.delete(userId);
      for (const [id, hold] of holds) if (hold.userId === userId) holds.delete(id);
      let usageRecordsDeleted = 0;
      if (forgottenUsage === 'delete') {
        const kept = usage.filter((entry) => entry.record.userId !== userId);
        usageRecordsDeleted = usage.length - kept.length;
        for (const entry of usage) if (entry.record.userId === userId) usageIds.delete(entry.record.id);
        usage.splice(0, usage.length, ...kept);
        for (const key of monthlySpend.keys()) if (key === spendKey(userId, Number(key.split(' ', 1)[0]))) monthlySpend.delete(key);
      }
      return { audit: audited.map(copyAudit), budgetRemoved, usageRecordsDeleted };
    },

    async countKeysByMasterKeyId() {
      const counts = new Map<string, number>();
      for (const owned of keys.values()) {
        for (const key of owned.values()) counts.set(key.keyId, (counts.get(key.keyId) ?? 0) + 1);
      }
      return counts;
    },
  };
  heldBudgets.set(storage, () => holds.size);
  return storage;
}

/** How many budget holds each memory storage keeps, for the test that shows expired ones go (memory-storage.test.ts). */
const heldBudgets = new WeakMap<Storage, () => number>();

/** How many budget holds `storage`, made by {@link memoryStorage}, keeps now (expired ones it has not let go of included). */
export function keptHoldCount(storage: Storage): number {
  const count = heldBudgets.get(storage);
  if (!count) throw new TypeError('keptHoldCount: not a memory storage');
  return count();
}
