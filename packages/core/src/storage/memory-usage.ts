/**
 * A memory storage's usage records: appended all or nothing (each adding to its user's monthly spend, and ending its
 * call's hold), listed a page at a time by a cursor of its own, and summed exactly.
 */
import { ByokitError } from '../errors.js';
import { summarizeUsage } from '../metering/summarize-usage.js';
import { monthStart } from '../metering/usage-service.js';
import { parseUsd, PICO_DECIMALS } from '../metering/usd.js';
import {
  assertUsagePageLimit,
  copyOfUsageRecord,
  type UsagePage,
  type UsageQuery,
  type UsageRecord,
  type UsageSummary,
  type UsageSummaryQuery,
} from '../metering/usage-record.js';
import { spendKey, type MemoryState, type SequencedUsage } from './memory-state.js';
import type { Storage } from './storage.js';

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

/** The usage methods of a memory storage over `state`. */
export function memoryUsage(state: MemoryState): Pick<Storage, 'recordUsage' | 'listUsage' | 'summarizeUsage'> {
  const { usage, usageIds, holds, monthlySpend } = state;
  /** All or nothing: every id is checked (against the stored ones and each other) before any record goes in. */
  const appendUsage = (records: readonly UsageRecord[]) => {
    const ids = new Set<string>();
    for (const { id } of records) {
      if (usageIds.has(id) || ids.has(id)) throw new ByokitError('validation_failed', `A usage record ${id} exists already.`);
      ids.add(id);
    }
    for (const record of records) {
      usageIds.add(record.id);
      usage.push({ record: copyOfUsageRecord(record), seq: ++state.lastUsageSeq });
      const key = spendKey(record.userId, monthStart(record.createdAt).getTime());
      const spend = monthlySpend.get(key) ?? { all: 0n, system: 0n };
      const cost = parseUsd(record.costUsd, PICO_DECIMALS);
      monthlySpend.set(key, { all: spend.all + cost, system: spend.system + (record.keySource === 'system' ? cost : 0n) });
    }
  };

  return {
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
  };
}
