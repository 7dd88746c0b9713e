// Master keys: rows counted and resealed by master key id, rotated under load with nothing lost and every swap counted; an envelope bound to its row and its key.
import { beforeEach, expect, it } from 'vitest';
import { createByokit, type Byokit } from '../../byokit.js';
import { Keyring } from '../../crypto/keyring.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { PROVIDERS } from '../../keys/providers.js';
import type { KeyChange, KeyOwner, KeyRowCursor, Storage } from '../../storage/storage.js';
import { SYSTEM_OWNER } from '../../storage/storage.js';
import { bytes, freshUser, jsonRequest, setChange, uniqueNumber } from './fixtures.js';
import type { StorageSuite } from './suite.js';

export function describeMasterKeys(suite: StorageSuite): void {
  const { options, destroy, at, later, actor } = suite;
  let storage: Storage;
  // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
  beforeEach(() => {
    storage = suite.storage;
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
    // Numbers, as byokit.keyRowsByMasterKeyId() hands them to the host: a driver's int8 text ('2') would add up as text.
    for (const rows of after.values()) expect(rows).toBeTypeOf('number');
    expect((after.get('count-a') ?? 0) - (before.get('count-a') ?? 0)).toBe(2);
    expect((after.get('count-b') ?? 0) - (before.get('count-b') ?? 0)).toBe(1);
    // A deleted row, or one replaced under another id, counts no more: start-up refuses a keyring without an id
    // that still has rows, so a count left behind kept a host from dropping a master key no key is sealed with.
    await storage.writeKeys(
      owner,
      [{ action: 'delete', provider: 'google' }, setChange('openai', bytes(2), '…b', 'count-b')],
      actor,
      later,
    );
    const last = await storage.countKeysByMasterKeyId();
    expect((last.get('count-a') ?? 0) - (before.get('count-a') ?? 0)).toBe(1);
    expect((last.get('count-b') ?? 0) - (before.get('count-b') ?? 0)).toBe(1);
  });

  it('lists the rows not sealed by the primary master key, page by page, each row once', async () => {
    const number = uniqueNumber();
    const primary = `primary-${number}`;
    const stale = `stale-${number}`;
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

  it('keeps none of the envelope it was given to swap in: changing it afterwards changes nothing stored', async () => {
    // Storage's TSDoc, "Copies": a re-encryption that reuses its buffer would otherwise rewrite a row it has left.
    const owner = freshUser();
    await storage.writeKeys(owner, [setChange('openai', bytes(1, 1), '…o', 'old-id')], actor, at);
    const replacement = { envelope: bytes(2, 2), keyId: 'new-id' };
    expect(await storage.replaceKeyEnvelope(owner, 'openai', bytes(1, 1), replacement)).toBe(true);
    replacement.envelope.fill(7);
    replacement.keyId = 'changed';
    const key = (await storage.getKey(owner, 'openai'))!;
    expect([...key.envelope, key.keyId]).toEqual([2, 2, 'new-id']);
  });

  it('rotates the master key under load: two re-encryption runs and live writes at once, nothing lost', async () => {
    const rows = options.rotationRows ?? 3000;
    // A storage of its own, holding nothing but this test's keys (StorageConformanceOptions.createStorage).
    const storage = await options.createStorage();
    try {
      const number = uniqueNumber();
      const oldKey = { id: `rot-old-${number}`, key: crypto.getRandomValues(new Uint8Array(32)) };
      const newKey = { id: `rot-new-${number}`, key: crypto.getRandomValues(new Uint8Array(32)) };
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
      // Each row left the old master key once: by one run's swap, counted as resealed, or by a live write, which only
      // the 50 live owners' rows had. So the runs resealed every other row, and no row twice; a swap that happened but
      // answered false (counted as skipped) went unseen by every other check here.
      const rowCount = owners.length * PROVIDERS.length;
      expect(first.resealed + second.resealed).toBeLessThanOrEqual(rowCount);
      expect(first.resealed + second.resealed).toBeGreaterThanOrEqual(rowCount - liveOwners.length * PROVIDERS.length);

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
      await destroy(storage);
    }
  }, 180_000);

  it("opens a key's envelope only in its own row: copied onto another user's row, the system row or another provider's row, it answers key_unreadable there", async () => {
    const own = await options.createStorage();
    try {
      const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
      const first = await createByokit({ storage: own, keyring, environment: {} });
      const [alice, bob, carol] = [freshUser(), freshUser(), freshUser()];
      const keys = { alice: fakeProviderKey('openai'), bob: fakeProviderKey('openai') };
      for (const [owner, key] of [
        [alice, keys.alice],
        [bob, keys.bob],
      ] as const) {
        expect((await first.handle(jsonRequest('PATCH', '/users/me/api-key', owner.id, { openai_api_key: key })))!.status).toBe(200);
      }
      // What a database attacker can do: copy Alice's envelope, bytes and master key id, onto other rows.
      const copied = (await own.getKey(alice, 'openai'))!;
      const copy = (provider: KeyChange['provider']) => setChange(provider, copied.envelope, copied.hint, copied.keyId);
      await own.writeKeys(bob, [copy('openai')], actor, later);
      await own.writeKeys(SYSTEM_OWNER, [copy('openai')], actor, later);
      await own.writeKeys(alice, [copy('anthropic')], actor, later);

      const second = await createByokit({ storage: own, keyring, environment: {}, keyCache: { ttlMs: 0 } });
      const outcome = (userId: string, provider: KeyChange['provider']) =>
        second.resolveKey({ userId }, provider).then(
          ({ key, source }) => `${source}: ${key.reveal() === keys.alice ? "alice's key" : 'another key'}`,
          (error: { code: string; details?: { keySource?: string } }) => `${error.code} (${error.details?.keySource})`,
        );
      expect(await outcome(bob.id, 'openai')).toBe('key_unreadable (user)');
      expect(await outcome(carol.id, 'openai')).toBe('key_unreadable (system)');
      expect(await outcome(alice.id, 'anthropic')).toBe('key_unreadable (user)');
      expect(await outcome(alice.id, 'openai')).toBe("user: alice's key");
    } finally {
      await destroy(own);
    }
  }, 60_000);

  it('refuses to start with a keyring whose key under a stored id is not the one that sealed its rows, and starts with the right one', async () => {
    const own = await options.createStorage();
    try {
      const right = { id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) };
      const first = await createByokit({ storage: own, keyring: Keyring.from([right]), environment: {} });
      for (const owner of [freshUser(), freshUser()]) {
        const body = { openai_api_key: fakeProviderKey('openai') };
        expect((await first.handle(jsonRequest('PATCH', '/users/me/api-key', owner.id, body)))!.status).toBe(200);
      }
      const wrong = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
      await expect(createByokit({ storage: own, keyring: wrong, environment: {} })).rejects.toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringContaining("The keyring's master key 'k1' is not the key that sealed the stored keys under 'k1'"),
      });
      await expect(createByokit({ storage: own, keyring: Keyring.from([right]), environment: {} })).resolves.toBeDefined();
    } finally {
      await destroy(own);
    }
  }, 60_000);
}
