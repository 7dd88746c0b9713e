// A usage cursor comes back from a client (next_cursor): one it forged must be refused as not ours (a TypeError,
// which core answers with 422 naming the cursor), never reach the database as a value it cannot hold (a 500).
import { describe, expect, it } from 'vitest';
import { testDatabases } from './test-helpers.js';

const cursorOf = (at: string, seq: string) => Buffer.from(JSON.stringify([at, seq])).toString('base64url');

describe.each(testDatabases('usage_cursor'))('a usage cursor on %s', (_name, open) => {
  it.each([
    ['a position past the largest bigint', cursorOf('2026-12-04T00:00:00.000000Z', '9223372036854775808')],
    ['a position of 19 nines', cursorOf('2026-12-04T00:00:00.000000Z', '9999999999999999999')],
    ['a year 0, which PostgreSQL does not have', cursorOf('0000-06-01T00:00:00.000000Z', '1')],
  ])('with %s is refused as one this storage did not hand out', async (_what, cursor) => {
    const { storage } = await open();
    await storage.migrate();
    await expect(storage.listUsage({ limit: 10, cursor })).rejects.toThrow(TypeError);
  });

  it('at the largest bigint and the first instant of year 1 is still read as a position', async () => {
    const { storage } = await open();
    await storage.migrate();
    for (const cursor of [cursorOf('2026-12-04T00:00:00.000000Z', '9223372036854775807'), cursorOf('0001-01-01T00:00:00.000000Z', '1')]) {
      expect(await storage.listUsage({ limit: 10, cursor })).toEqual({ records: [] });
    }
  });
});
