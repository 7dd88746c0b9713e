/** A memory storage's provider keys and their audit trail: reads, all-or-nothing writes, and the rotation's pages. */
import { ByokitError } from '../errors.js';
import { isProvider, type Provider } from '../keys/providers.js';
import { auditRecord, copyAudit, ownerKey, type MemoryState } from './memory-state.js';
import type {
  AuditQuery,
  AuditRecord,
  KeyChange,
  KeyOwner,
  KeyRowCursor,
  KeyVerification,
  KeyWriteActor,
  Storage,
  StoredKey,
} from './storage.js';

function copyKey(key: StoredKey): StoredKey {
  return {
    ...key,
    owner: { ...key.owner },
    envelope: key.envelope.slice(),
    createdAt: new Date(key.createdAt),
    updatedAt: new Date(key.updatedAt),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

type KeyMethods = Pick<
  Storage,
  | 'getKey'
  | 'listKeys'
  | 'writeKeys'
  | 'listAudit'
  | 'listKeysToReseal'
  | 'replaceKeyEnvelope'
  | 'setKeyVerification'
  | 'countKeysByMasterKeyId'
>;

/** The key and audit methods of a memory storage over `state`. */
export function memoryKeys({ keys, audit }: MemoryState): KeyMethods {
  return {
    async getKey(owner, provider) {
      const key = keys.get(ownerKey(owner))?.get(provider);
      return key ? copyKey(key) : null;
    },

    async listKeys(owner) {
      return [...(keys.get(ownerKey(owner))?.values() ?? [])].map(copyKey);
    },

    async writeKeys(owner: KeyOwner, changes: readonly KeyChange[], actor: KeyWriteActor, at: Date) {
      // Check every change before touching anything: all or nothing, as a database transaction would be.
      for (const change of changes) {
        if (!isProvider(change.provider)) {
          throw new ByokitError('validation_failed', `Unknown provider in key write.`);
        }
        if (change.action === 'set' && !(change.envelope instanceof Uint8Array)) {
          throw new ByokitError('validation_failed', `A key write needs the envelope as bytes.`);
        }
      }
      const owned = keys.get(ownerKey(owner)) ?? new Map<Provider, StoredKey>();
      const written: AuditRecord[] = [];
      for (const change of changes) {
        const previous = owned.get(change.provider);
        if (change.action === 'delete') {
          if (!previous) continue;
          owned.delete(change.provider);
        } else {
          owned.set(change.provider, {
            owner: { ...owner },
            provider: change.provider,
            envelope: change.envelope.slice(),
            keyId: change.keyId,
            hint: change.hint,
            verification: change.verification,
            createdAt: previous?.createdAt ?? new Date(at),
            updatedAt: new Date(at),
          });
        }
        written.push(auditRecord(owner, change.provider, change.action, change.action === 'set' ? change.hint : previous!.hint, actor, at));
      }
      // An owner with no key left is kept no longer, nor one whose removals found nothing (a user's DELETE without a key).
      if (owned.size > 0) keys.set(ownerKey(owner), owned);
      else keys.delete(ownerKey(owner));
      audit.push(...written);
      return written.map(copyAudit);
    },

    async listAudit(query: AuditQuery = {}) {
      const limit = query.limit ?? 100;
      const matching = query.owner ? audit.filter((r) => ownerKey(r.owner) === ownerKey(query.owner!)) : audit;
      return matching.slice(-limit).reverse().map(copyAudit);
    },

    async listKeysToReseal(primaryKeyId: string, limit: number, cursor?: KeyRowCursor) {
      const rows = [...keys.values()].flatMap((owned) => [...owned.values()]).filter((key) => key.keyId !== primaryKeyId);
      const position = (key: StoredKey) => [key.owner.type, key.owner.id, key.provider].join('\u0000');
      const after = cursor && [cursor.ownerType, cursor.ownerId, cursor.provider].join('\u0000');
      return rows
        .filter((key) => after === undefined || position(key) > after)
        .sort((a, b) => (position(a) < position(b) ? -1 : 1))
        .slice(0, limit)
        .map(copyKey);
    },

    async replaceKeyEnvelope(
      owner: KeyOwner,
      provider: Provider,
      expectedEnvelope: Uint8Array,
      replacement: { envelope: Uint8Array; keyId: string },
    ) {
      const current = keys.get(ownerKey(owner))?.get(provider);
      if (!current || !sameBytes(current.envelope, expectedEnvelope)) return false;
      current.envelope = replacement.envelope.slice();
      current.keyId = replacement.keyId;
      return true;
    },

    async setKeyVerification(owner: KeyOwner, provider: Provider, expectedEnvelope: Uint8Array, verification: KeyVerification) {
      const current = keys.get(ownerKey(owner))?.get(provider);
      if (!current || !sameBytes(current.envelope, expectedEnvelope)) return false;
      current.verification = verification;
      return true;
    },

    async countKeysByMasterKeyId() {
      const counts = new Map<string, number>();
      for (const owned of keys.values()) {
        for (const key of owned.values()) counts.set(key.keyId, (counts.get(key.keyId) ?? 0) + 1);
      }
      return counts;
    },
  };
}
