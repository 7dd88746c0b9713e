// `byokit key-owners --master-key-id ID`, the list of whom to tell after a master key leaked: each page is read
// from the keys sealed under that id, in their owners' order, not by walking every key in that order and keeping
// those of the id. Walked so, the first page of an id whose keys come last (a rotation stopped part way: the keys
// before it resealed) read every other key first: 40,000 of 50,001 for 500 (docs/architecture.md, "Storage at volume").
// Plans, not timings: no data needed, seq scans priced out as on a large table (test-helpers.ts, planOf).
import { describe, expect, it } from 'vitest';
import { readingIndexes, recordingStorage, testDatabases } from './test-helpers.js';

describe.each(testDatabases('key_owner_plans'))('byokit key-owners on %s', (_name, open) => {
  it("reads each page of one master key id's keys through the index of that id's keys in their owners' order", async () => {
    const { recorded, indexesRead } = await recordingStorage(open);
    await recorded.listKeyOwners({ limit: 500, masterKeyId: 'k1' });
    await recorded.listKeyOwners({ limit: 500, masterKeyId: 'k1', after: { ownerType: 'user', ownerId: 'user-9000', provider: 'openai' } });
    expect(await indexesRead()).toEqual(
      readingIndexes(['byokit_provider_keys_master_key_owner'], ['byokit_provider_keys_master_key_owner']),
    );
  });
});
