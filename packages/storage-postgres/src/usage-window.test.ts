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

  // A host's "all time" in code (`to: new Date(8.64e15)`, the last Date there is) was the database's own error:
  // PGlite's 22009 "time zone displacement out of range", a server's 22008 for a date before year 1.
  it.each<[string, { from?: Date; to?: Date }, 'from' | 'to']>([
    ['the last Date there is', { to: new Date(8.64e15) }, 'to'],
    ['a date in the year 10000', { from: new Date('2026-11-01'), to: new Date('+010000-01-01T00:00:00Z') }, 'to'],
    ['the first Date there is', { from: new Date(-8.64e15) }, 'from'],
    ['a date in the year 0', { from: new Date('0000-06-01T00:00:00Z') }, 'from'],
  ])('given in code as %s is refused as the routes refuse it (validation_failed), not the database', async (_what, window, path) => {
    const { storage } = await open();
    await storage.migrate();
    const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
    const byokit = await createByokit({ storage, keyring, environment: {} });
    const error = await byokit.usage.query(window).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'validation_failed', details: { issues: [{ path, message: 'A date from 1970 to 9999.' }] } });
    await byokit.close();
  });
});
