// Budgets: a month's spending and unexpired holds counted exactly, holds up to the limit and no further, even with calls at once.
import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage.js';
import { attoOf, dollarsOf, randomMoney, referenceCost } from '../reference-money.js';
import { seededRandom } from '../seeded-random.js';
import { usageRecord } from '../usage-record.js';
import { budgetFixtures } from './budget-fixtures.js';
import { rejectionOf } from './fixtures.js';
import { describeForgetUser } from './forget-user.js';
import type { StorageSuite } from './suite.js';

export function describeBudgets(suite: StorageSuite): void {
  const { at, later } = suite;
  const { period, minute, inPeriod, newUser, budget, hold, use } = budgetFixtures(suite);

  describe('budgets', () => {
    let storage: Storage;
    // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
    beforeEach(() => {
      storage = suite.storage;
    });

    it('reads a budget back as set, replaced by the next one, and gone once set to null', async () => {
      const userId = newUser();
      const other = newUser();
      expect(await storage.getBudget(userId)).toBeNull();
      await storage.setBudget(userId, budget('12.5', 'system'));
      await storage.setBudget(other, budget('3'));
      expect(await storage.getBudget(userId)).toEqual(budget('12.5', 'system'));
      await storage.setBudget(userId, budget('0.000000000001', 'all', later));
      expect(await storage.getBudget(userId)).toEqual(budget('0.000000000001', 'all', later));
      await storage.setBudget(userId, null);
      expect(await storage.getBudget(userId)).toBeNull();
      await storage.setBudget(userId, null);
      expect(await storage.getBudget(other)).toEqual(budget('3'));
    });

    it("reads a budget's time of setting back to the millisecond", async () => {
      // Storage's TSDoc: each time a Date, to the millisecond; the other budget tests set them at whole seconds.
      const userId = newUser();
      const updatedAt = new Date('2026-11-25T10:00:00.457Z');
      await storage.setBudget(userId, budget('1', 'all', updatedAt));
      expect((await storage.getBudget(userId))?.updatedAt.toISOString()).toBe(updatedAt.toISOString());
    });

    it('keeps none of the budget and hold it was given: changing them afterwards changes nothing stored', async () => {
      // Storage's TSDoc, "Copies": keep none of the caller's objects. A hold kept as given shares its dates with the caller.
      const userId = newUser();
      const given = budget('1', 'all', new Date(at));
      await storage.setBudget(userId, given);
      given.monthlyLimitUsd = '0';
      given.updatedAt.setTime(0);
      expect(await storage.getBudget(userId)).toEqual(budget('1'));
      const running = hold(userId, '0.5');
      expect(await storage.holdBudget(running, 'user')).toBe('held');
      running.amountUsd = '1';
      running.expiresAt.setTime(running.createdAt.getTime());
      expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0.5' });
      // Nor the time a renewal moved the hold's expiry to (BudgetGuard reuses no Date, but a host's code may).
      expect(typeof storage.renewHold, 'renewHold').toBe('function');
      const renewedTo = inPeriod(30 * minute);
      await storage.renewHold!(running.id, renewedTo);
      renewedTo.setTime(running.createdAt.getTime());
      expect(await use(userId, inPeriod(20 * minute))).toEqual({ spentUsd: '0', heldUsd: '0.5' });
    });

    it('hands out copies: changing a budget read back changes nothing stored', async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('2', 'system'));
      const read = (await storage.getBudget(userId))!;
      read.monthlyLimitUsd = '0';
      read.appliesTo = 'all';
      read.updatedAt.setTime(0);
      expect(await storage.getBudget(userId)).toEqual(budget('2', 'system'));
    });

    it("adds one batch's records to each user's own month, across users and months at once", async () => {
      const [ada, bob] = [newUser(), newUser()];
      const april = { start: period.end, end: new Date(Date.UTC(2027, 4, 1)) };
      await storage.recordUsage([
        usageRecord(ada, inPeriod(0), { keySource: 'system', costUsd: '0.1' }),
        usageRecord(bob, inPeriod(minute), { keySource: 'user', costUsd: '0.2' }),
        usageRecord(ada, april.start, { keySource: 'user', costUsd: '0.4' }),
        usageRecord(ada, inPeriod(2 * minute), { keySource: 'user', costUsd: '0.000000000008' }),
      ]);
      expect(await use(ada, inPeriod(0), 'all')).toEqual({ spentUsd: '0.100000000008', heldUsd: '0' });
      expect(await use(ada, inPeriod(0), 'system')).toEqual({ spentUsd: '0.1', heldUsd: '0' });
      expect(await use(bob, inPeriod(0), 'all')).toEqual({ spentUsd: '0.2', heldUsd: '0' });
      expect(await storage.budgetUse(ada, april, 'all', april.start)).toEqual({ spentUsd: '0.4', heldUsd: '0' });
    });

    it('refuses a budget period that is not one calendar month in UTC', async () => {
      const userId = newUser();
      const start = period.start;
      for (const wrong of [
        { start, end: new Date(start.getTime() + 30 * 86_400_000) },
        { start: new Date(start.getTime() + 1), end: period.end },
        { start: new Date(Date.UTC(2027, 2, 2)), end: new Date(Date.UTC(2027, 3, 2)) },
        { start: new Date(Number.NaN), end: period.end },
      ]) {
        const iso = (date: Date) => (Number.isNaN(date.getTime()) ? 'an invalid Date' : date.toISOString());
        const named = `${iso(wrong.start)} to ${iso(wrong.end)}: a RangeError (assertCalendarMonth)`;
        expect(await rejectionOf(storage.budgetUse(userId, wrong, 'all', start)), `budgetUse of ${named}`).toBeInstanceOf(RangeError);
        expect(
          await rejectionOf(storage.holdBudget({ ...hold(userId, '1'), periodStart: wrong.start, periodEnd: wrong.end }, 'system')),
          `holdBudget of ${named}, before it reads the budget`,
        ).toBeInstanceOf(RangeError);
      }
    });

    it("counts only the period's spending, only the user's, only the key sources the scope covers, and only unexpired holds", async () => {
      const userId = newUser();
      const other = newUser();
      await storage.setBudget(userId, budget('1000'));
      await storage.setBudget(other, budget('1000'));
      const records = [
        usageRecord(userId, period.start, { keySource: 'user', costUsd: '0.1' }),
        usageRecord(userId, inPeriod(10 * 86_400_000), { keySource: 'system', costUsd: '0.02' }),
        usageRecord(userId, new Date(period.end.getTime() - 1), { keySource: 'system', costUsd: '0.003' }),
        // Outside the period: at its end (exclusive), and just before its start.
        usageRecord(userId, period.end, { keySource: 'system', costUsd: '5' }),
        usageRecord(userId, new Date(period.start.getTime() - 1), { keySource: 'system', costUsd: '7' }),
        usageRecord(other, inPeriod(minute), { keySource: 'system', costUsd: '100' }),
      ];
      for (const record of records) await storage.recordUsage([record]);
      expect(await use(userId, inPeriod(0), 'all')).toEqual({ spentUsd: '0.123', heldUsd: '0' });
      expect(await use(userId, inPeriod(0), 'system')).toEqual({ spentUsd: '0.023', heldUsd: '0' });

      // Holds, in time order: one for 10 minutes, one for an hour; another user's counts only for them.
      expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(minute), 10 * minute), 'user')).toBe('held');
      expect(await storage.holdBudget(hold(userId, '0.25', inPeriod(2 * minute), 60 * minute), 'system')).toBe('held');
      expect(await storage.holdBudget(hold(other, '40', inPeriod(2 * minute)), 'system')).toBe('held');
      expect(await use(userId, inPeriod(5 * minute))).toEqual({ spentUsd: '0.123', heldUsd: '0.75' });
      expect(await use(userId, inPeriod(5 * minute), 'system')).toEqual({ spentUsd: '0.023', heldUsd: '0.75' });
      expect(await use(other, inPeriod(5 * minute))).toEqual({ spentUsd: '100', heldUsd: '40' });
      // A hold stops counting at its expiry exactly.
      expect(await use(userId, inPeriod(11 * minute))).toEqual({ spentUsd: '0.123', heldUsd: '0.25' });
      expect(await use(userId, inPeriod(62 * minute))).toEqual({ spentUsd: '0.123', heldUsd: '0' });
      // The next month's hold counts in the next month only.
      const april = { start: period.end, end: new Date(Date.UTC(2027, 4, 1)) };
      const nextMonth = { ...hold(userId, '2', period.end), periodStart: april.start, periodEnd: april.end };
      expect(await storage.holdBudget(nextMonth, 'user')).toBe('held');
      expect(await storage.budgetUse(userId, april, 'all', period.end)).toEqual({ spentUsd: '5', heldUsd: '2' });
      expect(await storage.budgetUse(userId, period, 'all', period.end)).toEqual({ spentUsd: '0.123', heldUsd: '0' });
    });

    it("counts a hold still in flight when the next month begins in that month too, where its call's cost lands", async () => {
      const userId = newUser();
      const april = { start: period.end, end: new Date(Date.UTC(2027, 4, 1)) };
      const inApril = (ms: number) => new Date(april.start.getTime() + ms);
      await storage.setBudget(userId, budget('1'));
      // Asked for a second before April, in March; the call ends in April, and its record with it.
      const march = hold(userId, '0.8', new Date(april.start.getTime() - 1000));
      expect(await storage.holdBudget(march, 'user')).toBe('held');
      expect(await storage.budgetUse(userId, april, 'all', inApril(1000))).toEqual({ spentUsd: '0', heldUsd: '0.8' });
      const aprilHold = (amountUsd: string, createdAt: Date) => ({
        ...hold(userId, amountUsd, createdAt),
        periodStart: april.start,
        periodEnd: april.end,
      });
      expect(await storage.holdBudget(aprilHold('0.5', inApril(1000)), 'user')).toBe('exceeded');
      expect(await storage.holdBudget(aprilHold('0.2', inApril(1000)), 'user')).toBe('held');
      // It still counts in March, its own month, and not once expired.
      expect(await use(userId, inApril(1000))).toEqual({ spentUsd: '0', heldUsd: '0.8' });
      expect(await storage.budgetUse(userId, april, 'all', march.expiresAt)).toEqual({ spentUsd: '0', heldUsd: '0.2' });
      // Ended by its record, in April: spent there, held nowhere.
      await storage.recordUsage([usageRecord(userId, inApril(2000), { costUsd: '0.7' })], [march.id]);
      expect(await storage.budgetUse(userId, april, 'all', inApril(2000))).toEqual({ spentUsd: '0.7', heldUsd: '0.2' });
      expect(await use(userId, inApril(2000))).toEqual({ spentUsd: '0', heldUsd: '0' });
      expect(await storage.holdBudget(aprilHold('0.100000000001', inApril(3000)), 'user')).toBe('exceeded');
      expect(await storage.holdBudget(aprilHold('0.1', inApril(3000)), 'user')).toBe('held');
    });

    it("answers 'unlimited' and holds nothing when the user has no budget, or has a system-only one and calls with their own key", async () => {
      const userId = newUser();
      const unbudgeted = hold(userId, '5');
      expect(await storage.holdBudget(unbudgeted, 'system')).toBe('unlimited');
      expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0' });
      await storage.recordUsage([], [unbudgeted.id]);

      await storage.setBudget(userId, budget('0', 'system'));
      expect(await storage.holdBudget(hold(userId, '5'), 'user')).toBe('unlimited');
      expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0' });
      // A system-key call under the same budget is limited.
      expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'system')).toBe('exceeded');
      expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0' });
    });

    it("holds up to exactly the limit, not a pico-dollar more, and an 'exceeded' hold changes nothing", async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('0.000003'));
      await storage.recordUsage([usageRecord(userId, inPeriod(0), { costUsd: '0.000001' })]);
      expect(await storage.holdBudget(hold(userId, '0.000001'), 'user')).toBe('held');
      expect(await storage.holdBudget(hold(userId, '0.000001000001'), 'system')).toBe('exceeded');
      expect(await use(userId)).toEqual({ spentUsd: '0.000001', heldUsd: '0.000001' });
      // Spent + held + this lands on the limit exactly: held.
      expect(await storage.holdBudget(hold(userId, '0.000001'), 'user')).toBe('held');
      expect(await use(userId)).toEqual({ spentUsd: '0.000001', heldUsd: '0.000002' });
      expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'user')).toBe('exceeded');
      expect(await use(userId)).toEqual({ spentUsd: '0.000001', heldUsd: '0.000002' });
    });

    it('no longer counts a hold once it has expired (a node that died before ending it blocks nothing)', async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      expect(await storage.holdBudget(hold(userId, '0.8', inPeriod(0), minute), 'user')).toBe('held');
      expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(minute - 1)), 'user'), 'a hold counts until its expiresAt').toBe(
        'exceeded',
      );
      expect(
        await storage.holdBudget(hold(userId, '0.5', inPeriod(minute)), 'user'),
        'a hold no longer counts at its expiresAt itself (expiresAt > createdAt counts, not >=)',
      ).toBe('held');
      expect(await use(userId, inPeriod(minute))).toEqual({ spentUsd: '0', heldUsd: '0.5' });
    });

    it('keeps counting a renewed hold past its first expiry, never moves an expiry back, and brings no ended hold back', async () => {
      // byokit renews the hold of a call still running (a long stream outlives a hold's 15 minutes).
      expect(typeof storage.renewHold, 'renewHold: without it, a call running past 15 minutes stops counting').toBe('function');
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      const running = hold(userId, '0.8', inPeriod(0), minute);
      expect(await storage.holdBudget(running, 'user')).toBe('held');
      await storage.renewHold!(running.id, inPeriod(20 * minute));
      await storage.renewHold!(running.id, inPeriod(5 * minute)); // a late renewal from an earlier time
      expect(await use(userId, inPeriod(19 * minute))).toEqual({ spentUsd: '0', heldUsd: '0.8' });
      expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(19 * minute)), 'user')).toBe('exceeded');
      expect(await use(userId, inPeriod(20 * minute))).toEqual({ spentUsd: '0', heldUsd: '0' });
      // Ended with its call's record: a renewal racing with the end changes nothing.
      const ended = hold(userId, '0.3', inPeriod(21 * minute), minute);
      expect(await storage.holdBudget(ended, 'user')).toBe('held');
      await storage.recordUsage([], [ended.id]);
      await storage.renewHold!(ended.id, inPeriod(60 * minute));
      await storage.renewHold!(crypto.randomUUID(), inPeriod(60 * minute));
      expect(await use(userId, inPeriod(21 * minute))).toEqual({ spentUsd: '0', heldUsd: '0' });
    });

    it('brings no hold back that its call ended while a renewal of it was under way', async () => {
      // A renewal that read the hold and then wrote it whole (a get, then a put) put back a hold ended between the
      // two: the call counted twice, spent and held, for another 15 minutes.
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      const running = hold(userId, '0.3');
      expect(await storage.holdBudget(running, 'user')).toBe('held');
      await Promise.all([
        storage.renewHold!(running.id, inPeriod(30 * minute)),
        storage.recordUsage([usageRecord(userId, inPeriod(90_000), { costUsd: '0.3' })], [running.id]),
      ]);
      expect(await use(userId, inPeriod(20 * minute))).toEqual({ spentUsd: '0.3', heldUsd: '0' });
    });

    it("moves a released hold's amount from held to spent at the call's real cost, and frees it when released without a record", async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      const first = hold(userId, '0.6');
      const second = hold(userId, '0.3');
      expect(await storage.holdBudget(first, 'system')).toBe('held');
      expect(await storage.holdBudget(second, 'system')).toBe('held');
      expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0.9' });

      const record = usageRecord(userId, inPeriod(90_000), { keySource: 'system', costUsd: '0.25' });
      await storage.recordUsage([record], [first.id]);
      expect(await use(userId)).toEqual({ spentUsd: '0.25', heldUsd: '0.3' });
      expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([record]);

      await storage.recordUsage([], [second.id]);
      expect(await use(userId)).toEqual({ spentUsd: '0.25', heldUsd: '0' });
      // Ending a hold twice, or one never held, is no error.
      await storage.recordUsage([], [second.id]);
      await storage.recordUsage([], [crypto.randomUUID(), 'not-a-uuid']);
      // What was freed can be held again, up to the limit exactly.
      expect(await storage.holdBudget(hold(userId, '0.75'), 'system')).toBe('held');
      expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'system')).toBe('exceeded');
    });

    it('settles a batch of calls at once, and a batch it refuses ends none of its holds', async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      const holds = [hold(userId, '0.2'), hold(userId, '0.3'), hold(userId, '0.4')];
      for (const one of holds) expect(await storage.holdBudget(one, 'system')).toBe('held');
      const records = ['0.05', '0.1'].map((costUsd) => usageRecord(userId, inPeriod(90_000), { keySource: 'system', costUsd }));

      // A record whose id is taken: nothing of the batch happens, the holds still count.
      await storage.recordUsage([records[0]!]);
      await expect(storage.recordUsage([records[1]!, records[0]!], [holds[0]!.id, holds[1]!.id])).rejects.toThrow();
      expect(await use(userId)).toEqual({ spentUsd: '0.05', heldUsd: '0.9' });

      await storage.recordUsage([records[1]!], [holds[0]!.id, holds[1]!.id]);
      expect(await use(userId)).toEqual({ spentUsd: '0.15', heldUsd: '0.4' });
    });

    it('adds in exact decimals: $0.10 spent and a $0.20 hold fill a $0.30 budget, which floats make $0.30000000000000004', async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('0.3'));
      await storage.recordUsage([usageRecord(userId, inPeriod(0), { costUsd: '0.1' })]);
      expect(await storage.holdBudget(hold(userId, '0.2'), 'user')).toBe('held');
      expect(await use(userId)).toEqual({ spentUsd: '0.1', heldUsd: '0.2' });
    });

    it('sees a call settled while others are held as held or as spent, never both and never neither', async () => {
      // Its record and the end of its hold written in two steps, a hold between them counted the call twice (a
      // user under the limit refused) or not at all (a call let through past the limit).
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      const settled = hold(userId, '0.6');
      expect(await storage.holdBudget(settled, 'user')).toBe('held');
      const [, ...outcomes] = await Promise.all([
        storage.recordUsage([usageRecord(userId, inPeriod(90_000), { costUsd: '0.6' })], [settled.id]),
        storage.holdBudget(hold(userId, '0.4'), 'user'),
        storage.holdBudget(hold(userId, '0.000000000001'), 'user'),
      ]);
      // Whichever comes first fits in what is left ($0.40), and the other no longer does.
      expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(1);
      const { spentUsd, heldUsd } = await use(userId);
      expect([spentUsd, outcomes[0] === 'held' ? '0.4' : '0.000000000001']).toEqual(['0.6', heldUsd]);
    });

    it("holds a system-key call against a system-only budget by what the system key spent, not the user's own key", async () => {
      // $1 a month of the host's key, and $5 spent on the user's own: a storage that held against all of the user's
      // spending (the budget's scope left out) refused every system-key call of theirs.
      const userId = newUser();
      await storage.setBudget(userId, budget('1', 'system'));
      await storage.recordUsage([
        usageRecord(userId, inPeriod(0), { keySource: 'user', costUsd: '5' }),
        usageRecord(userId, inPeriod(0), { keySource: 'system', costUsd: '0.25' }),
      ]);
      expect(await storage.holdBudget(hold(userId, '0.75'), 'system')).toBe('held');
      expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'system')).toBe('exceeded');
      expect(await use(userId, inPeriod(2 * minute), 'system')).toEqual({ spentUsd: '0.25', heldUsd: '0.75' });
    });

    it("counts every call's cost in the month's spending when records are written at once, as nodes write them", async () => {
      // A running total read and then written (a get, then a put) kept one of two batches written at once: the
      // month's spending undercounted, and the user let through past the limit.
      const userId = newUser();
      await storage.setBudget(userId, budget('1'));
      const records = Array.from({ length: 20 }, (_, index) => usageRecord(userId, inPeriod(index * minute), { costUsd: '0.05' }));
      await Promise.all(records.map((record) => storage.recordUsage([record])));
      expect(await use(userId, inPeriod(30 * minute))).toEqual({ spentUsd: '1', heldUsd: '0' });
      expect(await storage.holdBudget(hold(userId, '0.000000000001', inPeriod(30 * minute)), 'user')).toBe('exceeded');
    });

    it('lets exactly as many concurrent holds through as fit: 100 of $0.01 against $0.50 hold 50', async () => {
      const userId = newUser();
      await storage.setBudget(userId, budget('0.5'));
      const outcomes = await Promise.all(Array.from({ length: 100 }, () => storage.holdBudget(hold(userId, '0.01'), 'user')));
      expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(50);
      expect(outcomes.filter((outcome) => outcome === 'exceeded')).toHaveLength(50);
      expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0.5' });
    });

    it("adds costs of every size a catalog price and a provider's counts can make exactly, as an independent reference does: spending, holds and summaries", async () => {
      // Each cost what a call can cost: any price from $0.000001 to $999,999.999999 per million tokens (and 0),
      // any count a provider client takes (up to 2^29 a class), to the pico-dollar; added in BigInt atto-dollars.
      const random = seededRandom(20261207);
      const money = randomMoney(random);
      const userId = newUser();
      const spent = { all: 0n, system: 0n };
      const records = Array.from({ length: 120 }, () => {
        const keySource = random() < 0.5 ? ('system' as const) : ('user' as const);
        const cost = referenceCost(money.tokens(), money.prices());
        spent.all += cost;
        if (keySource === 'system') spent.system += cost;
        return usageRecord(userId, inPeriod(Math.floor(random() * 27 * 86_400_000)), { keySource, costUsd: dollarsOf(cost) });
      });
      // Written as nodes write them: batches of 1 to 10, several at once.
      const batches: (typeof records)[] = [];
      for (let next = 0; next < records.length;) {
        const size = 1 + Math.floor(random() * 10);
        batches.push(records.slice(next, next + size));
        next += size;
      }
      await Promise.all(batches.map((batch) => storage.recordUsage(batch)));
      const holds = Array.from({ length: 10 }, () => hold(userId, dollarsOf(referenceCost(money.tokens(), money.prices()))));
      const held = holds.reduce((sum, each) => sum + attoOf(each.amountUsd), 0n);
      // A limit that the month's spending and these holds fill to the last pico-dollar.
      await storage.setBudget(userId, budget(dollarsOf(spent.all + held)));
      for (const each of holds) expect(await storage.holdBudget(each, 'user')).toBe('held');
      expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'user')).toBe('exceeded');
      expect(await use(userId, inPeriod(2 * minute), 'all')).toEqual({ spentUsd: dollarsOf(spent.all), heldUsd: dollarsOf(held) });
      expect(await use(userId, inPeriod(2 * minute), 'system')).toEqual({ spentUsd: dollarsOf(spent.system), heldUsd: dollarsOf(held) });

      const window = { userId, from: period.start, to: period.end };
      const sumOf = (chosen: typeof records) => dollarsOf(chosen.reduce((sum, record) => sum + attoOf(record.costUsd), 0n));
      expect((await storage.summarizeUsage(window)).totals.costUsd).toBe(sumOf(records));
      const bySource = await storage.summarizeUsage({ ...window, groupBy: 'key_source' });
      expect(bySource.groups.map(({ key, costUsd }) => [key, costUsd])).toEqual(
        (['system', 'user'] as const).map((source) => [source, sumOf(records.filter((record) => record.keySource === source))]),
      );
      const byDay = await storage.summarizeUsage({ ...window, groupBy: 'day' });
      for (const group of byDay.groups) {
        expect(group.costUsd).toBe(sumOf(records.filter((record) => record.createdAt.toISOString().startsWith(group.key))));
      }
      expect(byDay.totals.costUsd).toBe(sumOf(records));
    });

    describeForgetUser(suite);
  });
}
