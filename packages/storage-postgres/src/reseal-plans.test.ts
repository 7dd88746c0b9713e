// The re-encryption's work list (`byokit rotate-keys`, storage.rotateKeys) and the start-up check of the master keys
// read it a page at a time: the keys not sealed under one id, in their owners' order. Walked along the primary key
// keeping the rows not on that id, the first page of a rotation stopped part way read every key already resealed
// (they come first in that order) before the first one left: 40,000 of 50,001 at each node's start
// (docs/architecture.md, "Storage at volume"). Plans, not timings: no data needed, seq scans priced out as on a large
// table (test-helpers.ts, planOf).
import { describe, expect, it } from 'vitest';
import { readingIndexes, recordingStorage, testDatabases } from './test-helpers.js';

describe.each(testDatabases('reseal_plans'))('the keys to reseal on %s', (_name, open) => {
  it("reads each page from the keys of the ids other than the primary, through the index of each id's keys, never along every key", async () => {
    const { recorded, indexesRead } = await recordingStorage(open);
    await recorded.listKeysToReseal('k2', 500);
    await recorded.listKeysToReseal('k2', 500, { ownerType: 'user', ownerId: 'user-9000', provider: 'openai' });
    expect(await indexesRead()).toEqual(
      readingIndexes(['byokit_provider_keys_master_key_owner'], ['byokit_provider_keys_master_key_owner']),
    );
  });
});
