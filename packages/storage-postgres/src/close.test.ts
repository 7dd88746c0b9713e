import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresStorage } from './index.js';

describe('closing a storage', () => {
  it('ends the pool it opened once, however often it is closed', async () => {
    const storage = postgresStorage({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    await Promise.all([storage.close(), storage.close()]);
    await expect(storage.close()).resolves.toBeUndefined();
  });

  it("leaves a pool of the host's own open, as the README says: the host ends it", async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    const storage = postgresStorage({ pool });
    await storage.close();
    expect(pool.ended).toBe(false);
    await pool.end();
    expect(pool.ended).toBe(true);
  });
});
