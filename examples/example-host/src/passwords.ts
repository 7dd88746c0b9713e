import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt is memory-hard; N=2^15, r=8 needs 32 MiB per hash (OWASP's minimum for scrypt is N=2^17 at r=8,p=1
// or N=2^15 with more parallelism; this is an example server, tuned to stay quick in tests).
const PARAMETERS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
/** The most memory one stored hash may ask of a login (scrypt takes 128·N·r bytes): N=2^17 at r=8 is 128 MiB. */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

type Parameters = { N: number; r: number; p: number };

function derive(password: string, salt: Buffer, { N, r, p }: Parameters): Promise<Buffer> {
  // maxmem: what scrypt needs (RFC 7914 §2: 128·N·r bytes for V, 128·r·p for B), with room; Node's default is 32 MiB.
  const options: ScryptOptions = { N, r, p, maxmem: 2 * 128 * r * (N + p) };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** A salted scrypt hash in the form `scrypt$N$r$p$salt$hash` (base64url), so parameters can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, PARAMETERS);
  return ['scrypt', PARAMETERS.N, PARAMETERS.r, PARAMETERS.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * True when `password` matches `stored`, compared in constant time. The hash is made again with the parameters
 * `stored` names, not today's: a hash made before the parameters changed still verifies.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  const parameters = { N: Number(N), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || !salt || !hash || !sane(parameters)) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), parameters);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Parameters scrypt takes (N a power of two above 1) at a memory cost one login may spend. */
function sane({ N, r, p }: Parameters): boolean {
  const whole = [N, r, p].every((value) => Number.isSafeInteger(value) && value >= 1);
  return whole && N > 1 && (N & (N - 1)) === 0 && p <= 16 && 128 * N * r <= MAX_MEMORY_BYTES;
}
