import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresStorage, type Database } from '@byokit/storage-postgres';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as passwords from './passwords.js';
import { UserDirectory } from './users.js';

vi.mock('./passwords.js', { spy: true });
afterEach(() => vi.mocked(passwords.verifyPassword).mockClear());

/** A database with one user row, or none: what UserDirectory.authenticate reads (its SELECT by email). */
function databaseWith(row: Record<string, unknown> | undefined): Database {
  return { query: async () => (row ? [row] : []), exec: async () => {} } as unknown as Database;
}

/** The parameters part of a stored hash (`scrypt$N$r$p`), which sets how long one check takes. */
const cost = (stored: string) => stored.split('$').slice(0, 4).join('$');

// "No such user" must take as long as "wrong password": the code path is shown here (the same scrypt check, at the
// same cost, on a hash made at start), not the clock.
describe('login by an unknown email and by a wrong password', () => {
  it('checks the password against a hash of the same cost for an email no account has, and refuses it', async () => {
    const stored = await passwords.hashPassword('the-right-password');
    const known = new UserDirectory(
      databaseWith({ id: 'u', email: 'a@b.co', full_name: null, is_superuser: false, password_hash: stored }),
      'public',
    );
    const unknown = new UserDirectory(databaseWith(undefined), 'public');

    expect(await known.authenticate('a@b.co', 'a-wrong-password')).toBeNull();
    expect(await unknown.authenticate('nobody@b.co', 'a-wrong-password')).toBeNull();
    expect(await unknown.authenticate('nobody@b.co', 'the-right-password')).toBeNull();

    const checked = vi.mocked(passwords.verifyPassword).mock.calls;
    expect(checked).toHaveLength(3);
    expect(checked[0]![1]).toBe(stored);
    expect(checked.slice(1).map(([password, decoy]) => [password, cost(decoy)])).toEqual([
      ['a-wrong-password', cost(stored)],
      ['the-right-password', cost(stored)],
    ]);
  });
});

// Servers starting together on a database none has used yet (a deployment's replicas, DATABASE_URL): PostgreSQL's
// CREATE TABLE IF NOT EXISTS is no guard against another session creating the table at the same moment.
describe.runIf(process.env.DATABASE_URL)('the users table, created by servers starting together', () => {
  it('is created once, and every server starts', async () => {
    const schema = `example_users_${randomBytes(6).toString('hex')}`;
    const databaseUrl = process.env.DATABASE_URL!;
    const admin = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const storages = Array.from({ length: 4 }, () => postgresStorage({ connectionString: databaseUrl, schema }));
    try {
      const starts = await Promise.allSettled(storages.map((storage) => new UserDirectory(storage.database, schema).migrate()));
      expect(starts.map((start) => (start.status === 'rejected' ? String(start.reason) : 'started'))).toEqual(Array(4).fill('started'));
    } finally {
      await Promise.all(storages.map((storage) => storage.close()));
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
