import { describe, expect, it } from 'vitest';
import { createByokit } from './byokit.js';
import { testKeyring } from './http/test-helpers.js';
import { memoryStorage } from './storage/memory-storage.js';

describe('byokit.close()', () => {
  it('closes once, however often it is called: twice in a row and twice at once both resolve', async () => {
    let storageCloses = 0;
    const storage = { ...memoryStorage(), close: async () => void storageCloses++ };
    const byokit = await createByokit({ keyring: testKeyring(), storage, environment: {} });

    await Promise.all([byokit.close(), byokit.close()]);
    await byokit.close();

    expect(storageCloses).toBe(1);
  });
});
