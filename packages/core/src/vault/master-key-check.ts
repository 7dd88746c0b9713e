import { ByokitError } from '../errors.js';
import { envelopeAuthenticates } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Storage } from '../storage/storage.js';

/** Rows read per master key id at start-up: one page, so a start costs a query per id, never a table scan. */
const SAMPLE_ROWS = 100;
/** Stored keys that must fail under an id, and none open, before start-up blames the key: one row is no proof. */
const FAILURES_FOR_A_WRONG_KEY = 2;

/**
 * Refuses to start when the keyring holds a stored key id with other bytes than the key that sealed its rows
 * (spec/security.md, "Fail closed at start-up"): the ids match, so the check of ids passes, but every stored key
 * would answer `key_unreadable`, and each key its owner enters again would be sealed under a key the others are
 * not sealed with, to be lost in turn once the right key is back.
 *
 * For each id with rows, up to {@link SAMPLE_ROWS} of them are read (through `listKeysToReseal`, which lists the
 * rows of every id but one: the other id with the most rows, or an id no row has) and opened until one does. It
 * refuses when at least {@link FAILURES_FOR_A_WRONG_KEY} failed authentication and none opened. A single row that
 * does not open (altered, or moved from another owner's row) is no proof: byokit starts, and that key alone answers
 * `key_unreadable`. With three ids or more, an id whose rows are few may not be in the page read: it goes unchecked.
 *
 * @param counts - The rows per master key id, from `countKeysByMasterKeyId`; every id with rows is held and not retired.
 * @throws {@link ByokitError} `keyring_invalid` naming the id and what to do; never anything of a key.
 */
export async function assertMasterKeysSealedStoredKeys(
  keyring: Keyring,
  storage: Storage,
  counts: ReadonlyMap<string, number>,
): Promise<void> {
  const stored = [...counts].filter(([, rows]) => rows > 0).sort(([, a], [, b]) => b - a);
  for (const [keyId] of stored) {
    if (!keyring.has(keyId)) continue;
    const left = stored.find(([id]) => id !== keyId)?.[0] ?? unusedId(stored.map(([id]) => id));
    const rows = (await storage.listKeysToReseal(left, SAMPLE_ROWS)).filter((row) => row.keyId === keyId);
    let failed = 0;
    let opened = false;
    for (const row of rows) {
      const outcome = envelopeAuthenticates(keyring, row.envelope, {
        ownerType: row.owner.type,
        ownerId: row.owner.id,
        provider: row.provider,
      });
      if (outcome === true) {
        opened = true;
        break;
      }
      if (outcome === false) failed++;
    }
    if (opened || failed < FAILURES_FOR_A_WRONG_KEY) continue;
    throw new ByokitError(
      'keyring_invalid',
      `The keyring's master key '${keyId}' is not the key that sealed the stored keys under '${keyId}': none of the ${failed} tried ` +
        `opens with it (the id matches, the bytes do not). Put back the key '${keyId}' had when they were sealed: a key generated ` +
        `again under the same id is another key. Started as it is, byokit would answer key_unreadable for each of them, and seal ` +
        `the keys their owners enter again under a key the others are not sealed with. Only if this is surely the right key ` +
        `were these rows altered in the database: remove them there, and their owners enter their keys again.`,
    );
  }
}

/** An id that no row has, for `listKeysToReseal` to list every row. */
function unusedId(ids: readonly string[]): string {
  let id = 'none';
  while (ids.includes(id)) id += '-';
  return id;
}
