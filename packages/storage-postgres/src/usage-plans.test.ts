// Which index reads each usage question: plans, not timings (no data needed; seq scans are priced out, as on a table of
// millions). A question about one user was planned over the index of every user's records by time when the planner
// counted the user as frequent: for a user whose records are all old, the first page read every newer record of every
// user (1.83 million of 2.1 million, docs/architecture.md, "Storage at volume"). Each statement is run as byokit runs
// it, prepared, both as a plan for its values and as the generic plan a connection switches to after five runs.
import { describe, expect, it } from 'vitest';
import type { Database } from './database.js';
import { indexesOf, planOf, testDatabases, type PlanNode, type Statement } from './test-helpers.js';
import { usageSelect, usageSummarySelect } from './usage-sql.js';

const from = new Date('2026-11-01T00:00:00Z');
const to = new Date('2026-12-01T00:00:00Z');
const position = { at: '2026-11-20T10:00:00.123456Z', seq: '1234' };

describe.each(testDatabases('usage_plans'))('usage read on %s', (_name, open) => {
  const table = (schema: string) => `"${schema}"."byokit_usage_events"`;

  /** What byokit asks about one user: the usage routes' pages and sums, and an admin's of one user. */
  const oneUser = (usage: string): Array<[string, Statement]> => [
    ['the first page of their records', usageSelect(usage, { userId: 'user-old', limit: 50 }, undefined)],
    ['a later page of their records', usageSelect(usage, { userId: 'user-old', limit: 50 }, position)],
    ['their totals over a month', usageSummarySelect(usage, { userId: 'user-old', from, to })],
    ['their sums by day over a month', usageSummarySelect(usage, { userId: 'user-old', from, to, groupBy: 'day' })],
    ['their sums by model over a month', usageSummarySelect(usage, { userId: 'user-old', from, to, groupBy: 'model' })],
  ];

  /** What an admin asks about every user, and the pages of every user's records code can read. */
  const everyUser = (usage: string): Array<[string, Statement]> => [
    ['the totals of a month', usageSummarySelect(usage, { from, to })],
    ['the sums by user of a month', usageSummarySelect(usage, { from, to, groupBy: 'user' })],
    ['the records of a window, a page', usageSelect(usage, { from, to, limit: 50 }, undefined)],
    ['the first page of every record', usageSelect(usage, { limit: 50 }, undefined)],
    ['a later page of every record', usageSelect(usage, { limit: 50 }, position)],
  ];

  /** Each statement's plan, custom and generic. */
  async function plans(database: Database, statements: Array<[string, Statement]>) {
    const found: Array<{ question: string; mode: string; nodes: PlanNode[] }> = [];
    for (const [question, statement] of statements) {
      for (const mode of ['force_custom_plan', 'force_generic_plan'] as const) {
        found.push({ question, mode, nodes: await planOf(database, statement, mode) });
      }
    }
    return found;
  }

  it("answers a question about one user from that user's own index", async () => {
    const { storage, schema } = await open();
    await storage.migrate();
    for (const { question, mode, nodes } of await plans(storage.database, oneUser(table(schema)))) {
      expect({ question, mode, indexes: indexesOf(nodes) }).toEqual({ question, mode, indexes: ['byokit_usage_events_user_time'] });
    }
  });

  it("cannot answer a question about one user by walking every user's records in time order, whatever the planner counts", async () => {
    const { storage, schema } = await open();
    await storage.migrate();
    // The user's own index taken away: what is left is what the planner could take instead when it prices that one
    // higher (a user it counts as frequent). Any index of every record's time it then takes reads, for a user whose
    // records are old, every newer record of every user.
    const timeIndexes = (
      await storage.database.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'byokit_usage_events' AND indexdef LIKE '%created_at%'
           AND indexname <> 'byokit_usage_events_user_time'`,
        [schema],
      )
    ).map((row) => row.indexname);
    expect(timeIndexes).toHaveLength(1);
    await storage.database.query(`DROP INDEX "${schema}"."byokit_usage_events_user_time"`);
    for (const { question, mode, nodes } of await plans(storage.database, oneUser(table(schema)))) {
      expect({ question, mode, indexes: indexesOf(nodes).filter((index) => timeIndexes.includes(index)) }).toEqual({
        question,
        mode,
        indexes: [],
      });
    }
  });

  it("reads every user's records of a window, or a page of them, through the index of every record by time", async () => {
    const { storage, schema } = await open();
    await storage.migrate();
    for (const { question, mode, nodes } of await plans(storage.database, everyUser(table(schema)))) {
      expect({ question, mode, indexes: indexesOf(nodes) }).toEqual({ question, mode, indexes: ['byokit_usage_events_all_users_time'] });
    }
  });
});
