// Usage records: read back exactly as written, newest first, filtered and paged each exactly once, batches all or nothing, copies apart.
import { beforeEach, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../keys/providers.js';
import { costOf } from '../../metering/cost.js';
import { summarizeUsage } from '../../metering/summarize-usage.js';
import type { UsageQuery, UsageRecord } from '../../metering/usage-record.js';
import { convertAnthropicUsage } from '../../providers/anthropic/anthropic-usage.js';
import { convertGoogleUsage } from '../../providers/google/google-usage.js';
import { MAX_TOKEN_COUNT } from '../../providers/token-count.js';
import type { Storage } from '../../storage/storage.js';
import { usageRecord } from '../usage-record.js';
import { freshUser, rejectionOf, uniqueNumber } from './fixtures.js';
import type { StorageSuite } from './suite.js';

/** Every page of a usage query, followed from `next` to the last page, flattened to record ids. */
async function allUsageIds(storage: Storage, query: Omit<UsageQuery, 'cursor'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await storage.listUsage({ ...query, ...(cursor !== undefined && { cursor }) });
    ids.push(...result.records.map((record) => record.id));
    if (result.next === undefined) return ids;
    cursor = result.next;
  }
  throw new Error('listUsage never reached a last page');
}

export function describeUsageRecords(suite: StorageSuite): void {
  const { options, destroy } = suite;

  describe('usage records', () => {
    let storage: Storage;
    // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
    beforeEach(() => {
      storage = suite.storage;
    });

    const minute = 60_000;
    // The storage is shared by the whole suite: each test lists its own user's records, or a day no other test uses.
    const freshDay = () => new Date(Date.UTC(2031, 0, 1) + uniqueNumber() * 86_400_000);
    const ids = (records: readonly UsageRecord[]) => records.map((record) => record.id);

    it('reads a usage record back exactly as written: every field, the cost and prices as the same decimal strings', async () => {
      const userId = freshUser().id;
      const day = freshDay();
      const written = [
        usageRecord(userId, new Date(day.getTime() + 123)),
        // An error before the provider counted anything: no token counts, nothing to pay.
        usageRecord(userId, new Date(day.getTime() + minute), {
          provider: 'openai',
          model: 'gpt-4o-mini',
          modelId: '5f0c9a51-8d7e-4b2a-a1c3-2e9d4b6f8a10',
          keySource: 'system',
          status: 'error',
          inputTokens: null,
          outputTokens: null,
          cachedInputTokens: null,
          cacheWriteTokens: null,
          reasoningTokens: null,
          costUsd: '0',
          prices: { inputPerMTokUsd: '0.15', outputPerMTokUsd: '0.6', cachedInputPerMTokUsd: '0.075' },
          latencyMs: 0,
        }),
        // Whole-dollar amounts and prices without a cached price: nothing to trim, nothing to add.
        usageRecord(userId, new Date(day.getTime() + 2 * minute), {
          inputTokens: 200_000,
          outputTokens: 100_000,
          cachedInputTokens: null,
          cacheWriteTokens: 150_000,
          reasoningTokens: 40_000,
          costUsd: '10',
          prices: { inputPerMTokUsd: '20', outputPerMTokUsd: '60' },
          latencyMs: 93_512,
        }),
        // A model without prices, and a cost down to the pico-dollar.
        usageRecord(userId, new Date(day.getTime() + 3 * minute + 999), {
          provider: 'google',
          model: 'gemini-2.5-flash',
          status: 'aborted',
          costUsd: '0.000000375',
          prices: null,
        }),
      ];
      for (const record of written) await storage.recordUsage([record]);
      const page = await storage.listUsage({ userId, limit: 10 });
      // Strictly: a price the record was written without is left out, not there as undefined (Storage's "Values").
      expect(page.records).toStrictEqual([...written].reverse());
      expect(page.next).toBeUndefined();
      for (const record of page.records) expect(record.createdAt).toBeInstanceOf(Date);
      expect(page.records.map((record) => record.createdAt.toISOString())).toEqual(
        [...written].reverse().map((record) => record.createdAt.toISOString()),
      );
    });

    it('keeps a usage record of every provider byokit knows', async () => {
      const userId = freshUser().id;
      const day = freshDay();
      await storage.recordUsage(
        PROVIDERS.map((provider, index) => usageRecord(userId, new Date(day.getTime() + index * minute), { provider })),
      );
      const listed = (await storage.listUsage({ userId, limit: 10 })).records;
      expect(listed.map((record) => record.provider).sort()).toEqual([...PROVIDERS].sort());
    });

    it('lists usage newest first, and records of the same time in reverse order of writing', async () => {
      const userId = freshUser().id;
      const day = freshDay();
      const time = (minutes: number) => new Date(day.getTime() + minutes * minute);
      const [a, b, c, d, e] = [time(2), time(1), time(3), time(2), time(2)].map((createdAt) => usageRecord(userId, createdAt));
      for (const record of [a!, b!, c!, d!, e!]) await storage.recordUsage([record]);
      expect(ids((await storage.listUsage({ userId, limit: 10 })).records)).toEqual(ids([c!, e!, d!, a!, b!]));
    });

    it("filters usage by user and by time window, from inclusive and to exclusive, never showing another user's records", async () => {
      const alice = freshUser().id;
      const bob = freshUser().id;
      const day = freshDay();
      const time = (minutes: number) => new Date(day.getTime() + minutes * minute);
      const [a0, a1, a2, a3] = [0, 1, 2, 3].map((minutes) => usageRecord(alice, time(minutes)));
      const [b1, b2] = [1, 2].map((minutes) => usageRecord(bob, time(minutes)));
      for (const record of [a0!, b1!, a1!, a2!, b2!, a3!]) await storage.recordUsage([record]);

      expect(ids((await storage.listUsage({ userId: alice, limit: 10 })).records)).toEqual(ids([a3!, a2!, a1!, a0!]));
      expect(ids((await storage.listUsage({ userId: bob, limit: 10 })).records)).toEqual(ids([b2!, b1!]));
      expect(ids((await storage.listUsage({ userId: alice, from: time(1), to: time(3), limit: 10 })).records)).toEqual(ids([a2!, a1!]));
      expect(ids((await storage.listUsage({ userId: alice, from: time(3), limit: 10 })).records)).toEqual(ids([a3!]));
      expect(ids((await storage.listUsage({ userId: alice, to: time(1), limit: 10 })).records)).toEqual(ids([a0!]));
      expect((await storage.listUsage({ userId: alice, from: time(2), to: time(2), limit: 10 })).records).toEqual([]);
      // Without a user: everyone's records in the window (this day is this test's alone).
      expect(ids((await storage.listUsage({ from: time(1), to: time(3), limit: 10 })).records)).toEqual(ids([b2!, a2!, a1!, b1!]));
      expect((await storage.listUsage({ userId: freshUser().id, limit: 10 })).records).toEqual([]);
    });

    it('pages through usage: each record exactly once, in order, with no `next` on the last page', async () => {
      const userId = freshUser().id;
      const day = freshDay();
      // Four records of one time straddle the page boundaries: the order within them must hold across pages.
      const times = [0, 1, 1, 1, 1, 2, 3].map((minutes) => new Date(day.getTime() + minutes * minute));
      const written = times.map((createdAt) => usageRecord(userId, createdAt));
      for (const record of written) await storage.recordUsage([record]);
      // Written oldest first, so newest first (later writes first within a time) is the reverse.
      const expected = ids([...written].reverse());

      const first = await storage.listUsage({ userId, limit: 3 });
      const second = await storage.listUsage({ userId, limit: 3, cursor: first.next! });
      const third = await storage.listUsage({ userId, limit: 3, cursor: second.next! });
      expect([first.records.length, second.records.length, third.records.length]).toEqual([3, 3, 1]);
      expect(first.next).toEqual(expect.any(String));
      expect(second.next).toEqual(expect.any(String));
      expect(third.next).toBeUndefined();
      expect(ids([...first.records, ...second.records, ...third.records])).toEqual(expected);

      for (const limit of [1, 2, 7, 1000]) expect(await allUsageIds(storage, { userId, limit })).toEqual(expected);
      // A page that ends on the last record says so: no `next` leading to an empty page.
      const exact = await storage.listUsage({ userId, limit: 7 });
      expect(exact.records).toHaveLength(7);
      expect(exact.next).toBeUndefined();
      // The same cursor gives the same page again.
      expect(ids((await storage.listUsage({ userId, limit: 3, cursor: first.next! })).records)).toEqual(ids(second.records));
    });

    it('pages through records milliseconds apart within one second, each exactly once', async () => {
      // Calls of one user ending within a second are common: a cursor that kept the time to the second (a Unix time in
      // seconds) skipped the rest of that second at every page's end.
      const userId = freshUser().id;
      const second = freshDay().getTime() + 7_000;
      const written = [1, 100, 101, 500, 999].map((ms) => usageRecord(userId, new Date(second + ms)));
      for (const record of [...written].reverse()) await storage.recordUsage([record]);
      for (const limit of [1, 2, 3]) expect(await allUsageIds(storage, { userId, limit })).toEqual(ids([...written].reverse()));
    });

    it('orders and pages 25 records of one time on a fresh storage, where their sequence numbers go from one digit to two', async () => {
      // A storage of its own, so that the records' places in writing order are the first ones: compared as text
      // (PostgreSQL's seq::text once sorted the rows), "9" came before "10" and paging repeated and skipped records.
      const own = await options.createStorage();
      try {
        const userId = freshUser().id;
        const createdAt = freshDay();
        const written = Array.from({ length: 25 }, () => usageRecord(userId, createdAt));
        for (const record of written.slice(0, 5)) await own.recordUsage([record]);
        await own.recordUsage(written.slice(5));
        const expected = ids([...written].reverse());
        expect(ids((await own.listUsage({ userId, limit: 1000 })).records)).toEqual(expected);
        expect(ids((await own.listUsage({ limit: 1000 })).records)).toEqual(expected);
        for (const limit of [1, 4, 7, 24]) expect(await allUsageIds(own, { userId, limit })).toEqual(expected);
      } finally {
        await destroy(own);
      }
    });

    it('continues paging exactly where it stopped while records are added between pages', async () => {
      const userId = freshUser().id;
      const day = freshDay();
      const time = (minutes: number) => new Date(day.getTime() + minutes * minute);
      const [m5, m4, m3a, m3b, m2, m1] = [5, 4, 3, 3, 2, 1].map((minutes) => usageRecord(userId, time(minutes)));
      for (const record of [m1!, m2!, m3a!, m3b!, m4!, m5!]) await storage.recordUsage([record]);

      const first = await storage.listUsage({ userId, limit: 3 });
      expect(ids(first.records)).toEqual(ids([m5!, m4!, m3b!]));

      // Newer than the page just read, or of its last record's time but written after it: before the cursor, not shown again.
      const newest = usageRecord(userId, time(9));
      const sameTimeLater = usageRecord(userId, time(3));
      // Of a time not yet reached, and older than every record: both still ahead, each in its place.
      const sameAsUnread = usageRecord(userId, time(2));
      const oldest = usageRecord(userId, time(0));
      for (const record of [newest, sameTimeLater, sameAsUnread, oldest]) await storage.recordUsage([record]);

      const rest: string[] = [];
      let cursor = first.next;
      while (cursor !== undefined) {
        const page = await storage.listUsage({ userId, limit: 3, cursor });
        rest.push(...ids(page.records));
        cursor = page.next;
      }
      expect(rest).toEqual(ids([m3a!, sameAsUnread, m2!, m1!, oldest]));
      // Read again from the start, every record is there once, the new ones in their places.
      expect(await allUsageIds(storage, { userId, limit: 4 })).toEqual(
        ids([newest, m5!, m4!, sameTimeLater, m3b!, m3a!, sameAsUnread, m2!, m1!, oldest]),
      );
    });

    it("keeps the record of a call at the largest counts a provider client takes: Anthropic's whole prompt, Gemini's output", async () => {
      // Each provider client takes counts up to MAX_TOKEN_COUNT and adds some up (token-count.ts); a record of the
      // sums must be stored whole, or the call, which the provider billed, is left out of usage and budgets.
      const userId = freshUser().id;
      const day = freshDay();
      const most = MAX_TOKEN_COUNT;
      const usages = [
        convertAnthropicUsage({
          input_tokens: most,
          cache_read_input_tokens: most,
          cache_creation_input_tokens: most,
          output_tokens: most,
        }),
        convertGoogleUsage({
          promptTokenCount: most,
          cachedContentTokenCount: most,
          candidatesTokenCount: most,
          thoughtsTokenCount: most,
        }),
      ];
      const prices = { inputPerMTokUsd: '999999.999999', outputPerMTokUsd: '999999.999999' };
      const written = usages.map((usage, index) =>
        usageRecord(userId, new Date(day.getTime() + index), {
          inputTokens: usage.inputTokens ?? null,
          outputTokens: usage.outputTokens ?? null,
          cachedInputTokens: usage.cachedInputTokens ?? null,
          cacheWriteTokens: usage.cacheWriteTokens ?? null,
          reasoningTokens: usage.reasoningTokens ?? null,
          costUsd: costOf(usage, prices)!.costUsd,
          prices,
        }),
      );
      await storage.recordUsage(written);
      expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([...written].reverse());
      expect((await storage.summarizeUsage({ userId })).totals).toEqual(summarizeUsage(written, { userId }).totals);
    });

    it('refuses a second usage record with the same id, not as storage_unavailable, and keeps the first', async () => {
      const userId = freshUser().id;
      const record = usageRecord(userId, freshDay());
      await storage.recordUsage([record]);
      // A batch the database is unavailable for is kept, with the records queued after it, and written again; one
      // refused so (a write that went through, its answer lost) was refused at every try for 5 minutes, and then
      // given up with every record kept with it: those calls unbilled.
      await expect(storage.recordUsage([{ ...record, costUsd: '1', requestId: 'req_replayed' }])).rejects.not.toMatchObject({
        code: 'storage_unavailable',
      });
      expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([record]);
    });

    it('writes a batch of usage records in its order, and an empty batch as nothing', async () => {
      const userId = freshUser().id;
      const at = freshDay();
      // Three of the same time: the batch's order is their writing order, so they list in reverse.
      const batch = [
        usageRecord(userId, at),
        usageRecord(userId, at),
        usageRecord(userId, new Date(at.getTime() + minute)),
        usageRecord(userId, at),
      ];
      await storage.recordUsage(batch);
      await storage.recordUsage([]);
      expect(ids((await storage.listUsage({ userId, limit: 10 })).records)).toEqual(ids([batch[2]!, batch[3]!, batch[1]!, batch[0]!]));
    });

    it('writes none of a batch in which one record repeats an id, stored already or within the batch', async () => {
      const userId = freshUser().id;
      const stored = usageRecord(userId, freshDay());
      await storage.recordUsage([stored]);
      const fresh = usageRecord(userId, freshDay());
      await expect(storage.recordUsage([fresh, { ...stored, requestId: 'req_replayed' }])).rejects.toThrow();
      const twin = usageRecord(userId, freshDay());
      await expect(storage.recordUsage([twin, { ...twin, requestId: 'req_twin' }])).rejects.toThrow();
      expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([stored]);
    });

    it('refuses a page size outside 1 to 1,000 and a cursor it did not hand out', async () => {
      const userId = freshUser().id;
      await storage.recordUsage([usageRecord(userId, freshDay())]);
      await storage.recordUsage([usageRecord(userId, freshDay())]);
      for (const limit of [0, -1, 1001, 1.5, Number.NaN]) {
        expect(
          await rejectionOf(storage.listUsage({ userId, limit })),
          `listUsage limit ${limit}: a RangeError (assertUsagePageLimit)`,
        ).toBeInstanceOf(RangeError);
      }
      expect((await storage.listUsage({ userId, limit: 1000 })).records).toHaveLength(2);
      const { next } = await storage.listUsage({ userId, limit: 1 });
      for (const cursor of ['', 'not-a-cursor', '{"at":0,"seq":1}', 'eyJ4IjoxfQ', `${next}!`, `${next}\n`]) {
        expect(
          await rejectionOf(storage.listUsage({ userId, limit: 1, cursor })),
          `listUsage cursor ${JSON.stringify(cursor)}, not one it handed out: a TypeError (422 naming cursor)`,
        ).toBeInstanceOf(TypeError);
      }
    });

    it('keeps usage records apart from the objects passed in and handed out: changing either changes nothing stored', async () => {
      const userId = freshUser().id;
      const record = usageRecord(userId, freshDay());
      const snapshot = structuredClone(record);
      await storage.recordUsage([record]);
      record.costUsd = '999';
      record.prices!.inputPerMTokUsd = '999';
      record.createdAt.setTime(0);
      const read = (await storage.listUsage({ userId, limit: 1 })).records[0]!;
      expect(read).toEqual(snapshot);
      read.status = 'error';
      read.prices!.outputPerMTokUsd = '0';
      read.createdAt.setTime(0);
      expect((await storage.listUsage({ userId, limit: 1 })).records).toEqual([snapshot]);
    });
  });
}
