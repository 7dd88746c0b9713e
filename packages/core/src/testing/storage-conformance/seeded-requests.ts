// Seeded hostile requests through byokit's routes on the storage: no 5xx, and each answered as on memory storage.
import { expect, it } from 'vitest';
import { expectSeededAnswersAlike } from '../adapter-conformance/seeded-requests.js';
import { startSidesAlike } from '../adapter-conformance/same-answers.js';
import { borrowed, sendHostileRequests } from '../hostile-requests.js';
import type { StorageSuite } from './suite.js';

export function describeSeededRequests(suite: StorageSuite): void {
  const { options, destroy } = suite;

  it('answers 600 seeded hostile requests through the routes without a 5xx, on a storage of its own', async () => {
    const ownStorage = await options.createStorage();
    try {
      const run = await sendHostileRequests(ownStorage, { seed: 20261204, count: 600 });
      expect(run.failures).toEqual([]);
      // The requests get past validation, so that the storage is reached: each kind of write succeeded at least once.
      for (const family of [
        'POST /llm/chat/completions 200',
        'POST /llm-models 201',
        'PATCH /users/me/api-key 200',
        'PUT /admin/users/:id/budget 200',
      ]) {
        expect(run.statuses.get(family), family).toBeGreaterThan(0);
      }
    } finally {
      await destroy(ownStorage);
    }
  }, 120_000);

  it('answers 250 seeded hostile requests as memory storage does, byte for byte but for what is random', async () => {
    const own = await options.createStorage();
    const [reference, served] = await startSidesAlike('/v2', borrowed(own));
    try {
      await expectSeededAnswersAlike(reference, served, '/v2');
    } finally {
      await Promise.all([reference.close(), served.close()]);
      await destroy(own);
    }
  }, 120_000);
}
