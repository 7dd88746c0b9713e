/**
 * What a memory storage holds, shared by its areas (memory-keys.ts, memory-models.ts, memory-usage.ts,
 * memory-budgets.ts): usage records feed the monthly spend that budgets read, and forgetting a user crosses them all.
 * Every method runs without an await between its reads and writes, so each call is atomic, as one transaction.
 */
import type { CatalogModel } from '../catalog/model.js';
import type { Provider } from '../keys/providers.js';
import type { Budget, BudgetHold } from '../metering/budget.js';
import type { UsageRecord } from '../metering/usage-record.js';
import type { AuditRecord, KeyOwner, KeyWriteActor, StoredKey } from './storage.js';

/** A usage record with its place in insertion order, which breaks ties between records of the same time. */
export interface SequencedUsage {
  record: UsageRecord;
  seq: number;
}

export interface MemoryState {
  // owner → provider → key. Returned values are copies, so callers cannot mutate what is stored.
  keys: Map<string, Map<Provider, StoredKey>>;
  audit: AuditRecord[];
  models: Map<string, CatalogModel>;
  // Usage records in insertion order, each with its sequence number, and their ids.
  usage: SequencedUsage[];
  usageIds: Set<string>;
  // Counted apart from `usage`'s length: a forgotten user's records go, and a number once given is never given again.
  lastUsageSeq: number;
  budgets: Map<string, Budget>;
  holds: Map<string, BudgetHold>;
  // Each user's spending per calendar month (UTC), in pico-USD, kept as records come: what budgets read.
  monthlySpend: Map<string, { all: bigint; system: bigint }>;
}

export function emptyMemoryState(): MemoryState {
  return {
    keys: new Map(),
    audit: [],
    models: new Map(),
    usage: [],
    usageIds: new Set(),
    lastUsageSeq: 0,
    budgets: new Map(),
    holds: new Map(),
    monthlySpend: new Map(),
  };
}

export const ownerKey = (owner: KeyOwner) => `${owner.type}:${owner.id}`;

export const spendKey = (userId: string, monthStartMs: number) => `${monthStartMs} ${userId}`;

export function auditRecord(
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

export const copyAudit = (record: AuditRecord): AuditRecord => ({ ...record, at: new Date(record.at), owner: { ...record.owner } });
