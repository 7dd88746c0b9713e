// User ids: each kept apart from every other and from the system, in keys, audit, budgets, usage, rotation and forgetting.
import { expect, it } from 'vitest';
import type { KeyRowCursor } from '../../storage/storage.js';
import { SYSTEM_OWNER, userOwner } from '../../storage/storage.js';
import { usageRecord } from '../usage-record.js';
import { bytes, setChange } from './fixtures.js';
import type { StorageSuite } from './suite.js';

export function describeUserIds(suite: StorageSuite): void {
  const { options, destroy, at, actor } = suite;

  it("keeps every user id apart, one named `system`, holding a separator, or another's in another case or Unicode form: keys, audit, budgets, usage and rotation", async () => {
    // Taken exactly as the host gives them (docs/http-api.md): a storage that joins owner type and id with a
    // separator, folds case, pads or normalises would give one of these users another's key, or the system key.
    // 'a ' is 'a' to a PAD SPACE collation (MySQL's older ones, SQL Server's).
    const ids = ['system', 'user:system', 'system:system', 'user', 'a', 'A', 'a ', 'a:b', 'a/b', 'a b', ' a', '%', '_', '*', 'a\u0001'];
    ids.push('caf\u00e9', 'cafe\u0301', 'straße', 'strasse', '\u{1F600}');
    // The longest ids byokit takes: 255 characters (code points), here 1,020 bytes of UTF-8 and 510 UTF-16 units.
    ids.push('x'.repeat(255), '\u{1F600}'.repeat(255));
    // Text PostgreSQL's array literals quote (usage records are written as arrays): NULL, quotes, braces, commas.
    ids.push('NULL', 'null', 'a"b', 'a\\b', '{a,b}', 'a,b', '()');
    const own = await options.createStorage();
    try {
      const owners = [SYSTEM_OWNER, ...ids.map(userOwner)];
      for (const [index, owner] of owners.entries()) await own.writeKeys(owner, [setChange('openai', bytes(index))], actor, at);
      const monthStart = new Date(Date.UTC(2027, 4, 1));
      const month = { start: monthStart, end: new Date(Date.UTC(2027, 5, 1)) };
      for (const [index, userId] of ids.entries()) {
        await own.setBudget(userId, { monthlyLimitUsd: `${index + 1}`, appliesTo: 'all', updatedAt: at });
      }
      // One batch, as the usage meter writes them.
      await own.recordUsage(
        ids.map((userId, index) => usageRecord(userId, new Date(monthStart.getTime() + 60_000), { costUsd: `${index + 1}` })),
      );
      for (const [index, owner] of owners.entries()) {
        const keys = await own.listKeys(owner);
        expect(
          keys.map((key) => [key.owner, [...key.envelope]]),
          JSON.stringify(owner),
        ).toEqual([[owner, [index]]]);
        expect((await own.getKey(owner, 'openai'))!.envelope, JSON.stringify(owner)).toEqual(bytes(index));
        expect((await own.listAudit({ owner })).map((record) => record.owner)).toEqual([owner]);
      }
      for (const [index, userId] of ids.entries()) {
        expect((await own.getBudget(userId))?.monthlyLimitUsd, JSON.stringify(userId)).toBe(`${index + 1}`);
        const usage = await own.listUsage({ userId, limit: 10 });
        expect(usage.records.map((record) => record.userId)).toEqual([userId]);
        expect(await own.budgetUse(userId, month, 'all', at), JSON.stringify(userId)).toEqual({
          spentUsd: `${index + 1}`,
          heldUsd: '0',
        });
      }
      const byUser = await own.summarizeUsage({ groupBy: 'user' });
      expect(byUser.groups.map((group) => group.key).sort()).toEqual([...ids].sort());
      // A re-encryption run pages by (owner type, owner id, provider): an order that takes two of these ids as one
      // (a collation folding case, or padding) skips a row at a page's end, and the run ends with it on the old key.
      const resealed: string[] = [];
      let cursor: KeyRowCursor | undefined;
      for (let page = 0; page <= owners.length; page++) {
        const rows = await own.listKeysToReseal('a master key id no row has', 1, cursor);
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        resealed.push(...rows.map((row) => JSON.stringify(row.owner)));
        cursor = { ownerType: last.owner.type, ownerId: last.owner.id, provider: last.provider };
      }
      expect(resealed.sort()).toEqual(owners.map((owner) => JSON.stringify(owner)).sort());
      // Forgetting 'a' forgets no one else: not 'A', 'a ', ' a', nor the system key.
      expect(typeof own.forgetUser, 'forgetUser').toBe('function');
      await own.forgetUser!('a', 'delete', actor, at);
      for (const [index, owner] of owners.entries()) {
        const gone = owner.type === 'user' && owner.id === 'a';
        expect((await own.listKeys(owner)).length, JSON.stringify(owner)).toBe(gone ? 0 : 1);
        if (owner.type === 'user') {
          expect((await own.getBudget(owner.id))?.monthlyLimitUsd, JSON.stringify(owner)).toBe(gone ? undefined : `${index}`);
          expect((await own.listUsage({ userId: owner.id, limit: 10 })).records.length, JSON.stringify(owner)).toBe(gone ? 0 : 1);
        }
      }
    } finally {
      await destroy(own);
    }
  }, 60_000);
}
