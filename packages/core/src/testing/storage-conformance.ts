import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyChange, Storage } from '../storage/storage.js';
import { SYSTEM_OWNER, userOwner } from '../storage/storage.js';

/** Options for {@link describeStorageConformance}. */
export interface StorageConformanceOptions {
  /**
   * Returns a storage to test. Called once per test file (not per test), so a slow-starting database is
   * started once; every test uses owners of its own, so tests do not see each other's rows.
   */
  createStorage(): Promise<Storage>;
  /** Called once after the last test, e.g. to stop an embedded database. Defaults to `storage.close()`. */
  destroyStorage?(storage: Storage): Promise<void>;
}

const bytes = (...values: number[]) => new Uint8Array(values);
let ownerCounter = 0;
/** A user id no other test in this run uses. */
const freshUser = () => userOwner(`conformance-${Date.now().toString(36)}-${++ownerCounter}`);

function setChange(provider: KeyChange['provider'], envelope: Uint8Array, hint = '…abcd', keyId = 'k1'): KeyChange {
  return { action: 'set', provider, envelope, keyId, hint, verification: 'unverified' };
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
        storage.writeKeys(owner, [setChange('anthropic', bytes(1)), { action: 'delete', provider: 'openai' }, bad as unknown as KeyChange], actor, later),
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
        [{ action: 'delete', provider: 'anthropic' }, { action: 'delete', provider: 'google' }],
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
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1), '…a', 'count-a'), setChange('openai', bytes(1), '…b', 'count-a'), setChange('google', bytes(1), '…c', 'count-b')], actor, at);
      const after = await storage.countKeysByMasterKeyId();
      expect((after.get('count-a') ?? 0) - (before.get('count-a') ?? 0)).toBe(2);
      expect((after.get('count-b') ?? 0) - (before.get('count-b') ?? 0)).toBe(1);
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
