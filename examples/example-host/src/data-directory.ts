import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ByokitError, generateKeyringEntry } from '@byokit/core';
import { MIN_SECRET_BYTES } from './config.js';
import type { Logger } from 'pino';

/**
 * Creates the data folder (mode 0700) unless it is there. A path that is a file, or a symlink to a folder since
 * removed, is refused by name: Node's words for the failed mkdir ('EEXIST: file already exists') named no setting.
 */
export function makeDataDirectory(directory: string): void {
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'ENOENT') throw error;
    throw new Error(
      `The data folder ${directory} (BYOKIT_DATA_DIR) is not a folder (a file, or a link to a folder no longer there) and cannot be made one (${code}). Set BYOKIT_DATA_DIR to a folder, or move what is at that path.`,
    );
  }
}

/**
 * A secret kept in the data folder: read it if it is there, else create it once with file mode 0600.
 * The library never generates a keyring; this example does, so that `npm start` needs no set-up.
 */
function fileSecret(directory: string, name: string, create: () => string): { value: string; created: boolean } {
  makeDataDirectory(directory);
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
  // An empty file is what a first start that ran out of disk space leaves (created, then written). byokit would
  // say that BYOKIT_KEYRING is not set; a new keyring is not made either: it could not open the keys stored.
  if (!value) {
    throw new ByokitError(
      'keyring_invalid',
      `The keyring file ${join(directory, 'keyring')} is empty. Restore it from your backup: without it no stored key can be decrypted. If no key was ever stored in this data folder, delete the file and the next start generates a new keyring; or set BYOKIT_KEYRING.`,
    );
  }
  if (created) {
    logger.warn(
      { path: join(directory, 'keyring') },
      'NO BYOKIT_KEYRING SET: generated a new master keyring in the data folder (mode 0600). Back it up: without it no stored key can be decrypted. Only a server with this file opens the keys it stores: in production, and for several servers on one database, set BYOKIT_KEYRING instead (the same on every server).',
    );
  }
  return value;
}

/** The secret that signs access tokens: `SECRET_KEY` when set, else the data folder's, generated on first start. */
export function jwtSecret(directory: string, fromEnvironment: string | undefined, logger: Logger): Uint8Array {
  if (fromEnvironment) return new TextEncoder().encode(fromEnvironment);
  const { value: text, created } = fileSecret(directory, 'jwt-secret', () => randomBytes(32).toString('base64url'));
  // Said, as the keyring's generation is: servers sharing one DATABASE_URL each made their own secret without a word,
  // and refused each other's tokens (a 401 behind a load balancer), as all were after a redeploy that lost the folder.
  if (created) {
    logger.warn(
      { path: join(directory, 'jwt-secret') },
      'NO SECRET_KEY SET: generated the secret that signs access tokens into the data folder (mode 0600). Only a server with this file accepts the tokens it signs: for several servers on one database, or a data folder a redeploy does not keep, set SECRET_KEY (the same on every server).',
    );
  }
  // The rule SECRET_KEY is held to (config.ts, RFC 7518 §3.2). An empty file (a first start out of disk space)
  // made every login a 500 (no HMAC key of zero length); a short one written by hand, tokens that can be forged.
  if (Buffer.byteLength(text) < MIN_SECRET_BYTES) {
    throw new Error(
      `The token secret file ${join(directory, 'jwt-secret')} must hold at least ${MIN_SECRET_BYTES} bytes (it signs access tokens with HS256). Delete it and the next start generates one (access tokens issued so far stop working), or set SECRET_KEY.`,
    );
  }
  return new TextEncoder().encode(text);
}
