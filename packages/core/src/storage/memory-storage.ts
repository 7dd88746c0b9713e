import { memoryBudgets } from './memory-budgets.js';
import { memoryKeys } from './memory-keys.js';
import { memoryModels } from './memory-models.js';
import { auditRecord, copyAudit, emptyMemoryState, ownerKey, spendKey, type MemoryState } from './memory-state.js';
import { memoryUsage } from './memory-usage.js';
import type { ForgottenUsage, KeyWriteActor, Storage } from './storage.js';

/**
 * Storage in this process's memory: for tests and trials. Nothing survives a restart and nothing is
 * shared between processes; use `@byokit/storage-postgres` for real use.
 */
export function memoryStorage(): Storage {
  const state = emptyMemoryState();
  const storage: Storage = {
    ...memoryKeys(state),
    ...memoryModels(state),
    ...memoryUsage(state),
    ...memoryBudgets(state),
    forgetUser: forgetUserIn(state),
  };
  keptStates.set(storage, state);
  return storage;
}

/** forgetUser, which crosses every area: a user's keys (audited), budget, holds and, if asked, usage. */
function forgetUserIn({ keys, audit, budgets, holds, usage, usageIds, monthlySpend }: MemoryState): Storage['forgetUser'] {
  return async (userId: string, forgottenUsage: ForgottenUsage, actor: KeyWriteActor, at: Date) => {
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
  };
}

/** What each memory storage keeps, for the tests that show what it lets go of (memory-storage.test.ts). */
const keptStates = new WeakMap<Storage, MemoryState>();

function keptState(storage: Storage, by: string): MemoryState {
  const state = keptStates.get(storage);
  if (!state) throw new TypeError(`${by}: not a memory storage`);
  return state;
}

/** How many budget holds `storage`, made by {@link memoryStorage}, keeps now (expired ones it has not let go of included). */
export function keptHoldCount(storage: Storage): number {
  return keptState(storage, 'keptHoldCount').holds.size;
}

/** How many key owners (users, and the system) `storage`, made by {@link memoryStorage}, keeps keys for now. */
export function keptKeyOwnerCount(storage: Storage): number {
  return keptState(storage, 'keptKeyOwnerCount').keys.size;
}
