import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

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
    ['a cost that is not a power of two', 'scrypt$1000$8$1$c2FsdA$aGFzaA'],
    ['a cost no server should spend on one login', `scrypt$${2 ** 24}$8$1$c2FsdA$aGFzaA`],
    ['missing fields', 'scrypt$16384$8'],
  ])('refuses, without throwing, a stored hash with %s', async (_name, stored) => {
    expect(await verifyPassword('a-long-password', stored)).toBe(false);
  });
});
