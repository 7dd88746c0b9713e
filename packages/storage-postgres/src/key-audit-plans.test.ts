// `byokit key-audit`, the key audit trail an operator reads after a master key leak or a restored backup: each page,
// `--since` included, is read from migration 0010's index of the trail in time order, or of one owner's part of it,
// the cursor found by its record's id. In seq order, `--since` could only filter the trail as it was read: its last
// page read every older record. Plans, not timings: no data needed, seq scans priced out as on a large table
// (test-helpers.ts, planOf).
import { describe, expect, it } from 'vitest';
import { readingIndexes, recordingStorage, testDatabases } from './test-helpers.js';

describe.each(testDatabases('key_audit_plans'))('byokit key-audit on %s', (_name, open) => {
  it('reads each page of the whole trail, of one owner and since a time from the indexes of the trail in time order', async () => {
    const { recorded, indexesRead } = await recordingStorage(open);
    const after = '00000000-0000-4000-8000-000000000000';
    const owner = { type: 'user', id: 'u1' } as const;
    const since = new Date('2026-12-01T00:00:00Z');
    await recorded.listKeyAudit({ limit: 500 });
    await recorded.listKeyAudit({ limit: 500, after });
    await recorded.listKeyAudit({ limit: 500, owner });
    await recorded.listKeyAudit({ limit: 500, owner, after });
    await recorded.listKeyAudit({ limit: 500, since });
    await recorded.listKeyAudit({ limit: 500, since, after });
    await recorded.listKeyAudit({ limit: 500, owner, since, after });
    const expected = [['at'], ['at', 'id_key'], ['owner_at'], ['owner_at', 'id_key'], ['at'], ['at', 'id_key'], ['owner_at', 'id_key']].map(
      (names) => names.map((name) => `byokit_key_audit_${name}`),
    );
    expect(await indexesRead()).toEqual(readingIndexes(...expected));
  });
});
