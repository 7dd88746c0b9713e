import { afterAll, beforeAll, describe } from 'vitest';
import type { Storage } from '../storage/storage.js';
import { describeAdminModels } from './storage-conformance/admin-models.js';
import { describeBudgets } from './storage-conformance/budgets.js';
import { describeKeys } from './storage-conformance/keys.js';
import { describeMasterKeys } from './storage-conformance/master-keys.js';
import { describeSeededRequests } from './storage-conformance/seeded-requests.js';
import type { StorageSuite } from './storage-conformance/suite.js';
import { describeUsageRecords } from './storage-conformance/usage-records.js';
import { describeUsageSummaries } from './storage-conformance/usage-summaries.js';
import { describeUserIds } from './storage-conformance/user-ids.js';

/** Options for {@link describeStorageConformance}. */
export interface StorageConformanceOptions {
  /**
   * Returns a new, empty storage (for a database: a schema of its own). Called once for most of the suite,
   * whose tests use owners of their own so they do not see each other's rows, and once more by each test that
   * needs a storage holding nothing but its own rows (the rotation test, the seeded requests, the user ids: 8 more in
   * all, one at a time), which lets go of it, with `destroyStorage`, before the next test.
   */
  createStorage(): Promise<Storage>;
  /**
   * Lets go of a storage `createStorage` made: the shared one after the last test, each test's own when that test
   * ends (e.g. to drop its schema, or stop an embedded database). Defaults to `storage.close()`.
   */
  destroyStorage?(storage: Storage): Promise<void>;
  /** Key rows in the rotation test. Default 3,000. */
  rotationRows?: number | undefined;
}

/**
 * The behaviour every {@link Storage} must have, as a vitest suite. Run it from a test file of your
 * storage package:
 *
 * ```ts
 * import { describeStorageConformance } from '@byokit/core/testing';
 * describeStorageConformance('my storage', { createStorage: async () => myStorage() });
 * ```
 *
 * Beside each method's own tests, it sends seeded hostile requests through byokit's routes on your storage: none
 * may get a 5xx, and each must get the answer byokit gives on memory storage (a page's cursor aside, which is
 * each storage's own).
 *
 * What it cannot see from here, to test beside it: that a database down or timing out rejects with `ByokitError`
 * `storage_unavailable` (a 503, and usage records kept to write again), not the driver's own error (a 500, and the
 * records lost); and that days stay UTC days when the database's time zone is another (run the suite once against a
 * database set to, say, `Pacific/Chatham`). Concurrency is tested with calls at once on one storage: against a
 * database, give `createStorage` a pool of several connections, as nodes would share it.
 */
export function describeStorageConformance(name: string, options: StorageConformanceOptions): void {
  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage;
    const suite: StorageSuite = {
      options,
      get storage() {
        return storage;
      },
      destroy: async (made) => {
        if (options.destroyStorage) await options.destroyStorage(made);
        else await made.close?.();
      },
      at: new Date('2026-11-25T10:00:00.000Z'),
      later: new Date('2026-11-25T11:00:00.000Z'),
      actor: { actorId: 'actor-1', requestId: 'request-1' },
    };

    beforeAll(async () => {
      storage = await options.createStorage();
    }, 60_000);
    afterAll(() => suite.destroy(storage));

    describeKeys(suite);
    describeMasterKeys(suite);
    describeAdminModels(suite);
    describeSeededRequests(suite);
    describeUserIds(suite);
    describeUsageRecords(suite);
    describeBudgets(suite);
    describeUsageSummaries(suite);
  });
}
