import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByokit, type Byokit } from '../byokit.js';
import { Keyring } from '../crypto/keyring.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS } from '../keys/providers.js';
import type { ByokitRequest } from '../http/types.js';
import type { CatalogModel } from '../catalog/model.js';
import type { KeyChange, KeyOwner, KeyRowCursor, Storage } from '../storage/storage.js';
import { SYSTEM_OWNER, userOwner } from '../storage/storage.js';

/** Options for {@link describeStorageConformance}. */
export interface StorageConformanceOptions {
  /**
   * Returns a new, empty storage (for a database: a schema of its own). Called once for most of the suite,
   * whose tests use owners of their own so they do not see each other's rows, and once more for the
   * rotation test, which needs a storage holding nothing but its own keys.
   */
  createStorage(): Promise<Storage>;
  /** Called once after the last test, e.g. to stop an embedded database. Defaults to `storage.close()`. */
  destroyStorage?(storage: Storage): Promise<void>;
  /** Key rows in the rotation test. Default 3,000. */
  rotationRows?: number;
}

const bytes = (...values: number[]) => new Uint8Array(values);
let ownerCounter = 0;
/** A user id no other test in this run uses. */
const freshUser = () => userOwner(`conformance-${Date.now().toString(36)}-${++ownerCounter}`);

function setChange(provider: KeyChange['provider'], envelope: Uint8Array, hint = '…abcd', keyId = 'k1'): KeyChange {
  return { action: 'set', provider, envelope, keyId, hint, verification: 'unverified' };
}

function jsonRequest(method: string, url: string, userId: string, body: unknown): ByokitRequest {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  return {
    method,
    url,
    headers: { 'content-type': 'application/json' },
    body: { kind: 'stream', stream: [bytes] },
    authenticate: () => ({ userId, isAdmin: false }),
  };
}

/**
 * The behaviour every {@link Storage} must have, as a vitest suite. Run it from a test file of your
 * storage package:
 *
 * ```ts
 * import { describeStorageConformance } from '@byokit/core/testing';
 * describeStorageConformance('my storage', { createStorage: async () => myStorage() });
 * ```
 */
export function describeStorageConformance(name: string, options: StorageConformanceOptions): void {
  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage;
    const at = new Date('2026-11-25T10:00:00.000Z');
    const later = new Date('2026-11-25T11:00:00.000Z');
    const actor = { actorId: 'actor-1', requestId: 'request-1' };

    beforeAll(async () => {
      storage = await options.createStorage();
    }, 60_000);
    afterAll(async () => {
      if (options.destroyStorage) await options.destroyStorage(storage);
      else await storage.close?.();
    });

    it('returns null for a key never set', async () => {
      expect(await storage.getKey(freshUser(), 'anthropic')).toBeNull();
      expect(await storage.listKeys(freshUser())).toEqual([]);
    });

    it('returns a set key with its envelope bytes, master key id, hint and timestamps', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1, 2, 3, 255), '…Xy9Q', 'primary-1')], actor, at);
      const key = await storage.getKey(owner, 'anthropic');
      expect(key).not.toBeNull();
      expect(key!.envelope).toBeInstanceOf(Uint8Array);
      expect([...key!.envelope]).toEqual([1, 2, 3, 255]);
      expect(key!).toMatchObject({ owner, provider: 'anthropic', keyId: 'primary-1', hint: '…Xy9Q', verification: 'unverified' });
      expect(key!.createdAt.toISOString()).toBe(at.toISOString());
      expect(key!.updatedAt.toISOString()).toBe(at.toISOString());
    });

    it('keeps one key per owner and provider: a second set replaces it and keeps its creation time', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('openai', bytes(1), '…aaaa')], actor, at);
      await storage.writeKeys(owner, [setChange('openai', bytes(2), '…bbbb')], actor, later);
      const keys = await storage.listKeys(owner);
      expect(keys).toHaveLength(1);
      expect([...keys[0]!.envelope]).toEqual([2]);
      expect(keys[0]!.hint).toBe('…bbbb');
      expect(keys[0]!.createdAt.toISOString()).toBe(at.toISOString());
      expect(keys[0]!.updatedAt.toISOString()).toBe(later.toISOString());
    });

    it("never shows one owner's keys to another, nor user keys as system keys", async () => {
      const alice = freshUser();
      const bob = freshUser();
      await storage.writeKeys(alice, [setChange('google', bytes(7))], actor, at);
      expect(await storage.getKey(bob, 'google')).toBeNull();
      expect(await storage.listKeys(bob)).toEqual([]);
      const systemKeys = await storage.listKeys(SYSTEM_OWNER);
      expect(systemKeys.some((key) => key.owner.type !== 'system')).toBe(false);
    });

    it('stores the system key apart from every user', async () => {
      const user = freshUser();
      await storage.writeKeys(SYSTEM_OWNER, [setChange('google', bytes(9), '…sys1')], actor, at);
      expect((await storage.getKey(SYSTEM_OWNER, 'google'))!.owner).toEqual(SYSTEM_OWNER);
      expect(await storage.getKey(user, 'google')).toBeNull();
      await storage.writeKeys(SYSTEM_OWNER, [{ action: 'delete', provider: 'google' }], actor, at);
      expect(await storage.getKey(SYSTEM_OWNER, 'google')).toBeNull();
    });

    it('deletes one key and leaves the others', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1)), setChange('openai', bytes(2))], actor, at);
      await storage.writeKeys(owner, [{ action: 'delete', provider: 'anthropic' }], actor, later);
      expect(await storage.getKey(owner, 'anthropic')).toBeNull();
      expect((await storage.getKey(owner, 'openai'))!.envelope).toEqual(bytes(2));
    });

    it('applies a write all or nothing: one bad change and no change is kept', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('openai', bytes(5))], actor, at);
      const bad = { action: 'set', provider: 'not-a-provider', envelope: bytes(1), keyId: 'k1', hint: '…x', verification: 'unverified' };
      await expect(
        storage.writeKeys(
          owner,
          [setChange('anthropic', bytes(1)), { action: 'delete', provider: 'openai' }, bad as unknown as KeyChange],
          actor,
          later,
        ),
      ).rejects.toThrow();
      expect(await storage.getKey(owner, 'anthropic')).toBeNull();
      expect((await storage.getKey(owner, 'openai'))!.envelope).toEqual(bytes(5));
      expect(await storage.listAudit({ owner })).toHaveLength(1);
    });

    it('records an audit entry for each change that altered a row, newest first, with the hint and never more', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1), '…aaaa')], { actorId: 'u1', requestId: 'r1' }, at);
      const deleted = await storage.writeKeys(
        owner,
        [
          { action: 'delete', provider: 'anthropic' },
          { action: 'delete', provider: 'google' },
        ],
        { actorId: 'admin', requestId: 'r2' },
        later,
      );
      expect(deleted).toHaveLength(1);
      const records = await storage.listAudit({ owner });
      expect(records.map((r) => [r.action, r.provider, r.hint, r.actorId, r.requestId])).toEqual([
        ['delete', 'anthropic', '…aaaa', 'admin', 'r2'],
        ['set', 'anthropic', '…aaaa', 'u1', 'r1'],
      ]);
      expect(records[0]!.at.toISOString()).toBe(later.toISOString());
      expect(records[0]!.owner).toEqual(owner);
      expect(await storage.listAudit({ owner, limit: 1 })).toHaveLength(1);
    });

    it('counts key rows by master key id', async () => {
      const owner = freshUser();
      const before = await storage.countKeysByMasterKeyId();
      await storage.writeKeys(
        owner,
        [
          setChange('anthropic', bytes(1), '…a', 'count-a'),
          setChange('openai', bytes(1), '…b', 'count-a'),
          setChange('google', bytes(1), '…c', 'count-b'),
        ],
        actor,
        at,
      );
      const after = await storage.countKeysByMasterKeyId();
      expect((after.get('count-a') ?? 0) - (before.get('count-a') ?? 0)).toBe(2);
      expect((after.get('count-b') ?? 0) - (before.get('count-b') ?? 0)).toBe(1);
    });

    it('lists the rows not sealed by the primary master key, page by page, each row once', async () => {
      const primary = `primary-${++ownerCounter}`;
      const stale = `stale-${ownerCounter}`;
      const owners = [freshUser(), freshUser(), freshUser()];
      for (const owner of owners) {
        await storage.writeKeys(
          owner,
          [
            setChange('anthropic', bytes(1), '…a', stale),
            setChange('openai', bytes(2), '…b', primary),
            setChange('google', bytes(3), '…c', stale),
          ],
          actor,
          at,
        );
      }
      const seen: string[] = [];
      let cursor: KeyRowCursor | undefined;
      for (let page = 0; page < 100; page++) {
        const rows = await storage.listKeysToReseal(primary, 2, cursor);
        if (rows.length === 0) break;
        expect(rows.length).toBeLessThanOrEqual(2);
        for (const row of rows) {
          expect(row.keyId).not.toBe(primary);
          seen.push(`${row.owner.id}/${row.provider}`);
        }
        const last = rows[rows.length - 1]!;
        cursor = { ownerType: last.owner.type, ownerId: last.owner.id, provider: last.provider };
      }
      const ours = seen.filter((entry) => owners.some((owner) => entry.startsWith(`${owner.id}/`)));
      expect(ours.sort()).toEqual(owners.flatMap((owner) => [`${owner.id}/anthropic`, `${owner.id}/google`]).sort());
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('replaces an envelope only while it still holds the expected one (compare-and-swap), keeping updatedAt', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('google', bytes(1, 1), '…g', 'old-id')], actor, at);
      expect(await storage.replaceKeyEnvelope(owner, 'google', bytes(9, 9), { envelope: bytes(2, 2), keyId: 'new-id' })).toBe(false);
      expect((await storage.getKey(owner, 'google'))!.keyId).toBe('old-id');
      expect(await storage.replaceKeyEnvelope(owner, 'google', bytes(1, 1), { envelope: bytes(2, 2), keyId: 'new-id' })).toBe(true);
      const key = (await storage.getKey(owner, 'google'))!;
      expect([...key.envelope, key.keyId]).toEqual([2, 2, 'new-id']);
      expect(key.updatedAt.toISOString()).toBe(at.toISOString());
      // The old envelope no longer matches: a second, racing re-encryption does nothing.
      expect(await storage.replaceKeyEnvelope(owner, 'google', bytes(1, 1), { envelope: bytes(3, 3), keyId: 'other' })).toBe(false);
      expect(await storage.replaceKeyEnvelope(freshUser(), 'google', bytes(2, 2), { envelope: bytes(3, 3), keyId: 'x' })).toBe(false);
    });

    it('rotates the master key under load: two re-encryption runs and live writes at once, nothing lost', async () => {
      const rows = options.rotationRows ?? 3000;
      const outer = storage;
      storage = await options.createStorage();
      try {
        const oldKey = { id: `rot-old-${++ownerCounter}`, key: crypto.getRandomValues(new Uint8Array(32)) };
        const newKey = { id: `rot-new-${ownerCounter}`, key: crypto.getRandomValues(new Uint8Array(32)) };
        const before = await createByokit({ storage, keyring: Keyring.from([oldKey]), environment: {} });
        const owners = Array.from({ length: Math.ceil(rows / PROVIDERS.length) }, () => freshUser());
        const expected = new Map<string, string>();
        const writeAll = async (byokit: Byokit, group: KeyOwner[]) => {
          for (const owner of group) {
            const body: Record<string, string> = {};
            for (const provider of PROVIDERS) {
              const key = fakeProviderKey(provider);
              body[`${provider}_api_key`] = key;
              expected.set(`${owner.id}/${provider}`, key);
            }
            const response = await byokit.handle(jsonRequest('PATCH', '/users/me/api-key', owner.id, body));
            expect(response!.status).toBe(200);
          }
        };
        await Promise.all(
          [0, 1, 2, 3].map((part) =>
            writeAll(
              before,
              owners.filter((_, index) => index % 4 === part),
            ),
          ),
        );

        // The new key becomes primary; the old one stays to open what it sealed.
        const after = await createByokit({ storage, keyring: Keyring.from([newKey, oldKey]), environment: {}, keyCache: { ttlMs: 0 } });
        const liveOwners = owners.slice(0, 50);
        const [first, second] = await Promise.all([
          after.rotateKeys({ batchSize: 200 }),
          after.rotateKeys({ batchSize: 150 }),
          writeAll(after, liveOwners),
        ]);
        expect(first.failed + second.failed).toBe(0);
        expect(first.resealed + second.resealed).toBeLessThanOrEqual(owners.length * PROVIDERS.length);

        const counts = await storage.countKeysByMasterKeyId();
        expect(counts.get(oldKey.id) ?? 0).toBe(0);
        // Every key opens under the new keyring alone, and holds the latest value written: no write was lost.
        const newOnly = await createByokit({ storage, keyring: Keyring.from([newKey]), environment: {}, keyCache: { ttlMs: 0 } });
        for (const owner of owners) {
          for (const provider of PROVIDERS) {
            const resolved = await newOnly.resolveKey({ userId: owner.id }, provider);
            expect(resolved.key.reveal() === expected.get(`${owner.id}/${provider}`)).toBe(true);
          }
        }
      } finally {
        const rotationStorage = storage;
        storage = outer;
        if (options.destroyStorage) await options.destroyStorage(rotationStorage);
        else await rotationStorage.close?.();
      }
    }, 180_000);

    it('keeps admin models: adds, replaces by id, refuses a second model of the same provider and name', async () => {
      const id = crypto.randomUUID();
      const name = `conformance-model-${++ownerCounter}`;
      const model: CatalogModel = {
        id,
        provider: 'openai',
        model: name,
        displayName: 'Conformance model',
        isActive: true,
        contextWindow: 128_000,
        maxOutputTokens: 16_384,
        pricing: { inputPerMTokUsd: '0.15', outputPerMTokUsd: '0.6', cachedInputPerMTokUsd: '0.075', cacheWritePerMTokUsd: '0.1875' },
        ignoredParameters: ['temperature', 'top_p'],
      };
      await storage.saveModel(model, at);
      expect((await storage.listModels()).find((saved) => saved.id === id)).toEqual(model);
      const { ignoredParameters: _dropped, ...withoutIgnored } = model;
      const changed = { ...withoutIgnored, isActive: false, displayName: 'Renamed', pricing: null };
      await storage.saveModel(changed, later);
      expect((await storage.listModels()).filter((saved) => saved.id === id)).toEqual([changed]);
      await expect(storage.saveModel({ ...model, id: crypto.randomUUID() }, later)).rejects.toThrow();
      expect((await storage.listModels()).filter((saved) => saved.model === name)).toHaveLength(1);
    });

    it('hands out copies: changing a returned envelope does not change what is stored', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1, 2))], actor, at);
      const first = await storage.getKey(owner, 'anthropic');
      first!.envelope[0] = 99;
      expect((await storage.getKey(owner, 'anthropic'))!.envelope).toEqual(bytes(1, 2));
    });
  });
}
