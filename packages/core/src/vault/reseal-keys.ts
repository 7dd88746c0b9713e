import { isByokitError } from '../errors.js';
import { openProviderKey, sealProviderKey } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Logger } from '../logging/logger.js';
import type { KeyRowCursor, Storage } from '../storage/storage.js';
import {
  assertSettingNames,
  isAbortSignal,
  isSettingsObject,
  kindOfOption,
  kindOfSignal,
  optionalSettingsShape,
  wholeNumberOption,
} from '../host-option-checks.js';

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

/**
 * Options of a re-encryption run. Another name, a `signal` that is not an AbortSignal or an `onProgress` that is not a
 * function rejects the run with a `TypeError` naming it, before it re-seals anything.
 */
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
  assertRotationOptions(options);
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

const ROTATION_OPTIONS = ['batchSize', 'signal', 'onProgress'] satisfies (keyof RotationOptions)[];

/**
 * The options' shape, checked before the first page (plain JavaScript): an AbortController in place of its signal
 * made a run that could not be stopped, and an onProgress that is not a function failed once the first page was done.
 */
function assertRotationOptions(options: unknown): asserts options is RotationOptions {
  if (!isSettingsObject(options)) {
    throw new TypeError(`rotateKeys options must be ${optionalSettingsShape(ROTATION_OPTIONS)}, got ${kindOfOption(options)}`);
  }
  assertSettingNames('rotateKeys', options, ROTATION_OPTIONS, { noun: 'option' });
  if (options.signal !== undefined && !isAbortSignal(options.signal)) {
    throw new TypeError(`rotateKeys signal must be an AbortSignal, got ${kindOfSignal(options.signal)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError(`rotateKeys onProgress must be a function, got ${kindOfOption(options.onProgress)}`);
  }
}
