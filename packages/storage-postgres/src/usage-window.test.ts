// A usage window's bounds reach the database as timestamps: whatever the client sends must be one it takes.
import { describe, expect, it } from 'vitest';
import { createByokit, Keyring, type Principal } from '@byokit/core';
import { callAs, testDatabases } from './test-helpers.js';

const alice: Principal = { userId: 'user-alice', isAdmin: false };
const admin: Principal = { userId: 'user-admin', isAdmin: true };

describe.each(testDatabases('usage_window'))('a usage window on %s', (_name, open) => {
  it('ending in the last millisecond of 9999, finer than a millisecond, is refused (422), not a 500', async () => {
    const { storage } = await open();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {} });
    for (const [principal, path] of [
      [alice, '/llm/usage/me'],
      [admin, '/admin/usage'],
    ] as const) {
      const refused = await callAs(principal, byokit, 'GET', `${path}?from=2026-11-20&to=9999-12-31T23:59:59.9999Z`);
      expect([refused.status, refused.json.error?.code]).toEqual([422, 'validation_failed']);
      const last = await callAs(principal, byokit, 'GET', `${path}?from=2026-11-20&to=9999-12-31T23:59:59.999Z`);
      expect([last.status, last.json.to]).toEqual([200, '9999-12-31T23:59:59.999Z']);
    }
    await byokit.close();
  });
});
