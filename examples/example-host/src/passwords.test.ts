import * as crypto from 'node:crypto';
import { randomBytes, scryptSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

// Spies that keep node:crypto's own behaviour: the comparison is shown by its code path, never by the clock.
vi.mock('node:crypto', { spy: true });
afterEach(() => vi.mocked(crypto.timingSafeEqual).mockClear());

/** A hash as hashPassword writes one, with the given scrypt cost: what the table holds after the cost changed. */
function storedWith(password: string, N: number, r: number, p: number): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFKC'), salt, 32, { N, r, p, maxmem: 256 * N * r });
  return ['scrypt', N, r, p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

describe('passwords', () => {
  it('verifies the password a hash was made from, and no other', async () => {
    const stored = await hashPassword('a-long-password');
    expect(await verifyPassword('a-long-password', stored)).toBe(true);
    expect(await verifyPassword('a-long-passwore', stored)).toBe(false);
  });

  it('compares a password with the stored hash in constant time, the right one and a wrong one alike', async () => {
    const stored = await hashPassword('a-long-password');
    await verifyPassword('a-long-password', stored);
    await verifyPassword('a-long-passwore', stored);
    expect(vi.mocked(crypto.timingSafeEqual).mock.results.map((result) => result.value)).toEqual([true, false]);
  });

  // A salt of its own for each hash: the same password gives two users two hashes, so that one table cracked
  // (or precomputed) does not open every account that shares a password.
  it('stores two different hashes for two users with the same password, each of which verifies it', async () => {
    const [first, second] = await Promise.all([hashPassword('a-shared-password'), hashPassword('a-shared-password')]);
    expect(first).not.toBe(second);
    expect(first.split('$')[4]).not.toBe(second.split('$')[4]);
    expect([await verifyPassword('a-shared-password', first), await verifyPassword('a-shared-password', second)]).toEqual([true, true]);
  });

  it('hashes a new password at the cost passwords.ts states (scrypt N=2^15, r=8, p=1: 32 MiB a hash), a 32-byte hash', async () => {
    const [scheme, N, r, p, salt, hash] = (await hashPassword('a-long-password')).split('$');
    expect([scheme, Number(N), Number(r), Number(p)]).toEqual(['scrypt', 2 ** 15, 8, 1]);
    expect([Buffer.from(salt!, 'base64url').length, Buffer.from(hash!, 'base64url').length]).toEqual([16, 32]);
  });

  // A keyboard or system may send "é" as one character (U+00E9) or as "e" and a combining accent (U+0301): the
  // same password to the person typing it.
  it('verifies a password typed in another Unicode form than it was set in (é as one character, or e and an accent)', async () => {
    const stored = await hashPassword('caf\u00e9-au-lait');
    expect(await verifyPassword('cafe\u0301-au-lait', stored)).toBe(true);
  });

  // The stored form names its parameters so that they can change: a user whose hash was made at another cost
  // still logs in. Before, every hash was checked at today's cost, and such a user never could.
  it.each([
    [2 ** 14, 8, 1],
    [2 ** 13, 8, 2],
    [2 ** 15, 4, 1],
  ])('verifies a password hashed with N=%i, r=%i, p=%i, as the hash says', async (N, r, p) => {
    const stored = storedWith('an-older-password', N, r, p);
    expect(await verifyPassword('an-older-password', stored)).toBe(true);
    expect(await verifyPassword('another-password', stored)).toBe(false);
  });

  it.each([
    ['another scheme', 'bcrypt$2b$10$abc'],
    // Fields as scrypt's, and the hash scrypt's of this very password: only the scheme's name says it is not one.
    ['another scheme named, in fields as scrypt writes them', storedWith('a-long-password', 2 ** 14, 8, 1).replace(/^scrypt/, 'argon2id')],
    ['a hash of another length than scrypt gives', 'scrypt$16384$8$1$c2FsdA$aGFzaA'],
    ['a cost that is not a power of two', 'scrypt$1000$8$1$c2FsdA$aGFzaA'],
    ['a cost no server should spend on one login', `scrypt$${2 ** 24}$8$1$c2FsdA$aGFzaA`],
    ['missing fields', 'scrypt$16384$8'],
  ])('refuses, without throwing, a stored hash with %s', async (_name, stored) => {
    expect(await verifyPassword('a-long-password', stored)).toBe(false);
  });
});
