// The shared state every module of the storage conformance suite is given.
import type { Storage } from '../../storage/storage.js';
import type { StorageConformanceOptions } from '../storage-conformance.js';

/** What every module of the storage conformance suite is given by `describeStorageConformance`. */
export interface StorageSuite {
  readonly options: StorageConformanceOptions;
  /** The storage most tests share. Made in the suite's `beforeAll`, so read it in a test or a hook, not while declaring them. */
  readonly storage: Storage;
  /** Lets go of a storage `createStorage` made: the suite's own way when it has one, else its `close`. */
  destroy(made: Storage): Promise<void>;
  /** The times the tests write at, and who writes: the same for every test of one run of the suite. */
  readonly at: Date;
  readonly later: Date;
  readonly actor: { actorId: string; requestId: string };
}
