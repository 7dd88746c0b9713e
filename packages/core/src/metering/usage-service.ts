import { invalidField } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { USAGE_GROUPINGS, type UsageGroupBy, type UsagePage, type UsageSummary } from './usage-record.js';

/** A usage question: whose (every user's when left out), over which window, grouped how. */
export interface UsageSummaryRequest {
  /** Only this user's usage. Default: every user's. */
  userId?: string | undefined;
  /**
   * Inclusive; default: the start of the UTC month the window ends in, the budgets' period. With no `to`, the
   * start of the current month; with `to` alone, the start of the month of its last instant (`to` is exclusive),
   * so `to: 2026-12-01` gives November whole and `to: 2026-11-15` gives November's first two weeks.
   */
  from?: Date | undefined;
  /** Exclusive; default: now. */
  to?: Date | undefined;
  /** Sums per group (UTC day, model, provider, key source or user) as well as in total. Default: totals only. */
  groupBy?: UsageGroupBy | undefined;
}

/** The window a summary covered, with its defaults filled in. */
export interface UsageWindow {
  /** The window's start, inclusive. */
  from: Date;
  /** The window's end, exclusive. */
  to: Date;
  /** The grouping asked for; absent when none was. */
  groupBy?: UsageGroupBy;
}

/** The dates a usage window may have, in the routes and in code: what every storage's timestamps hold. */
export const USAGE_DATE_RANGE = 'A date from 1970 to 9999.';

/** Within the years {@link USAGE_DATE_RANGE} names, in UTC. */
export const inUsageDateRange = (date: Date): boolean => date.getUTCFullYear() >= 1970 && date.getUTCFullYear() <= 9999;

/** Reads usage for the routes and for `byokit.usage`: the same defaults and checks for both. */
export class UsageService {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => Date,
  ) {}

  async summary(request: UsageSummaryRequest): Promise<UsageSummary & { window: UsageWindow }> {
    // The routes' schemas check these; a host calling byokit.usage.query may pass anything.
    for (const name of ['from', 'to'] as const) {
      const value: unknown = request[name];
      if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime()))) {
        throw invalidField(name, `\`${name}\` must be a valid Date.`);
      }
      // As the routes refuse it: past these years a database's timestamp fails the query (PGlite takes no year past
      // 9999, PostgreSQL none before 1 AD), where memory storage answered.
      if (value !== undefined && !inUsageDateRange(value)) throw invalidField(name, USAGE_DATE_RANGE);
    }
    if (request.groupBy !== undefined && !USAGE_GROUPINGS.includes(request.groupBy)) {
      throw invalidField('groupBy', `\`groupBy\` must be one of ${USAGE_GROUPINGS.join(', ')}.`);
    }
    const to = request.to ?? this.now();
    // The month of the window's last instant: a `to` alone ends the window there (the start of its own month
    // would make `to: 2026-12-01` an empty window, refused), and with neither it is the current month.
    const from = request.from ?? monthStart(new Date(to.getTime() - 1));
    if (!(from < to)) {
      throw invalidField(
        'from',
        request.to === undefined ? '`from` must be before `to`, which is now when not given.' : '`from` must be before `to`.',
      );
    }
    const summary = await this.storage.summarizeUsage({
      from,
      to,
      ...(request.userId !== undefined && { userId: request.userId }),
      ...(request.groupBy && { groupBy: request.groupBy }),
    });
    return { ...summary, window: { from, to, ...(request.groupBy && { groupBy: request.groupBy }) } };
  }

  /**
   * One page of a user's records, newest first. A cursor this API did not give is the caller's error, told to pass
   * back the page's `nextField`: `next` in code, the route's `next_cursor`.
   */
  async events(userId: string, limit: number, cursor?: string, nextField = 'next'): Promise<UsagePage> {
    try {
      return await this.storage.listUsage({ userId, limit, ...(cursor !== undefined && { cursor }) });
    } catch (error) {
      if (cursor !== undefined && error instanceof TypeError) {
        throw invalidField('cursor', `cursor is not one this API gave: pass ${nextField} of the previous page as it is.`);
      }
      throw error;
    }
  }
}

/** The first instant of `at`'s month, UTC. */
export function monthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

/** `at`'s calendar month in UTC, [start, end): the budgets' period. */
export function monthOf(at: Date): { start: Date; end: Date } {
  return { start: monthStart(at), end: new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)) };
}
