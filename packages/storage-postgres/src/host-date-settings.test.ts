// A host's database may show dates its own way: the session's TimeZone, and DateStyle (`SQL, DMY`, `German`), set for
// the database, a role or the pool's `options`. byokit's times read back as written, and its days and months are UTC.
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStorage } from './index.js';
import type { PostgresStorage } from './postgres-storage.js';
import { usageRecordOf } from './test-helpers.js';

const SETTINGS: Array<[name: string, value: string]> = [
  ['DateStyle', 'SQL, DMY'],
  ['DateStyle', 'German'],
  ['DateStyle', 'Postgres, MDY'],
  ['TimeZone', 'Pacific/Chatham'],
  ['TimeZone', 'America/Los_Angeles'],
];

const opened: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of opened.reverse()) await close();
});

const databases: Array<[string, () => Promise<PostgresStorage>]> = SETTINGS.map(([name, value]) => [
  `PGlite with ${name} = '${value}'`,
  async () => {
    const pglite = await PGlite.create();
    opened.push(() => pglite.close());
    await pglite.exec(`SET ${name} = '${value}'`);
    return postgresStorage({ pglite });
  },
]);
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) {
  for (const [name, value] of SETTINGS) {
    databases.push([
      `a node-postgres pool with ${name} = '${value}' in its options`,
      async () => {
        const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, options: `-c ${name}=${value.replaceAll(' ', '\\ ')}` });
        const schema = `host_dates_${crypto.randomUUID().slice(0, 8)}`;
        opened.push(async () => {
          await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await pool.end();
        });
        return postgresStorage({ pool, schema });
      },
    ]);
  }
}

// The last tenth of a second of November and the first of December (UTC): a day and a month apart.
const lastOfNovember = new Date('2026-11-30T23:59:59.900Z');
const firstOfDecember = new Date('2026-12-01T00:00:00.100Z');

describe.each(databases)('on %s', (_name, open) => {
  it("a key's times, its audit entry's, a usage record's and a budget's read back as written", async () => {
    const storage = await open();
    await storage.migrate();
    const owner = { type: 'user', id: 'user-dates' } as const;
    const key = {
      action: 'set',
      provider: 'openai',
      envelope: new Uint8Array([1]),
      keyId: 'k1',
      hint: '…abcd',
      verification: 'valid',
    } as const;
    await storage.writeKeys(owner, [key], { actorId: 'user-dates', requestId: 'request-1' }, lastOfNovember);
    const record = usageRecordOf({ userId: 'user-dates', createdAt: lastOfNovember, costUsd: '1' });
    await storage.recordUsage([record]);
    await storage.setBudget('user-dates', { monthlyLimitUsd: '5', appliesTo: 'all', updatedAt: lastOfNovember });

    const stored = await storage.getKey(owner, 'openai');
    expect([stored?.createdAt, stored?.updatedAt]).toEqual([lastOfNovember, lastOfNovember]);
    expect((await storage.listKeys(owner)).map((each) => each.updatedAt)).toEqual([lastOfNovember]);
    expect((await storage.listAudit({ owner })).map((entry) => entry.at)).toEqual([lastOfNovember]);
    expect((await storage.listUsage({ userId: 'user-dates', limit: 10 })).records).toEqual([record]);
    expect((await storage.getBudget('user-dates'))?.updatedAt).toEqual(lastOfNovember);
  });

  it('usage is summed by UTC day and charged to its UTC month, and pages by time', async () => {
    const storage = await open();
    await storage.migrate();
    const november = usageRecordOf({ userId: 'user-dates', createdAt: lastOfNovember, costUsd: '1' });
    const december = usageRecordOf({ userId: 'user-dates', createdAt: firstOfDecember, costUsd: '2' });
    await storage.recordUsage([november, december]);
    const days = await storage.summarizeUsage({ userId: 'user-dates', groupBy: 'day' });
    expect(days.groups.map((group) => [group.key, group.costUsd])).toEqual([
      ['2026-11-30', '1'],
      ['2026-12-01', '2'],
    ]);
    const monthOf = (start: string, end: string) => ({ start: new Date(start), end: new Date(end) });
    const spent = async (month: { start: Date; end: Date }) =>
      (await storage.budgetUse('user-dates', month, 'all', firstOfDecember)).spentUsd;
    expect(await spent(monthOf('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'))).toBe('1');
    expect(await spent(monthOf('2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'))).toBe('2');
    const first = await storage.listUsage({ userId: 'user-dates', limit: 1 });
    const second = await storage.listUsage({ userId: 'user-dates', limit: 1, cursor: first.next! });
    expect([...first.records, ...second.records].map((each) => each.createdAt)).toEqual([firstOfDecember, lastOfNovember]);
  });
});
