// The keyring a `byokit` command seals and opens stored keys with, from --keyring-file or the environment.
import { readFile } from 'node:fs/promises';
import { keyringFromEnv, type Keyring } from '@byokit/core';
import type { Options } from './usage.js';

/**
 * The keyring from `--keyring-file` (the same text as `BYOKIT_KEYRING`) or the environment; undefined when
 * `optional` and neither is there. Its errors name entries by position and id, never key material.
 */
export async function loadKeyring(options: Options, { optional }: { optional: boolean }): Promise<Keyring | undefined> {
  const file = options['keyring-file'];
  const retired = process.env.BYOKIT_KEYRING_RETIRED;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the keyring file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (text.trim() === '') throw new Error(`the keyring file ${file} is empty`);
    return keyringFromEnv({ BYOKIT_KEYRING: text.trim(), BYOKIT_KEYRING_RETIRED: retired });
  }
  if (optional && !process.env.BYOKIT_KEYRING?.trim()) return undefined;
  return keyringFromEnv(process.env);
}
