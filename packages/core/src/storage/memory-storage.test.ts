import { describe, expect, it } from 'vitest';
import type { BudgetHold } from '../metering/budget.js';
import { monthOf } from '../metering/usage-service.js';
import { describeStorageConformance } from '../testing/storage-conformance.js';
import { keptHoldCount, keptKeyOwnerCount, memoryStorage } from './memory-storage.js';

describeStorageConformance('memory', { createStorage: async () => memoryStorage() });

describe('memory storage in a process that runs for weeks', () => {
  const minute = 60_000;
  const start = Date.UTC(2027, 2, 1, 8);
  /** A hold asked for `ms` after `start`, counting for 15 minutes (BudgetGuard's), as a chat call's is. */
  const hold = (userId: string, ms: number): BudgetHold => {
    const createdAt = new Date(start + ms);
    const { start: periodStart, end: periodEnd } = monthOf(createdAt);
    return {
      id: crypto.randomUUID(),
      userId,
      amountUsd: '0.001',
      periodStart,
      periodEnd,
      createdAt,
      expiresAt: new Date(start + ms + 15 * minute),
    };
  };

  it('lets go of holds whose calls never ended them once they have expired, whoever they were for', async () => {
    const storage = memoryStorage();
    const users = ['ada', 'bob', 'cy'];
    for (const userId of users) await storage.setBudget(userId, { monthlyLimitUsd: '100', appliesTo: 'all', updatedAt: new Date(start) });
    // Ten hours of calls, one every 36 seconds, none of which ended its hold (its usage record never saved).
    const calls = 1000;
    for (let call = 0; call < calls; call++) {
      expect(await storage.holdBudget(hold(users[call % users.length]!, call * 36_000), 'user')).toBe('held');
    }
    // bob's budget is removed, cy never calls again: theirs go with the others.
    await storage.setBudget('bob', null);

    expect(await storage.holdBudget(hold('ada', calls * 36_000), 'user')).toBe('held');

    // What still counts: those held less than 15 minutes before (24 calls, one every 36 s; the 25th expires now), and the new one.
    expect(keptHoldCount(storage)).toBe(25);
    const { spentUsd, heldUsd } = await storage.budgetUse('cy', monthOf(new Date(start)), 'all', new Date(start + calls * 36_000));
    expect([spentUsd, heldUsd]).toEqual(['0', '0.008']);
  });

  it('keeps nothing of a user whose last key was removed, nor of one removing keys they never had', async () => {
    const storage = memoryStorage();
    const actor = { actorId: 'ada', requestId: 'request-1' };
    const at = new Date(start);
    const key = {
      action: 'set',
      provider: 'openai',
      envelope: new Uint8Array(40),
      keyId: 'k1',
      hint: 'AbCd',
      verification: 'unverified',
    } as const;
    await storage.writeKeys({ type: 'user', id: 'ada' }, [key], actor, at);
    expect(keptKeyOwnerCount(storage)).toBe(1);
    await storage.writeKeys({ type: 'user', id: 'ada' }, [{ action: 'delete', provider: 'openai' }], actor, at);
    // A thousand users each sending DELETE /users/me/api-key without a key stored.
    for (let user = 0; user < 1000; user++) {
      await storage.writeKeys({ type: 'user', id: `user-${user}` }, [{ action: 'delete', provider: 'anthropic' }], actor, at);
    }
    expect(keptKeyOwnerCount(storage)).toBe(0);
  });
});
