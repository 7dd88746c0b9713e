// Usage summaries: totals and groups summed exactly as the in-memory reference sums them, days as UTC days, groups in code-point order.
import { beforeEach, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../keys/providers.js';
import { summarizeUsage } from '../../metering/summarize-usage.js';
import type { UsageGroupBy, UsageSummaryQuery, UsageTotals } from '../../metering/usage-record.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from '../../metering/usd.js';
import type { Storage } from '../../storage/storage.js';
import { seededRandom } from '../seeded-random.js';
import { usageRecord } from '../usage-record.js';
import { freshUser, uniqueNumber } from './fixtures.js';
import type { StorageSuite } from './suite.js';

const USAGE_GROUP_BYS: readonly UsageGroupBy[] = ['day', 'model', 'provider', 'key_source', 'user'];

/** Totals as a test spells them: counts in order, then the cost. */
function totals(
  requests: number,
  [inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens, reasoningTokens]: readonly [number, number, number, number, number],
  costUsd: string,
): UsageTotals {
  return { requests, inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens, reasoningTokens, costUsd };
}

/** The sum of some totals, the cost exactly (pico-dollars as bigint). */
function addTotals(parts: readonly UsageTotals[]): UsageTotals {
  const counts = [0, 0, 0, 0, 0] as [number, number, number, number, number];
  let costPico = 0n;
  for (const part of parts) {
    counts[0] += part.inputTokens;
    counts[1] += part.outputTokens;
    counts[2] += part.cachedInputTokens;
    counts[3] += part.cacheWriteTokens;
    counts[4] += part.reasoningTokens;
    costPico += parseUsd(part.costUsd, PICO_DECIMALS);
  }
  return totals(
    parts.reduce((sum, part) => sum + part.requests, 0),
    counts,
    formatUsd(costPico),
  );
}

export function describeUsageSummaries(suite: StorageSuite): void {
  describe('usage summaries', () => {
    let storage: Storage;
    // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
    beforeEach(() => {
      storage = suite.storage;
    });

    // A year of its own for each test that needs a window no other test writes in (freshDay stays in 2031+).
    const freshYear = () => 2100 + uniqueNumber();
    const november = (year: number) => ({ from: new Date(Date.UTC(year, 10, 1)), to: new Date(Date.UTC(year, 11, 1)) });
    const day = 86_400_000;
    const claude = '0b6f6b2e-3c1a-4f43-9d55-5c1d8a2f7e01';
    const gpt = '5f0c9a51-8d7e-4b2a-a1c3-2e9d4b6f8a10';
    const gemini = '9e2d7c41-6b3a-4f58-8c1e-0a4b2d6f9e33';
    const noTokens = { inputTokens: null, outputTokens: null, cachedInputTokens: null, cacheWriteTokens: null, reasoningTokens: null };

    it('sums to zero, with cost "0" and no groups, where no record matches', async () => {
      const queries: UsageSummaryQuery[] = [{ userId: freshUser().id }, november(freshYear())];
      for (const query of queries) {
        for (const groupBy of [undefined, ...USAGE_GROUP_BYS]) {
          expect(await storage.summarizeUsage({ ...query, ...(groupBy && { groupBy }) })).toEqual({
            totals: totals(0, [0, 0, 0, 0, 0], '0'),
            groups: [],
          });
        }
      }
    });

    it('sums requests, tokens (a count not reported as 0) and exact costs in total and per day, model, provider, key source and user', async () => {
      const base = freshUser().id;
      // Code-point order puts "Zoe" before "amy" (a locale would not): groups sort as the JS reference sorts.
      const zoe = `${base}-Zoe`;
      const amy = `${base}-amy`;
      const year = freshYear();
      const { from, to } = november(year);
      const records = [
        // Exactly at `from`: counted. The default record: 12 in, 30 out, $0.000486.
        usageRecord(amy, from, { modelId: claude }),
        usageRecord(amy, new Date(from.getTime() + day - 1), {
          modelId: gpt,
          provider: 'openai',
          keySource: 'system',
          status: 'error',
          ...noTokens,
          costUsd: '0',
        }),
        usageRecord(zoe, new Date(from.getTime() + day + 12 * 3_600_000), {
          modelId: gpt,
          provider: 'openai',
          keySource: 'system',
          inputTokens: 1000,
          outputTokens: 500,
          cachedInputTokens: 200,
          cacheWriteTokens: 100,
          reasoningTokens: null,
          costUsd: '0.000000000001',
        }),
        usageRecord(zoe, new Date(to.getTime() - 1), {
          modelId: gemini,
          provider: 'google',
          inputTokens: 7,
          outputTokens: null,
          cachedInputTokens: null,
          cacheWriteTokens: null,
          reasoningTokens: 3,
          costUsd: '1.5',
        }),
        // Exactly at `to`, and just before `from`: not counted.
        usageRecord(amy, to, { inputTokens: 1_000_000, costUsd: '100' }),
        usageRecord(zoe, new Date(from.getTime() - 1), { costUsd: '200' }),
      ];
      await Promise.all(records.map((record) => storage.recordUsage([record])));

      const amyTotals = totals(2, [12, 30, 0, 0, 0], '0.000486');
      const zoeTotals = totals(2, [1007, 500, 200, 100, 3], '1.500000000001');
      const expected = {
        day: [
          { key: `${year}-11-01`, ...amyTotals },
          { key: `${year}-11-02`, ...totals(1, [1000, 500, 200, 100, 0], '0.000000000001') },
          { key: `${year}-11-30`, ...totals(1, [7, 0, 0, 0, 3], '1.5') },
        ],
        model: [
          { key: claude, ...totals(1, [12, 30, 0, 0, 0], '0.000486') },
          { key: gpt, ...totals(2, [1000, 500, 200, 100, 0], '0.000000000001') },
          { key: gemini, ...totals(1, [7, 0, 0, 0, 3], '1.5') },
        ],
        provider: [
          { key: 'anthropic', ...totals(1, [12, 30, 0, 0, 0], '0.000486') },
          { key: 'google', ...totals(1, [7, 0, 0, 0, 3], '1.5') },
          { key: 'openai', ...totals(2, [1000, 500, 200, 100, 0], '0.000000000001') },
        ],
        key_source: [
          { key: 'system', ...totals(2, [1000, 500, 200, 100, 0], '0.000000000001') },
          { key: 'user', ...totals(2, [19, 30, 0, 0, 3], '1.500486') },
        ],
        user: [
          { key: zoe, ...zoeTotals },
          { key: amy, ...amyTotals },
        ],
      };
      const all = totals(4, [1019, 530, 200, 100, 3], '1.500486000001');
      expect(await storage.summarizeUsage({ from, to })).toEqual({ totals: all, groups: [] });
      for (const groupBy of USAGE_GROUP_BYS) {
        expect(await storage.summarizeUsage({ from, to, groupBy })).toEqual({ totals: all, groups: expected[groupBy] });
      }
      // One user's: their own records only.
      expect(await storage.summarizeUsage({ userId: zoe, from, to, groupBy: 'user' })).toEqual({
        totals: zoeTotals,
        groups: [{ key: zoe, ...zoeTotals }],
      });
      expect(await storage.summarizeUsage({ userId: amy, from, to })).toEqual({ totals: amyTotals, groups: [] });
      // A window from `to` holds the record at `to`; one up to `from`, the one just before it.
      expect((await storage.summarizeUsage({ from: to, to: new Date(to.getTime() + day) })).totals).toEqual(
        totals(1, [1_000_000, 30, 0, 0, 0], '100'),
      );
      expect((await storage.summarizeUsage({ userId: zoe, to: from })).totals).toEqual(totals(1, [12, 30, 0, 0, 0], '200'));
    });

    // Groups are sorted by key in code-point order, PostgreSQL's COLLATE "C". JS's `<` compares UTF-16 units, in
    // which a character past U+FFFF (a surrogate pair, from U+D800) sorts before U+E000–U+FFFF: memory storage put
    // the user "\u{20BB7}" (𠮷, as in the name Yoshida) before "\uFF21" (a full-width A), and PostgreSQL after it.
    it('sorts user groups in code-point order: a full-width letter (U+FF21) before a character past U+FFFF', async () => {
      const base = freshUser().id;
      const fullWidth = `${base}-\uFF21`;
      const astral = `${base}-\u{20BB7}`;
      const { from } = november(freshYear());
      await storage.recordUsage([usageRecord(astral, from), usageRecord(fullWidth, from)]);
      const summary = await storage.summarizeUsage({ from, to: new Date(from.getTime() + day), groupBy: 'user' });
      expect(summary.groups.map((group) => group.key)).toEqual([fullWidth, astral]);
    });

    it('groups by the UTC day: 23:30 on 30 November at UTC-2 counts on 1 December', async () => {
      const userId = freshUser().id;
      const times = ['2026-11-30T23:30:00-02:00', '2026-11-30T22:00:00-02:00', '2026-12-01T01:30:00+02:00', '2026-11-30T00:00:00Z'];
      await Promise.all(times.map((time) => storage.recordUsage([usageRecord(userId, new Date(time))])));
      const summary = await storage.summarizeUsage({ userId, groupBy: 'day' });
      expect(summary.groups).toEqual([
        { key: '2026-11-30', ...totals(2, [24, 60, 0, 0, 0], '0.000972') },
        { key: '2026-12-01', ...totals(2, [24, 60, 0, 0, 0], '0.000972') },
      ]);
    });

    it('sums 200 random records exactly as the in-memory reference does, and every grouping adds up to the totals', async () => {
      const random = seededRandom(20261125);
      const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
      const count = (max: number) => (random() < 0.2 ? null : Math.floor(random() * max));
      // Up to 12 decimals, spelled shortest: "0.000000000001", "73.25", "0".
      const cost = () => {
        const decimals = Math.floor(random() * (PICO_DECIMALS + 1));
        const digits = Array.from({ length: decimals }, () => Math.floor(random() * 10)).join('');
        return formatUsd(parseUsd(`${Math.floor(random() * 3)}${decimals > 0 ? `.${digits}` : ''}`, PICO_DECIMALS));
      };
      const base = freshUser().id;
      const users = ['a', 'B', 'c'].map((suffix) => `${base}-${suffix}`);
      const models = [claude, gpt, gemini];
      const { from, to } = november(freshYear());
      const records = Array.from({ length: 200 }, () => {
        // Mostly inside the month; some exactly at its ends, and some a day outside it.
        const roll = random();
        const createdAt = roll < 0.05 ? from : roll < 0.1 ? to : new Date(from.getTime() - day + Math.floor(random() * 32 * day));
        return usageRecord(pick(users), createdAt, {
          modelId: pick(models),
          provider: pick(PROVIDERS),
          keySource: pick(['user', 'system'] as const),
          inputTokens: count(200_000),
          outputTokens: count(50_000),
          cachedInputTokens: count(100_000),
          cacheWriteTokens: count(50_000),
          reasoningTokens: count(20_000),
          costUsd: cost(),
        });
      });
      await Promise.all(records.map((record) => storage.recordUsage([record])));

      const windows: UsageSummaryQuery[] = [
        { from, to },
        { from: new Date(from.getTime() + 10 * day + 1), to: new Date(to.getTime() - 3 * day) },
        ...users.map((userId) => ({ userId, from, to })),
        { userId: users[1]!, to: new Date(to.getTime() + day) },
      ];
      for (const window of windows) {
        const reference = summarizeUsage(records, window);
        expect(reference.totals.requests).toBeGreaterThan(0);
        expect(await storage.summarizeUsage(window)).toEqual(reference);
        for (const groupBy of USAGE_GROUP_BYS) {
          const summary = await storage.summarizeUsage({ ...window, groupBy });
          expect(summary.totals).toEqual(reference.totals);
          expect(addTotals(summary.groups)).toEqual(summary.totals);
          expect(summary).toEqual(summarizeUsage(records, { ...window, groupBy }));
        }
      }
    });
  });
}
