import { isByokitError } from '../errors.js';
import { openProviderKey, sealProviderKey } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Logger } from '../logging/logger.js';
import type { KeyRowCursor, Storage } from '../storage/storage.js';
import { wholeNumberOption } from '../host-option-checks.js';

/** How far a re-encryption run got. */
export interface RotationProgress {
  /** Rows now sealed by the primary master key. */
  resealed: number;
  /** Rows changed by someone else meanwhile (a user's write, another run): left as they are, already current. */
  skipped: number;
  /** Rows that could not be opened; each is logged with its owner, provider and key id. */
  failed: number;
  /** Rows looked at so far. */
  scanned: number;
}

/** Options of a re-encryption run. */
export interface RotationOptions {
  /** Rows per page: a whole number from 1 to 10,000. Default 500. */
  batchSize?: number | undefined;
  /** Stops the run after the current row; run again to resume. */
  signal?: AbortSignal | undefined;
  /** Called after every page. */
  onProgress?(progress: RotationProgress): void;
}

/**
 * Re-seals every stored key under the keyring's primary master key (spec/security.md, "Rotation"). Works
 * in pages, so it can be stopped and run again (rows already on the primary drop out of the work list), and
 * is safe beside live traffic and a second run at once: each row is replaced only if its envelope is still
 * the one read (compare-and-swap), so a newer write is never overwritten. A row that does not open is
 * counted and logged, never skipped silently, and never stops the others.
 */
export async function resealKeys(
  storage: Storage,
  keyring: Keyring,
  logger: Logger,
  options: RotationOptions = {},
): Promise<RotationProgress> {
  // A page of 0 (or NaN) rows would end the run at once, as if nothing were left to re-seal.
  const batchSize = wholeNumberOption('rotateKeys batchSize', options.batchSize ?? 500, 1, 10_000);
  const progress: RotationProgress = { resealed: 0, skipped: 0, failed: 0, scanned: 0 };
  let cursor: KeyRowCursor | undefined;
  while (!options.signal?.aborted) {
    const rows = await storage.listKeysToReseal(keyring.primaryId, batchSize, cursor);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (options.signal?.aborted) break;
      progress.scanned++;
      const context = { ownerType: row.owner.type, ownerId: row.owner.id, provider: row.provider };
      let plaintext: string;
      try {
        plaintext = openProviderKey(keyring, row.envelope, context);
      } catch (error) {
        if (!isByokitError(error)) throw error;
        progress.failed++;
        logger.error({ ownerType: row.owner.type, ownerId: row.owner.id, provider: row.provider, keyId: row.keyId }, error.message);
        continue;
      }
      const replacement = sealProviderKey(keyring, plaintext, context);
      const replaced = await storage.replaceKeyEnvelope(row.owner, row.provider, row.envelope, replacement);
      if (replaced) progress.resealed++;
      else progress.skipped++;
    }
    const last = rows[rows.length - 1]!;
    cursor = { ownerType: last.owner.type, ownerId: last.owner.id, provider: last.provider };
    options.onProgress?.({ ...progress });
  }
  logger.info({ ...progress, primaryKeyId: keyring.primaryId }, 'master key rotation run finished');
  return progress;
}
