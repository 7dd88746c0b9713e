import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyringEntry } from '@byokit/core';
import type { Logger } from 'pino';

/**
 * A secret kept in the data folder: read it if it is there, else create it once with file mode 0600.
 * The library never generates a keyring; this example does, so that `npm start` needs no set-up.
 */
function fileSecret(directory: string, name: string, create: () => string): { value: string; created: boolean } {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const path = join(directory, name);
  try {
    return { value: readFileSync(path, 'utf8').trim(), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, created: true };
}

/** The keyring text: `BYOKIT_KEYRING` when set, else the data folder's, generated on first start. */
export function keyringText(directory: string, fromEnvironment: string | undefined, logger: Logger): string {
  if (fromEnvironment) return fromEnvironment;
  const { value, created } = fileSecret(directory, 'keyring', () => generateKeyringEntry('k1'));
  if (created) {
    logger.warn(
      { path: join(directory, 'keyring') },
      'NO BYOKIT_KEYRING SET: generated a new master keyring in the data folder (mode 0600). Back it up: without it no stored key can be decrypted. In production set BYOKIT_KEYRING instead.',
    );
  }
  return value;
}

/** The secret that signs access tokens: `SECRET_KEY` when set, else the data folder's, generated on first start. */
export function jwtSecret(directory: string, fromEnvironment: string | undefined): Uint8Array {
  const text = fromEnvironment ?? fileSecret(directory, 'jwt-secret', () => randomBytes(32).toString('base64url')).value;
  return new TextEncoder().encode(text);
}
