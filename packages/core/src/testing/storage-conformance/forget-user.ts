// Forgetting a user: their keys (audited), budget and holds gone, with 'delete' their usage and its spending too; no one else's touched; a key write at once wholly before or after.
import { beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../metering/usage-record.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from '../../metering/usd.js';
import type { AuditRecord, ForgottenUsage, Storage } from '../../storage/storage.js';
import { SYSTEM_OWNER, userOwner } from '../../storage/storage.js';
import { usageRecord } from '../usage-record.js';
import { budgetFixtures } from './budget-fixtures.js';
import { bytes, setChange } from './fixtures.js';
import type { StorageSuite } from './suite.js';

export function describeForgetUser(suite: StorageSuite): void {
  const { at, later, actor } = suite;
  const { period, minute, inPeriod, newUser, budget, hold, use } = budgetFixtures(suite);

  describe('forgetting a user (forgetUser)', () => {
    let storage: Storage;
    // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
    beforeEach(() => {
      storage = suite.storage;
    });

    const forget = (userId: string, usage: ForgottenUsage) => {
      expect(
        typeof storage.forgetUser,
        "forgetUser: without it, a host cannot close a user's account, and whoever is given the id next inherits their keys and budget",
      ).toBe('function');
      return storage.forgetUser!(userId, usage, { actorId: 'the-host', requestId: 'forget-1' }, later);
    };

    it("deletes the user's keys, each audited, their budget and holds: the id given again starts with none, its usage kept with 'keep'", async () => {
      const [userId, other] = [newUser(), newUser()];
      const owner = userOwner(userId);
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1), '…aaaa'), setChange('openai', bytes(2), '…bbbb')], actor, at);
      await storage.writeKeys(userOwner(other), [setChange('anthropic', bytes(3), '…cccc')], actor, at);
      await storage.writeKeys(SYSTEM_OWNER, [setChange('google', bytes(4), '…dddd')], actor, at);
      await storage.setBudget(userId, budget('1'));
      await storage.setBudget(other, budget('2'));
      const running = hold(userId, '0.5');
      expect(await storage.holdBudget(running, 'user')).toBe('held');
      expect(await storage.holdBudget(hold(other, '0.5'), 'user')).toBe('held');
      await storage.recordUsage([usageRecord(userId, inPeriod(0), { costUsd: '0.25' })]);

      const forgotten = await forget(userId, 'keep');

      expect([forgotten.budgetRemoved, forgotten.usageRecordsDeleted]).toEqual([true, 0]);
      const audited = (records: readonly AuditRecord[]) =>
        records.map((record) => [record.provider, record.action, record.hint, record.actorId, record.requestId, record.at]).sort();
      const expected = [
        ['anthropic', 'delete', '…aaaa', 'the-host', 'forget-1', later],
        ['openai', 'delete', '…bbbb', 'the-host', 'forget-1', later],
      ];
      expect(audited(forgotten.audit)).toEqual(expected);
      expect(audited((await storage.listAudit({ owner })).slice(0, 2))).toEqual(expected);
      expect(await storage.listKeys(owner)).toEqual([]);
      expect(await storage.getBudget(userId)).toBeNull();
      // The id given to someone else, with a budget of their own: nothing the old holds held counts.
      await storage.setBudget(userId, budget('1'));
      expect(await use(userId)).toEqual({ spentUsd: '0.25', heldUsd: '0' });
      expect((await storage.listUsage({ userId, limit: 10 })).records.map((record) => record.costUsd)).toEqual(['0.25']);
      // Everyone else's rows as they were.
      expect((await storage.listKeys(userOwner(other))).map((key) => key.hint)).toEqual(['…cccc']);
      expect((await storage.getKey(SYSTEM_OWNER, 'google'))?.envelope).toEqual(bytes(4));
      expect(await storage.getBudget(other)).toEqual(budget('2'));
      expect(await use(other)).toEqual({ spentUsd: '0', heldUsd: '0.5' });
      // A call of theirs that was under way ends: its hold is gone already, which is no error.
      await storage.recordUsage([usageRecord(userId, inPeriod(minute), { costUsd: '0.1' })], [running.id]);
      expect(await use(userId)).toEqual({ spentUsd: '0.35', heldUsd: '0' });
    });

    it("with 'delete', deletes the user's usage records and their months' spending too, and no one else's", async () => {
      const [userId, other] = [newUser(), newUser()];
      await storage.recordUsage([
        usageRecord(userId, inPeriod(0), { costUsd: '0.25' }),
        usageRecord(userId, inPeriod(minute), { keySource: 'system', costUsd: '0.5' }),
        usageRecord(userId, new Date(period.end.getTime() + minute), { costUsd: '1' }),
        usageRecord(other, inPeriod(0), { costUsd: '0.75' }),
      ]);

      expect(await forget(userId, 'delete')).toEqual({ audit: [], budgetRemoved: false, usageRecordsDeleted: 3 });

      expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([]);
      expect((await storage.summarizeUsage({ userId })).totals.requests).toBe(0);
      // The id given again, with a budget: it has spent nothing, and may hold all of it.
      await storage.setBudget(userId, budget('1', 'system'));
      expect(await use(userId, inPeriod(2 * minute), 'system')).toEqual({ spentUsd: '0', heldUsd: '0' });
      expect(await storage.holdBudget(hold(userId, '1'), 'system')).toBe('held');
      expect(await use(other)).toEqual({ spentUsd: '0.75', heldUsd: '0' });
      expect((await storage.listUsage({ userId: other, limit: 10 })).records.map((record) => record.costUsd)).toEqual(['0.75']);
      // Nothing stored: no error, nothing removed.
      expect(await forget(newUser(), 'delete')).toEqual({ audit: [], budgetRemoved: false, usageRecordsDeleted: 0 });
    });

    it('forgets a user while a write of their keys is under way: the write comes wholly before or wholly after, never between its changes', async () => {
      // Storage's TSDoc: one owner's key writes at a time, forgetUser among them. On PostgreSQL without the owner's lock,
      // the forgetting waited on the row the write deleted, then saw none of the rows it inserted: the user, forgotten
      // and told so, kept both new keys ('left [google, openai], forgotten []').
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const userId = newUser();
          const owner = userOwner(userId);
          await storage.writeKeys(owner, [setChange('anthropic', bytes(1), '…anth')], actor, at);
          const write = [
            setChange('google', bytes(2), '…goog'),
            setChange('openai', bytes(3), '…open'),
            { action: 'delete', provider: 'anthropic' } as const,
          ];
          const [, forgotten] = await Promise.all([storage.writeKeys(owner, write, actor, later), forget(userId, 'keep')]);
          const left = (await storage.listKeys(owner)).map((key) => key.provider).sort();
          const deleted = forgotten.audit.map((record) => `${record.provider} ${record.hint}`).sort();
          return `left [${left.join(', ')}], forgotten [${deleted.join(', ')}]`;
        }),
      );
      for (const outcome of outcomes) {
        // Forgotten first: the write sets two keys and finds no anthropic key to delete. After: the write's keys forgotten.
        expect(['left [google, openai], forgotten [anthropic …anth]', 'left [], forgotten [google …goog, openai …open]']).toContain(
          outcome,
        );
      }
    });

    it("forgets with 'delete' while the user's records are written: the records left and their month's spending agree", async () => {
      // Calls of theirs under way end as the user is forgotten: each record is deleted with its cost, or kept with it.
      const userId = newUser();
      const records = Array.from({ length: 80 }, (_, index) => usageRecord(userId, inPeriod(index * 1000), { costUsd: '0.05' }));
      const write = (part: readonly UsageRecord[]) => part.map((record) => storage.recordUsage([record]));
      const forgetting = [0, 20, 40, 60].flatMap((from) => [...write(records.slice(from, from + 20)), forget(userId, 'delete')]);
      await Promise.all(forgetting);
      const left = (await storage.listUsage({ userId, limit: 100 })).records;
      const spent = formatUsd(BigInt(left.length) * parseUsd('0.05', PICO_DECIMALS));
      expect(await use(userId, inPeriod(2 * minute))).toEqual({ spentUsd: spent, heldUsd: '0' });
    });
  });
}
