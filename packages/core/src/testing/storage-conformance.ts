import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByokit, type Byokit } from '../byokit.js';
import { ByokitError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS } from '../keys/providers.js';
import type { ByokitRequest } from '../http/types.js';
import type { CatalogModel } from '../catalog/model.js';
import type { Budget, BudgetHold, BudgetScope } from '../metering/budget.js';
import { summarizeUsage } from '../metering/summarize-usage.js';
import { costOf } from '../metering/cost.js';
import { convertAnthropicUsage } from '../providers/anthropic/anthropic-usage.js';
import { convertGoogleUsage } from '../providers/google/google-usage.js';
import { MAX_TOKEN_COUNT } from '../providers/token-count.js';
import type { UsageGroupBy, UsageQuery, UsageRecord, UsageSummaryQuery, UsageTotals } from '../metering/usage-record.js';
import { formatUsd, parseUsd, PICO_DECIMALS } from '../metering/usd.js';
import type { AuditRecord, ForgottenUsage, KeyChange, KeyOwner, KeyRowCursor, Storage } from '../storage/storage.js';
import { SYSTEM_OWNER, userOwner } from '../storage/storage.js';
import { expectSeededAnswersAlike } from './adapter-conformance/seeded-requests.js';
import { startSidesAlike } from './adapter-conformance/same-answers.js';
import { borrowed, sendHostileRequests } from './hostile-requests.js';
import { seededRandom } from './seeded-random.js';
import { usageRecord } from './usage-record.js';

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
  rotationRows?: number | undefined;
}

const bytes = (...values: number[]) => new Uint8Array(values);
let ownerCounter = 0;
/** A user id no other test in this run uses. */
const freshUser = () => userOwner(`conformance-${Date.now().toString(36)}-${++ownerCounter}`);

function setChange(provider: KeyChange['provider'], envelope: Uint8Array, hint = '…abcd', keyId = 'k1'): KeyChange {
  return { action: 'set', provider, envelope, keyId, hint, verification: 'unverified' };
}

/** Every page of a usage query, followed from `next` to the last page, flattened to record ids. */
async function allUsageIds(storage: Storage, query: Omit<UsageQuery, 'cursor'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await storage.listUsage({ ...query, ...(cursor !== undefined && { cursor }) });
    ids.push(...result.records.map((record) => record.id));
    if (result.next === undefined) return ids;
    cursor = result.next;
  }
  throw new Error('listUsage never reached a last page');
}

const USAGE_GROUP_BYS: readonly UsageGroupBy[] = ['day', 'model', 'provider', 'key_source', 'user'];

/** Totals as a test spells them: counts in order, then the cost. */
function totals(
  requests: number,
  [inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens, reasoningTokens]: readonly [number, number, number, number, number],
  costUsd: string,
): UsageTotals {
  return { requests, inputTokens, outputTokens, cachedInputTokens, cacheWriteTokens, reasoningTokens, costUsd };
}

/** The sum of some totals, the cost exactly (pico-dollars as bigint). */
function addTotals(parts: readonly UsageTotals[]): UsageTotals {
  const counts = [0, 0, 0, 0, 0] as [number, number, number, number, number];
  let costPico = 0n;
  for (const part of parts) {
    counts[0] += part.inputTokens;
    counts[1] += part.outputTokens;
    counts[2] += part.cachedInputTokens;
    counts[3] += part.cacheWriteTokens;
    counts[4] += part.reasoningTokens;
    costPico += parseUsd(part.costUsd, PICO_DECIMALS);
  }
  return totals(
    parts.reduce((sum, part) => sum + part.requests, 0),
    counts,
    formatUsd(costPico),
  );
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
 *
 * Beside each method's own tests, it sends seeded hostile requests through byokit's routes on your storage: none
 * may get a 5xx, and each must get the answer byokit gives on memory storage (a page's cursor aside, which is
 * each storage's own).
 *
 * What it cannot see from here, to test beside it: that a database down or timing out rejects with `ByokitError`
 * `storage_unavailable` (a 503, and usage records kept to write again), not the driver's own error (a 500, and the
 * records lost); and that days stay UTC days when the database's time zone is another (run the suite once against a
 * database set to, say, `Pacific/Chatham`). Concurrency is tested with calls at once on one storage: against a
 * database, give `createStorage` a pool of several connections, as nodes would share it.
 */
export function describeStorageConformance(name: string, options: StorageConformanceOptions): void {
  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage;
    const at = new Date('2026-11-25T10:00:00.000Z');
    const later = new Date('2026-11-25T11:00:00.000Z');
    const actor = { actorId: 'actor-1', requestId: 'request-1' };

    /** Lets go of a storage `createStorage` made: the suite's own way when it has one, else its `close`. */
    const destroy = async (made: Storage) => {
      if (options.destroyStorage) await options.destroyStorage(made);
      else await made.close?.();
    };

    beforeAll(async () => {
      storage = await options.createStorage();
    }, 60_000);
    afterAll(() => destroy(storage));

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

    it("keeps what the provider said of a key when it was checked, and a replacement's own", async () => {
      // byokit writes `valid` for a key the provider took (PATCH with verification) and shows it: GET /users/me/api-key.
      const owner = freshUser();
      await storage.writeKeys(
        owner,
        [{ action: 'set', provider: 'openai', envelope: bytes(1), keyId: 'k1', hint: '…abcd', verification: 'valid' }],
        actor,
        at,
      );
      expect((await storage.getKey(owner, 'openai'))!.verification).toBe('valid');
      await storage.writeKeys(owner, [setChange('openai', bytes(2))], actor, later);
      expect((await storage.listKeys(owner)).map((key) => key.verification)).toEqual(['unverified']);
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
      // What GET /users/me/api-key shows: a deleted key still listed is shown as set.
      expect((await storage.listKeys(owner)).map((key) => key.provider)).toEqual(['openai']);
    });

    it("deletes only the owner's own key: another user's and the system's key of that provider stay", async () => {
      const alice = freshUser();
      const bob = freshUser();
      await storage.writeKeys(alice, [setChange('openai', bytes(3))], actor, at);
      await storage.writeKeys(bob, [setChange('openai', bytes(4))], actor, at);
      await storage.writeKeys(SYSTEM_OWNER, [setChange('openai', bytes(6))], actor, at);
      const deleted = await storage.writeKeys(bob, [{ action: 'delete', provider: 'openai' }], actor, later);
      expect(deleted.map((record) => record.owner)).toEqual([bob]);
      expect(await storage.getKey(bob, 'openai')).toBeNull();
      expect((await storage.getKey(alice, 'openai'))!.envelope).toEqual(bytes(3));
      expect((await storage.getKey(SYSTEM_OWNER, 'openai'))!.envelope).toEqual(bytes(6));
      await storage.writeKeys(SYSTEM_OWNER, [{ action: 'delete', provider: 'openai' }], actor, later);
      expect((await storage.getKey(alice, 'openai'))!.envelope).toEqual(bytes(3));
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

    it("applies one owner's two writes at once as if one came after the other, never a mix of both", async () => {
      // Two PATCHes of a user's keys at once (two tabs), each setting one key and removing the other: a write that
      // read the owner's rows, then wrote, left both keys (each removal found nothing), the removed one still in use.
      const owner = freshUser();
      await Promise.all([
        storage.writeKeys(owner, [setChange('anthropic', bytes(1), '…AAAA'), { action: 'delete', provider: 'openai' }], actor, at),
        storage.writeKeys(owner, [{ action: 'delete', provider: 'anthropic' }, setChange('openai', bytes(2), '…OOOO')], actor, at),
      ]);
      const stored = (await storage.listKeys(owner)).map((key) => `${key.provider} ${key.hint}`);
      expect([['openai …OOOO'], ['anthropic …AAAA']]).toContainEqual(stored);
      const audit = (await storage.listAudit({ owner })).map((record) => `${record.action} ${record.provider} ${record.hint}`);
      expect(audit.sort()).toEqual(
        stored[0] === 'openai …OOOO'
          ? ['delete anthropic …AAAA', 'set anthropic …AAAA', 'set openai …OOOO']
          : ['delete openai …OOOO', 'set anthropic …AAAA', 'set openai …OOOO'],
      );
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
        await destroy(rotationStorage);
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
          message: expect.stringContaining("the keyring's master key 'k1' is not the key that sealed the stored keys under 'k1'"),
        });
        await expect(createByokit({ storage: own, keyring: Keyring.from([right]), environment: {} })).resolves.toBeDefined();
      } finally {
        await destroy(own);
      }
    }, 60_000);

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
      // A ByokitError `conflict` (409): two admins adding the same model at once both pass the route's check.
      await expect(storage.saveModel({ ...model, id: crypto.randomUUID() }, later)).rejects.toMatchObject({ code: 'conflict' });
      expect((await storage.listModels()).filter((saved) => saved.model === name)).toHaveLength(1);
    });

    it('keeps one of two models of the same provider and name saved at once, and refuses the other as a conflict', async () => {
      // Checked and then inserted, both saves passed the check: two ids for one name, each admin told 201.
      const name = `conformance-raced-${++ownerCounter}`;
      const raced = [crypto.randomUUID(), crypto.randomUUID()].map((id): CatalogModel => ({
        id,
        provider: 'google',
        model: name,
        displayName: 'Raced',
        isActive: true,
        contextWindow: 1000,
        maxOutputTokens: 100,
        pricing: null,
      }));
      const outcomes = await Promise.allSettled(raced.map((model) => storage.saveModel(model, at)));
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: 'conflict' });
      const kept = raced[outcomes.findIndex((outcome) => outcome.status === 'fulfilled')];
      expect((await storage.listModels()).filter((saved) => saved.model === name)).toEqual([kept]);
    });

    it("changes a model as stored: null for an id not stored, each change from the last one's model, nothing saved when it says so", async () => {
      expect(typeof storage.updateModel, 'updateModel: without it, two admins changing one model on two nodes at once may undo one').toBe(
        'function',
      );
      const update = storage.updateModel!.bind(storage);
      const id = crypto.randomUUID();
      const name = `conformance-update-${++ownerCounter}`;
      const model: CatalogModel = {
        id,
        provider: 'anthropic',
        model: name,
        displayName: 'Conformance update',
        isActive: true,
        contextWindow: 200_000,
        maxOutputTokens: 8_192,
        pricing: { inputPerMTokUsd: '3', outputPerMTokUsd: '15' },
      };
      const seen: Array<CatalogModel | null> = [];
      // Not stored yet (a built-in model, to storage): the change is given null, and what it returns is saved.
      expect(await update(id, (stored) => (seen.push(stored), model), at)).toEqual(model);
      // Two at once: each is given the model as the other left it, and both apply.
      const [deactivated, repriced] = await Promise.all([
        update(id, (stored) => (seen.push(stored), { ...stored!, isActive: false }), later),
        update(id, (stored) => (seen.push(stored), { ...stored!, pricing: { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' } }), later),
      ]);
      expect(seen[0]).toBeNull();
      expect([deactivated?.isActive, repriced?.id]).toEqual([false, id]);
      const stored = (await storage.listModels()).filter((saved) => saved.id === id);
      expect(stored.map((saved) => [saved.isActive, saved.pricing])).toEqual([
        [false, { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12.5' }],
      ]);
      // Nothing saved when the change says so, or throws (what it throws is thrown).
      expect(await update(id, () => undefined, later)).toBeUndefined();
      await expect(
        update(
          id,
          () => {
            throw new ByokitError('validation_failed', 'refused');
          },
          later,
        ),
      ).rejects.toMatchObject({ code: 'validation_failed' });
      expect((await storage.listModels()).filter((saved) => saved.id === id)).toEqual(stored);
      // A provider and name another model has: `conflict`, as for saveModel, and nothing changed.
      const other = { ...model, id: crypto.randomUUID(), model: `${name}-other` };
      await storage.saveModel(other, later);
      await expect(update(other.id, (current) => ({ ...current!, model: name }), later)).rejects.toMatchObject({ code: 'conflict' });
      expect((await storage.listModels()).filter((saved) => saved.id === other.id)).toEqual([other]);
    });

    it('shows a model after a reload as the answer to saving it did: prices in their shortest spelling, text as written', async () => {
      const own = await options.createStorage();
      try {
        const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
        const asAdmin = async (byokit: Byokit, method: string, url: string, body?: unknown) => {
          const answer = await byokit.handle({
            method,
            url,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body: body === undefined ? { kind: 'none' } : { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify(body))] },
            authenticate: () => ({ userId: 'conformance-admin', isAdmin: true }),
          });
          return { status: answer!.status, json: JSON.parse(answer!.body as string) };
        };
        const first = await createByokit({ storage: own, keyring, environment: {} });
        const created = await asAdmin(first, 'POST', '/llm-models', {
          provider: 'openai',
          model: `conformance-prices-${++ownerCounter}`,
          display_name: 'Prices 🚀 naïve',
          context_window: 1000,
          max_output_tokens: 100,
          pricing: { input_per_mtok_usd: '000001', output_per_mtok_usd: '2.500000', cached_input_per_mtok_usd: '0.0' },
        });
        expect(created.status).toBe(201);
        expect(created.json.pricing).toEqual({ input_per_mtok_usd: '1', output_per_mtok_usd: '2.5', cached_input_per_mtok_usd: '0' });
        const patched = await asAdmin(first, 'PATCH', `/llm-models/${created.json.id}`, {
          pricing: { input_per_mtok_usd: '0100', output_per_mtok_usd: '0.500', cache_write_per_mtok_usd: '010.010' },
        });
        expect(patched.json.pricing).toEqual({ input_per_mtok_usd: '100', output_per_mtok_usd: '0.5', cache_write_per_mtok_usd: '10.01' });
        // A lone surrogate would be stored as U+FFFD by PostgreSQL, as written by memory storage: refused on both.
        expect((await asAdmin(first, 'PATCH', `/llm-models/${created.json.id}`, { display_name: 'Broken \ud83d' })).status).toBe(422);
        // Another byokit reads the catalog from the storage, as a restart or a second node does.
        const second = await createByokit({ storage: own, keyring, environment: {} });
        expect((await asAdmin(second, 'GET', `/llm-models/${created.json.id}`)).json).toEqual(patched.json);
      } finally {
        await destroy(own);
      }
    }, 60_000);

    it('lists admin models by provider, then name, in code-point order, whatever order they were added in', async () => {
      // Code-point order is the same on every storage and every database collation; en_US's ignores "-" and case.
      const suffix = `-${++ownerCounter}`;
      const names = ['b', 'B', 'a-b', 'aa', 'a_b', 'a.b', 'A9', 'a'].map((name) => `order${suffix}${name}`);
      const saved = names.map((name, index) => ({
        id: crypto.randomUUID(),
        provider: index % 2 === 0 ? ('openai' as const) : ('anthropic' as const),
        model: name,
        displayName: name,
        isActive: true,
        contextWindow: 1000,
        maxOutputTokens: 100,
        pricing: null,
      }));
      for (const model of saved) await storage.saveModel(model, at);
      const listed = (await storage.listModels()).filter((model) => model.model.startsWith(`order${suffix}`));
      const codePointOrder = [...saved].sort((a, b) =>
        a.provider !== b.provider ? (a.provider < b.provider ? -1 : 1) : a.model < b.model ? -1 : a.model > b.model ? 1 : 0,
      );
      expect(listed.map((model) => `${model.provider} ${model.model}`)).toEqual(
        codePointOrder.map((model) => `${model.provider} ${model.model}`),
      );
    });

    it('answers 600 seeded hostile requests through the routes without a 5xx, on a storage of its own', async () => {
      const ownStorage = await options.createStorage();
      try {
        const run = await sendHostileRequests(ownStorage, { seed: 20261204, count: 600 });
        expect(run.failures).toEqual([]);
        // The requests get past validation, so that the storage is reached: each kind of write succeeded at least once.
        for (const family of [
          'POST /llm/chat/completions 200',
          'POST /llm-models 201',
          'PATCH /users/me/api-key 200',
          'PUT /admin/users/:id/budget 200',
        ]) {
          expect(run.statuses.get(family), family).toBeGreaterThan(0);
        }
      } finally {
        await destroy(ownStorage);
      }
    }, 120_000);

    it('answers 250 seeded hostile requests as memory storage does, byte for byte but for what is random', async () => {
      const own = await options.createStorage();
      const [reference, served] = await startSidesAlike('/v2', borrowed(own));
      try {
        await expectSeededAnswersAlike(reference, served, '/v2');
      } finally {
        await Promise.all([reference.close(), served.close()]);
        await destroy(own);
      }
    }, 120_000);

    it("keeps every user id apart, one named `system`, holding a separator, or another's in another case or Unicode form: keys, audit, budgets, usage and rotation", async () => {
      // Taken exactly as the host gives them (docs/http-api.md): a storage that joins owner type and id with a
      // separator, folds case, pads or normalises would give one of these users another's key, or the system key.
      // 'a ' is 'a' to a PAD SPACE collation (MySQL's older ones, SQL Server's).
      const ids = ['system', 'user:system', 'system:system', 'user', 'a', 'A', 'a ', 'a:b', 'a/b', 'a b', ' a', '%', '_', '*', 'a\u0001'];
      ids.push('caf\u00e9', 'cafe\u0301', 'straße', 'strasse', '\u{1F600}');
      // The longest ids byokit takes: 255 characters (code points), here 1,020 bytes of UTF-8 and 510 UTF-16 units.
      ids.push('x'.repeat(255), '\u{1F600}'.repeat(255));
      // Text PostgreSQL's array literals quote (usage records are written as arrays): NULL, quotes, braces, commas.
      ids.push('NULL', 'null', 'a"b', 'a\\b', '{a,b}', 'a,b', '()');
      const own = await options.createStorage();
      try {
        const owners = [SYSTEM_OWNER, ...ids.map(userOwner)];
        for (const [index, owner] of owners.entries()) await own.writeKeys(owner, [setChange('openai', bytes(index))], actor, at);
        const monthStart = new Date(Date.UTC(2027, 4, 1));
        const month = { start: monthStart, end: new Date(Date.UTC(2027, 5, 1)) };
        for (const [index, userId] of ids.entries()) {
          await own.setBudget(userId, { monthlyLimitUsd: `${index + 1}`, appliesTo: 'all', updatedAt: at });
        }
        // One batch, as the usage meter writes them.
        await own.recordUsage(
          ids.map((userId, index) => usageRecord(userId, new Date(monthStart.getTime() + 60_000), { costUsd: `${index + 1}` })),
        );
        for (const [index, owner] of owners.entries()) {
          const keys = await own.listKeys(owner);
          expect(
            keys.map((key) => [key.owner, [...key.envelope]]),
            JSON.stringify(owner),
          ).toEqual([[owner, [index]]]);
          expect((await own.getKey(owner, 'openai'))!.envelope, JSON.stringify(owner)).toEqual(bytes(index));
          expect((await own.listAudit({ owner })).map((record) => record.owner)).toEqual([owner]);
        }
        for (const [index, userId] of ids.entries()) {
          expect((await own.getBudget(userId))?.monthlyLimitUsd, JSON.stringify(userId)).toBe(`${index + 1}`);
          const usage = await own.listUsage({ userId, limit: 10 });
          expect(usage.records.map((record) => record.userId)).toEqual([userId]);
          expect(await own.budgetUse(userId, month, 'all', at), JSON.stringify(userId)).toEqual({
            spentUsd: `${index + 1}`,
            heldUsd: '0',
          });
        }
        const byUser = await own.summarizeUsage({ groupBy: 'user' });
        expect(byUser.groups.map((group) => group.key).sort()).toEqual([...ids].sort());
        // A re-encryption run pages by (owner type, owner id, provider): an order that takes two of these ids as one
        // (a collation folding case, or padding) skips a row at a page's end, and the run ends with it on the old key.
        const resealed: string[] = [];
        let cursor: KeyRowCursor | undefined;
        for (let page = 0; page <= owners.length; page++) {
          const rows = await own.listKeysToReseal('a master key id no row has', 1, cursor);
          if (rows.length === 0) break;
          const last = rows[rows.length - 1]!;
          resealed.push(...rows.map((row) => JSON.stringify(row.owner)));
          cursor = { ownerType: last.owner.type, ownerId: last.owner.id, provider: last.provider };
        }
        expect(resealed.sort()).toEqual(owners.map((owner) => JSON.stringify(owner)).sort());
        // Forgetting 'a' forgets no one else: not 'A', 'a ', ' a', nor the system key.
        expect(typeof own.forgetUser, 'forgetUser').toBe('function');
        await own.forgetUser!('a', 'delete', actor, at);
        for (const [index, owner] of owners.entries()) {
          const gone = owner.type === 'user' && owner.id === 'a';
          expect((await own.listKeys(owner)).length, JSON.stringify(owner)).toBe(gone ? 0 : 1);
          if (owner.type === 'user') {
            expect((await own.getBudget(owner.id))?.monthlyLimitUsd, JSON.stringify(owner)).toBe(gone ? undefined : `${index}`);
            expect((await own.listUsage({ userId: owner.id, limit: 10 })).records.length, JSON.stringify(owner)).toBe(gone ? 0 : 1);
          }
        }
      } finally {
        await destroy(own);
      }
    }, 60_000);

    it('hands out copies: changing a returned envelope does not change what is stored', async () => {
      const owner = freshUser();
      await storage.writeKeys(owner, [setChange('anthropic', bytes(1, 2))], actor, at);
      const first = await storage.getKey(owner, 'anthropic');
      first!.envelope[0] = 99;
      expect((await storage.getKey(owner, 'anthropic'))!.envelope).toEqual(bytes(1, 2));
    });

    describe('usage records', () => {
      const minute = 60_000;
      // The storage is shared by the whole suite: each test lists its own user's records, or a day no other test uses.
      const freshDay = () => new Date(Date.UTC(2031, 0, 1) + ++ownerCounter * 86_400_000);
      const ids = (records: readonly UsageRecord[]) => records.map((record) => record.id);

      it('reads a usage record back exactly as written: every field, the cost and prices as the same decimal strings', async () => {
        const userId = freshUser().id;
        const day = freshDay();
        const written = [
          usageRecord(userId, new Date(day.getTime() + 123)),
          // An error before the provider counted anything: no token counts, nothing to pay.
          usageRecord(userId, new Date(day.getTime() + minute), {
            provider: 'openai',
            model: 'gpt-4o-mini',
            modelId: '5f0c9a51-8d7e-4b2a-a1c3-2e9d4b6f8a10',
            keySource: 'system',
            status: 'error',
            inputTokens: null,
            outputTokens: null,
            cachedInputTokens: null,
            cacheWriteTokens: null,
            reasoningTokens: null,
            costUsd: '0',
            prices: { inputPerMTokUsd: '0.15', outputPerMTokUsd: '0.6', cachedInputPerMTokUsd: '0.075' },
            latencyMs: 0,
          }),
          // Whole-dollar amounts and prices without a cached price: nothing to trim, nothing to add.
          usageRecord(userId, new Date(day.getTime() + 2 * minute), {
            inputTokens: 200_000,
            outputTokens: 100_000,
            cachedInputTokens: null,
            cacheWriteTokens: 150_000,
            reasoningTokens: 40_000,
            costUsd: '10',
            prices: { inputPerMTokUsd: '20', outputPerMTokUsd: '60' },
            latencyMs: 93_512,
          }),
          // A model without prices, and a cost down to the pico-dollar.
          usageRecord(userId, new Date(day.getTime() + 3 * minute + 999), {
            provider: 'google',
            model: 'gemini-2.5-flash',
            status: 'aborted',
            costUsd: '0.000000375',
            prices: null,
          }),
        ];
        for (const record of written) await storage.recordUsage([record]);
        const page = await storage.listUsage({ userId, limit: 10 });
        expect(page.records).toEqual([...written].reverse());
        expect(page.next).toBeUndefined();
        for (const record of page.records) expect(record.createdAt).toBeInstanceOf(Date);
        expect(page.records.map((record) => record.createdAt.toISOString())).toEqual(
          [...written].reverse().map((record) => record.createdAt.toISOString()),
        );
      });

      it('lists usage newest first, and records of the same time in reverse order of writing', async () => {
        const userId = freshUser().id;
        const day = freshDay();
        const time = (minutes: number) => new Date(day.getTime() + minutes * minute);
        const [a, b, c, d, e] = [time(2), time(1), time(3), time(2), time(2)].map((createdAt) => usageRecord(userId, createdAt));
        for (const record of [a!, b!, c!, d!, e!]) await storage.recordUsage([record]);
        expect(ids((await storage.listUsage({ userId, limit: 10 })).records)).toEqual(ids([c!, e!, d!, a!, b!]));
      });

      it("filters usage by user and by time window, from inclusive and to exclusive, never showing another user's records", async () => {
        const alice = freshUser().id;
        const bob = freshUser().id;
        const day = freshDay();
        const time = (minutes: number) => new Date(day.getTime() + minutes * minute);
        const [a0, a1, a2, a3] = [0, 1, 2, 3].map((minutes) => usageRecord(alice, time(minutes)));
        const [b1, b2] = [1, 2].map((minutes) => usageRecord(bob, time(minutes)));
        for (const record of [a0!, b1!, a1!, a2!, b2!, a3!]) await storage.recordUsage([record]);

        expect(ids((await storage.listUsage({ userId: alice, limit: 10 })).records)).toEqual(ids([a3!, a2!, a1!, a0!]));
        expect(ids((await storage.listUsage({ userId: bob, limit: 10 })).records)).toEqual(ids([b2!, b1!]));
        expect(ids((await storage.listUsage({ userId: alice, from: time(1), to: time(3), limit: 10 })).records)).toEqual(ids([a2!, a1!]));
        expect(ids((await storage.listUsage({ userId: alice, from: time(3), limit: 10 })).records)).toEqual(ids([a3!]));
        expect(ids((await storage.listUsage({ userId: alice, to: time(1), limit: 10 })).records)).toEqual(ids([a0!]));
        expect((await storage.listUsage({ userId: alice, from: time(2), to: time(2), limit: 10 })).records).toEqual([]);
        // Without a user: everyone's records in the window (this day is this test's alone).
        expect(ids((await storage.listUsage({ from: time(1), to: time(3), limit: 10 })).records)).toEqual(ids([b2!, a2!, a1!, b1!]));
        expect((await storage.listUsage({ userId: freshUser().id, limit: 10 })).records).toEqual([]);
      });

      it('pages through usage: each record exactly once, in order, with no `next` on the last page', async () => {
        const userId = freshUser().id;
        const day = freshDay();
        // Four records of one time straddle the page boundaries: the order within them must hold across pages.
        const times = [0, 1, 1, 1, 1, 2, 3].map((minutes) => new Date(day.getTime() + minutes * minute));
        const written = times.map((createdAt) => usageRecord(userId, createdAt));
        for (const record of written) await storage.recordUsage([record]);
        // Written oldest first, so newest first (later writes first within a time) is the reverse.
        const expected = ids([...written].reverse());

        const first = await storage.listUsage({ userId, limit: 3 });
        const second = await storage.listUsage({ userId, limit: 3, cursor: first.next! });
        const third = await storage.listUsage({ userId, limit: 3, cursor: second.next! });
        expect([first.records.length, second.records.length, third.records.length]).toEqual([3, 3, 1]);
        expect(first.next).toEqual(expect.any(String));
        expect(second.next).toEqual(expect.any(String));
        expect(third.next).toBeUndefined();
        expect(ids([...first.records, ...second.records, ...third.records])).toEqual(expected);

        for (const limit of [1, 2, 7, 1000]) expect(await allUsageIds(storage, { userId, limit })).toEqual(expected);
        // A page that ends on the last record says so: no `next` leading to an empty page.
        const exact = await storage.listUsage({ userId, limit: 7 });
        expect(exact.records).toHaveLength(7);
        expect(exact.next).toBeUndefined();
        // The same cursor gives the same page again.
        expect(ids((await storage.listUsage({ userId, limit: 3, cursor: first.next! })).records)).toEqual(ids(second.records));
      });

      it('pages through records milliseconds apart within one second, each exactly once', async () => {
        // Calls of one user ending within a second are common: a cursor that kept the time to the second (a Unix time in
        // seconds) skipped the rest of that second at every page's end.
        const userId = freshUser().id;
        const second = freshDay().getTime() + 7_000;
        const written = [1, 100, 101, 500, 999].map((ms) => usageRecord(userId, new Date(second + ms)));
        for (const record of [...written].reverse()) await storage.recordUsage([record]);
        for (const limit of [1, 2, 3]) expect(await allUsageIds(storage, { userId, limit })).toEqual(ids([...written].reverse()));
      });

      it('orders and pages 25 records of one time on a fresh storage, where their sequence numbers go from one digit to two', async () => {
        // A storage of its own, so that the records' places in writing order are the first ones: compared as text
        // (PostgreSQL's seq::text once sorted the rows), "9" came before "10" and paging repeated and skipped records.
        const own = await options.createStorage();
        try {
          const userId = freshUser().id;
          const createdAt = freshDay();
          const written = Array.from({ length: 25 }, () => usageRecord(userId, createdAt));
          for (const record of written.slice(0, 5)) await own.recordUsage([record]);
          await own.recordUsage(written.slice(5));
          const expected = ids([...written].reverse());
          expect(ids((await own.listUsage({ userId, limit: 1000 })).records)).toEqual(expected);
          expect(ids((await own.listUsage({ limit: 1000 })).records)).toEqual(expected);
          for (const limit of [1, 4, 7, 24]) expect(await allUsageIds(own, { userId, limit })).toEqual(expected);
        } finally {
          await destroy(own);
        }
      });

      it('continues paging exactly where it stopped while records are added between pages', async () => {
        const userId = freshUser().id;
        const day = freshDay();
        const time = (minutes: number) => new Date(day.getTime() + minutes * minute);
        const [m5, m4, m3a, m3b, m2, m1] = [5, 4, 3, 3, 2, 1].map((minutes) => usageRecord(userId, time(minutes)));
        for (const record of [m1!, m2!, m3a!, m3b!, m4!, m5!]) await storage.recordUsage([record]);

        const first = await storage.listUsage({ userId, limit: 3 });
        expect(ids(first.records)).toEqual(ids([m5!, m4!, m3b!]));

        // Newer than the page just read, or of its last record's time but written after it: before the cursor, not shown again.
        const newest = usageRecord(userId, time(9));
        const sameTimeLater = usageRecord(userId, time(3));
        // Of a time not yet reached, and older than every record: both still ahead, each in its place.
        const sameAsUnread = usageRecord(userId, time(2));
        const oldest = usageRecord(userId, time(0));
        for (const record of [newest, sameTimeLater, sameAsUnread, oldest]) await storage.recordUsage([record]);

        const rest: string[] = [];
        let cursor = first.next;
        while (cursor !== undefined) {
          const page = await storage.listUsage({ userId, limit: 3, cursor });
          rest.push(...ids(page.records));
          cursor = page.next;
        }
        expect(rest).toEqual(ids([m3a!, sameAsUnread, m2!, m1!, oldest]));
        // Read again from the start, every record is there once, the new ones in their places.
        expect(await allUsageIds(storage, { userId, limit: 4 })).toEqual(
          ids([newest, m5!, m4!, sameTimeLater, m3b!, m3a!, sameAsUnread, m2!, m1!, oldest]),
        );
      });

      it("keeps the record of a call at the largest counts a provider client takes: Anthropic's whole prompt, Gemini's output", async () => {
        // Each provider client takes counts up to MAX_TOKEN_COUNT and adds some up (token-count.ts); a record of the
        // sums must be stored whole, or the call, which the provider billed, is left out of usage and budgets.
        const userId = freshUser().id;
        const day = freshDay();
        const most = MAX_TOKEN_COUNT;
        const usages = [
          convertAnthropicUsage({
            input_tokens: most,
            cache_read_input_tokens: most,
            cache_creation_input_tokens: most,
            output_tokens: most,
          }),
          convertGoogleUsage({
            promptTokenCount: most,
            cachedContentTokenCount: most,
            candidatesTokenCount: most,
            thoughtsTokenCount: most,
          }),
        ];
        const prices = { inputPerMTokUsd: '999999.999999', outputPerMTokUsd: '999999.999999' };
        const written = usages.map((usage, index) =>
          usageRecord(userId, new Date(day.getTime() + index), {
            inputTokens: usage.inputTokens ?? null,
            outputTokens: usage.outputTokens ?? null,
            cachedInputTokens: usage.cachedInputTokens ?? null,
            cacheWriteTokens: usage.cacheWriteTokens ?? null,
            reasoningTokens: usage.reasoningTokens ?? null,
            costUsd: costOf(usage, prices)!.costUsd,
            prices,
          }),
        );
        await storage.recordUsage(written);
        expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([...written].reverse());
        expect((await storage.summarizeUsage({ userId })).totals).toEqual(summarizeUsage(written, { userId }).totals);
      });

      it('refuses a second usage record with the same id, not as storage_unavailable, and keeps the first', async () => {
        const userId = freshUser().id;
        const record = usageRecord(userId, freshDay());
        await storage.recordUsage([record]);
        // A batch the database is unavailable for is kept, with the records queued after it, and written again; one
        // refused so (a write that went through, its answer lost) was refused at every try for 5 minutes, and then
        // given up with every record kept with it: those calls unbilled.
        await expect(storage.recordUsage([{ ...record, costUsd: '1', requestId: 'req_replayed' }])).rejects.not.toMatchObject({
          code: 'storage_unavailable',
        });
        expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([record]);
      });

      it('writes a batch of usage records in its order, and an empty batch as nothing', async () => {
        const userId = freshUser().id;
        const at = freshDay();
        // Three of the same time: the batch's order is their writing order, so they list in reverse.
        const batch = [
          usageRecord(userId, at),
          usageRecord(userId, at),
          usageRecord(userId, new Date(at.getTime() + minute)),
          usageRecord(userId, at),
        ];
        await storage.recordUsage(batch);
        await storage.recordUsage([]);
        expect(ids((await storage.listUsage({ userId, limit: 10 })).records)).toEqual(ids([batch[2]!, batch[3]!, batch[1]!, batch[0]!]));
      });

      it('writes none of a batch in which one record repeats an id, stored already or within the batch', async () => {
        const userId = freshUser().id;
        const stored = usageRecord(userId, freshDay());
        await storage.recordUsage([stored]);
        const fresh = usageRecord(userId, freshDay());
        await expect(storage.recordUsage([fresh, { ...stored, requestId: 'req_replayed' }])).rejects.toThrow();
        const twin = usageRecord(userId, freshDay());
        await expect(storage.recordUsage([twin, { ...twin, requestId: 'req_twin' }])).rejects.toThrow();
        expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([stored]);
      });

      it('refuses a page size outside 1 to 1,000 and a cursor it did not hand out', async () => {
        const userId = freshUser().id;
        await storage.recordUsage([usageRecord(userId, freshDay())]);
        await storage.recordUsage([usageRecord(userId, freshDay())]);
        for (const limit of [0, -1, 1001, 1.5, Number.NaN]) {
          await expect(storage.listUsage({ userId, limit })).rejects.toThrow(RangeError);
        }
        expect((await storage.listUsage({ userId, limit: 1000 })).records).toHaveLength(2);
        const { next } = await storage.listUsage({ userId, limit: 1 });
        for (const cursor of ['', 'not-a-cursor', '{"at":0,"seq":1}', 'eyJ4IjoxfQ', `${next}!`, `${next}\n`]) {
          await expect(storage.listUsage({ userId, limit: 1, cursor })).rejects.toThrow(TypeError);
        }
      });

      it('keeps usage records apart from the objects passed in and handed out: changing either changes nothing stored', async () => {
        const userId = freshUser().id;
        const record = usageRecord(userId, freshDay());
        const snapshot = structuredClone(record);
        await storage.recordUsage([record]);
        record.costUsd = '999';
        record.prices!.inputPerMTokUsd = '999';
        record.createdAt.setTime(0);
        const read = (await storage.listUsage({ userId, limit: 1 })).records[0]!;
        expect(read).toEqual(snapshot);
        read.status = 'error';
        read.prices!.outputPerMTokUsd = '0';
        read.createdAt.setTime(0);
        expect((await storage.listUsage({ userId, limit: 1 })).records).toEqual([snapshot]);
      });
    });

    describe('budgets', () => {
      // March 2027: no other test writes usage in it (their days and years start in 2031), and each test
      // has users of its own, so the shared storage's other rows never count here.
      const period = { start: new Date(Date.UTC(2027, 2, 1)), end: new Date(Date.UTC(2027, 3, 1)) };
      const minute = 60_000;
      const inPeriod = (ms: number) => new Date(period.start.getTime() + ms);
      const newUser = () => `budget-${crypto.randomUUID()}`;
      const budget = (monthlyLimitUsd: string, appliesTo: BudgetScope = 'all', updatedAt = at): Budget => ({
        monthlyLimitUsd,
        appliesTo,
        updatedAt,
      });
      /** A hold asked for at `createdAt` in the period, counting for `ttlMs`. */
      const hold = (userId: string, amountUsd: string, createdAt = inPeriod(minute), ttlMs = 10 * minute): BudgetHold => ({
        id: crypto.randomUUID(),
        userId,
        amountUsd,
        periodStart: period.start,
        periodEnd: period.end,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + ttlMs),
      });
      const use = (userId: string, when = inPeriod(2 * minute), scope: BudgetScope = 'all') =>
        storage.budgetUse(userId, period, scope, when);

      it('reads a budget back as set, replaced by the next one, and gone once set to null', async () => {
        const userId = newUser();
        const other = newUser();
        expect(await storage.getBudget(userId)).toBeNull();
        await storage.setBudget(userId, budget('12.5', 'system'));
        await storage.setBudget(other, budget('3'));
        expect(await storage.getBudget(userId)).toEqual(budget('12.5', 'system'));
        await storage.setBudget(userId, budget('0.000000000001', 'all', later));
        expect(await storage.getBudget(userId)).toEqual(budget('0.000000000001', 'all', later));
        await storage.setBudget(userId, null);
        expect(await storage.getBudget(userId)).toBeNull();
        await storage.setBudget(userId, null);
        expect(await storage.getBudget(other)).toEqual(budget('3'));
      });

      it("adds one batch's records to each user's own month, across users and months at once", async () => {
        const [ada, bob] = [newUser(), newUser()];
        const april = { start: period.end, end: new Date(Date.UTC(2027, 4, 1)) };
        await storage.recordUsage([
          usageRecord(ada, inPeriod(0), { keySource: 'system', costUsd: '0.1' }),
          usageRecord(bob, inPeriod(minute), { keySource: 'user', costUsd: '0.2' }),
          usageRecord(ada, april.start, { keySource: 'user', costUsd: '0.4' }),
          usageRecord(ada, inPeriod(2 * minute), { keySource: 'user', costUsd: '0.000000000008' }),
        ]);
        expect(await use(ada, inPeriod(0), 'all')).toEqual({ spentUsd: '0.100000000008', heldUsd: '0' });
        expect(await use(ada, inPeriod(0), 'system')).toEqual({ spentUsd: '0.1', heldUsd: '0' });
        expect(await use(bob, inPeriod(0), 'all')).toEqual({ spentUsd: '0.2', heldUsd: '0' });
        expect(await storage.budgetUse(ada, april, 'all', april.start)).toEqual({ spentUsd: '0.4', heldUsd: '0' });
      });

      it('refuses a budget period that is not one calendar month in UTC', async () => {
        const userId = newUser();
        const start = period.start;
        for (const wrong of [
          { start, end: new Date(start.getTime() + 30 * 86_400_000) },
          { start: new Date(start.getTime() + 1), end: period.end },
          { start: new Date(Date.UTC(2027, 2, 2)), end: new Date(Date.UTC(2027, 3, 2)) },
          { start: new Date(Number.NaN), end: period.end },
        ]) {
          await expect(storage.budgetUse(userId, wrong, 'all', start)).rejects.toThrow(RangeError);
          await expect(
            storage.holdBudget({ ...hold(userId, '1'), periodStart: wrong.start, periodEnd: wrong.end }, 'system'),
          ).rejects.toThrow(RangeError);
        }
      });

      it("counts only the period's spending, only the user's, only the key sources the scope covers, and only unexpired holds", async () => {
        const userId = newUser();
        const other = newUser();
        await storage.setBudget(userId, budget('1000'));
        await storage.setBudget(other, budget('1000'));
        const records = [
          usageRecord(userId, period.start, { keySource: 'user', costUsd: '0.1' }),
          usageRecord(userId, inPeriod(10 * 86_400_000), { keySource: 'system', costUsd: '0.02' }),
          usageRecord(userId, new Date(period.end.getTime() - 1), { keySource: 'system', costUsd: '0.003' }),
          // Outside the period: at its end (exclusive), and just before its start.
          usageRecord(userId, period.end, { keySource: 'system', costUsd: '5' }),
          usageRecord(userId, new Date(period.start.getTime() - 1), { keySource: 'system', costUsd: '7' }),
          usageRecord(other, inPeriod(minute), { keySource: 'system', costUsd: '100' }),
        ];
        for (const record of records) await storage.recordUsage([record]);
        expect(await use(userId, inPeriod(0), 'all')).toEqual({ spentUsd: '0.123', heldUsd: '0' });
        expect(await use(userId, inPeriod(0), 'system')).toEqual({ spentUsd: '0.023', heldUsd: '0' });

        // Holds, in time order: one for 10 minutes, one for an hour; another user's counts only for them.
        expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(minute), 10 * minute), 'user')).toBe('held');
        expect(await storage.holdBudget(hold(userId, '0.25', inPeriod(2 * minute), 60 * minute), 'system')).toBe('held');
        expect(await storage.holdBudget(hold(other, '40', inPeriod(2 * minute)), 'system')).toBe('held');
        expect(await use(userId, inPeriod(5 * minute))).toEqual({ spentUsd: '0.123', heldUsd: '0.75' });
        expect(await use(userId, inPeriod(5 * minute), 'system')).toEqual({ spentUsd: '0.023', heldUsd: '0.75' });
        expect(await use(other, inPeriod(5 * minute))).toEqual({ spentUsd: '100', heldUsd: '40' });
        // A hold stops counting at its expiry exactly.
        expect(await use(userId, inPeriod(11 * minute))).toEqual({ spentUsd: '0.123', heldUsd: '0.25' });
        expect(await use(userId, inPeriod(62 * minute))).toEqual({ spentUsd: '0.123', heldUsd: '0' });
        // The next month's hold counts in the next month only.
        const april = { start: period.end, end: new Date(Date.UTC(2027, 4, 1)) };
        const nextMonth = { ...hold(userId, '2', period.end), periodStart: april.start, periodEnd: april.end };
        expect(await storage.holdBudget(nextMonth, 'user')).toBe('held');
        expect(await storage.budgetUse(userId, april, 'all', period.end)).toEqual({ spentUsd: '5', heldUsd: '2' });
        expect(await storage.budgetUse(userId, period, 'all', period.end)).toEqual({ spentUsd: '0.123', heldUsd: '0' });
      });

      it("counts a hold still in flight when the next month begins in that month too, where its call's cost lands", async () => {
        const userId = newUser();
        const april = { start: period.end, end: new Date(Date.UTC(2027, 4, 1)) };
        const inApril = (ms: number) => new Date(april.start.getTime() + ms);
        await storage.setBudget(userId, budget('1'));
        // Asked for a second before April, in March; the call ends in April, and its record with it.
        const march = hold(userId, '0.8', new Date(april.start.getTime() - 1000));
        expect(await storage.holdBudget(march, 'user')).toBe('held');
        expect(await storage.budgetUse(userId, april, 'all', inApril(1000))).toEqual({ spentUsd: '0', heldUsd: '0.8' });
        const aprilHold = (amountUsd: string, createdAt: Date) => ({
          ...hold(userId, amountUsd, createdAt),
          periodStart: april.start,
          periodEnd: april.end,
        });
        expect(await storage.holdBudget(aprilHold('0.5', inApril(1000)), 'user')).toBe('exceeded');
        expect(await storage.holdBudget(aprilHold('0.2', inApril(1000)), 'user')).toBe('held');
        // It still counts in March, its own month, and not once expired.
        expect(await use(userId, inApril(1000))).toEqual({ spentUsd: '0', heldUsd: '0.8' });
        expect(await storage.budgetUse(userId, april, 'all', march.expiresAt)).toEqual({ spentUsd: '0', heldUsd: '0.2' });
        // Ended by its record, in April: spent there, held nowhere.
        await storage.recordUsage([usageRecord(userId, inApril(2000), { costUsd: '0.7' })], [march.id]);
        expect(await storage.budgetUse(userId, april, 'all', inApril(2000))).toEqual({ spentUsd: '0.7', heldUsd: '0.2' });
        expect(await use(userId, inApril(2000))).toEqual({ spentUsd: '0', heldUsd: '0' });
        expect(await storage.holdBudget(aprilHold('0.100000000001', inApril(3000)), 'user')).toBe('exceeded');
        expect(await storage.holdBudget(aprilHold('0.1', inApril(3000)), 'user')).toBe('held');
      });

      it("answers 'unlimited' and holds nothing when the user has no budget, or has a system-only one and calls with their own key", async () => {
        const userId = newUser();
        const unbudgeted = hold(userId, '5');
        expect(await storage.holdBudget(unbudgeted, 'system')).toBe('unlimited');
        expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0' });
        await storage.recordUsage([], [unbudgeted.id]);

        await storage.setBudget(userId, budget('0', 'system'));
        expect(await storage.holdBudget(hold(userId, '5'), 'user')).toBe('unlimited');
        expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0' });
        // A system-key call under the same budget is limited.
        expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'system')).toBe('exceeded');
        expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0' });
      });

      it("holds up to exactly the limit, not a pico-dollar more, and an 'exceeded' hold changes nothing", async () => {
        const userId = newUser();
        await storage.setBudget(userId, budget('0.000003'));
        await storage.recordUsage([usageRecord(userId, inPeriod(0), { costUsd: '0.000001' })]);
        expect(await storage.holdBudget(hold(userId, '0.000001'), 'user')).toBe('held');
        expect(await storage.holdBudget(hold(userId, '0.000001000001'), 'system')).toBe('exceeded');
        expect(await use(userId)).toEqual({ spentUsd: '0.000001', heldUsd: '0.000001' });
        // Spent + held + this lands on the limit exactly: held.
        expect(await storage.holdBudget(hold(userId, '0.000001'), 'user')).toBe('held');
        expect(await use(userId)).toEqual({ spentUsd: '0.000001', heldUsd: '0.000002' });
        expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'user')).toBe('exceeded');
        expect(await use(userId)).toEqual({ spentUsd: '0.000001', heldUsd: '0.000002' });
      });

      it('no longer counts a hold once it has expired (a node that died before ending it blocks nothing)', async () => {
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        expect(await storage.holdBudget(hold(userId, '0.8', inPeriod(0), minute), 'user')).toBe('held');
        expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(minute - 1)), 'user')).toBe('exceeded');
        expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(minute)), 'user')).toBe('held');
        expect(await use(userId, inPeriod(minute))).toEqual({ spentUsd: '0', heldUsd: '0.5' });
      });

      it('keeps counting a renewed hold past its first expiry, never moves an expiry back, and brings no ended hold back', async () => {
        // byokit renews the hold of a call still running (a long stream outlives a hold's 15 minutes).
        expect(typeof storage.renewHold, 'renewHold: without it, a call running past 15 minutes stops counting').toBe('function');
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        const running = hold(userId, '0.8', inPeriod(0), minute);
        expect(await storage.holdBudget(running, 'user')).toBe('held');
        await storage.renewHold!(running.id, inPeriod(20 * minute));
        await storage.renewHold!(running.id, inPeriod(5 * minute)); // a late renewal from an earlier time
        expect(await use(userId, inPeriod(19 * minute))).toEqual({ spentUsd: '0', heldUsd: '0.8' });
        expect(await storage.holdBudget(hold(userId, '0.5', inPeriod(19 * minute)), 'user')).toBe('exceeded');
        expect(await use(userId, inPeriod(20 * minute))).toEqual({ spentUsd: '0', heldUsd: '0' });
        // Ended with its call's record: a renewal racing with the end changes nothing.
        const ended = hold(userId, '0.3', inPeriod(21 * minute), minute);
        expect(await storage.holdBudget(ended, 'user')).toBe('held');
        await storage.recordUsage([], [ended.id]);
        await storage.renewHold!(ended.id, inPeriod(60 * minute));
        await storage.renewHold!(crypto.randomUUID(), inPeriod(60 * minute));
        expect(await use(userId, inPeriod(21 * minute))).toEqual({ spentUsd: '0', heldUsd: '0' });
      });

      it('brings no hold back that its call ended while a renewal of it was under way', async () => {
        // A renewal that read the hold and then wrote it whole (a get, then a put) put back a hold ended between the
        // two: the call counted twice, spent and held, for another 15 minutes.
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        const running = hold(userId, '0.3');
        expect(await storage.holdBudget(running, 'user')).toBe('held');
        await Promise.all([
          storage.renewHold!(running.id, inPeriod(30 * minute)),
          storage.recordUsage([usageRecord(userId, inPeriod(90_000), { costUsd: '0.3' })], [running.id]),
        ]);
        expect(await use(userId, inPeriod(20 * minute))).toEqual({ spentUsd: '0.3', heldUsd: '0' });
      });

      it("moves a released hold's amount from held to spent at the call's real cost, and frees it when released without a record", async () => {
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        const first = hold(userId, '0.6');
        const second = hold(userId, '0.3');
        expect(await storage.holdBudget(first, 'system')).toBe('held');
        expect(await storage.holdBudget(second, 'system')).toBe('held');
        expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0.9' });

        const record = usageRecord(userId, inPeriod(90_000), { keySource: 'system', costUsd: '0.25' });
        await storage.recordUsage([record], [first.id]);
        expect(await use(userId)).toEqual({ spentUsd: '0.25', heldUsd: '0.3' });
        expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([record]);

        await storage.recordUsage([], [second.id]);
        expect(await use(userId)).toEqual({ spentUsd: '0.25', heldUsd: '0' });
        // Ending a hold twice, or one never held, is no error.
        await storage.recordUsage([], [second.id]);
        await storage.recordUsage([], [crypto.randomUUID(), 'not-a-uuid']);
        // What was freed can be held again, up to the limit exactly.
        expect(await storage.holdBudget(hold(userId, '0.75'), 'system')).toBe('held');
        expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'system')).toBe('exceeded');
      });

      it('settles a batch of calls at once, and a batch it refuses ends none of its holds', async () => {
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        const holds = [hold(userId, '0.2'), hold(userId, '0.3'), hold(userId, '0.4')];
        for (const one of holds) expect(await storage.holdBudget(one, 'system')).toBe('held');
        const records = ['0.05', '0.1'].map((costUsd) => usageRecord(userId, inPeriod(90_000), { keySource: 'system', costUsd }));

        // A record whose id is taken: nothing of the batch happens, the holds still count.
        await storage.recordUsage([records[0]!]);
        await expect(storage.recordUsage([records[1]!, records[0]!], [holds[0]!.id, holds[1]!.id])).rejects.toThrow();
        expect(await use(userId)).toEqual({ spentUsd: '0.05', heldUsd: '0.9' });

        await storage.recordUsage([records[1]!], [holds[0]!.id, holds[1]!.id]);
        expect(await use(userId)).toEqual({ spentUsd: '0.15', heldUsd: '0.4' });
      });

      it('adds in exact decimals: $0.10 spent and a $0.20 hold fill a $0.30 budget, which floats make $0.30000000000000004', async () => {
        const userId = newUser();
        await storage.setBudget(userId, budget('0.3'));
        await storage.recordUsage([usageRecord(userId, inPeriod(0), { costUsd: '0.1' })]);
        expect(await storage.holdBudget(hold(userId, '0.2'), 'user')).toBe('held');
        expect(await use(userId)).toEqual({ spentUsd: '0.1', heldUsd: '0.2' });
      });

      it('sees a call settled while others are held as held or as spent, never both and never neither', async () => {
        // Its record and the end of its hold written in two steps, a hold between them counted the call twice (a
        // user under the limit refused) or not at all (a call let through past the limit).
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        const settled = hold(userId, '0.6');
        expect(await storage.holdBudget(settled, 'user')).toBe('held');
        const [, ...outcomes] = await Promise.all([
          storage.recordUsage([usageRecord(userId, inPeriod(90_000), { costUsd: '0.6' })], [settled.id]),
          storage.holdBudget(hold(userId, '0.4'), 'user'),
          storage.holdBudget(hold(userId, '0.000000000001'), 'user'),
        ]);
        // Whichever comes first fits in what is left ($0.40), and the other no longer does.
        expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(1);
        const { spentUsd, heldUsd } = await use(userId);
        expect([spentUsd, outcomes[0] === 'held' ? '0.4' : '0.000000000001']).toEqual(['0.6', heldUsd]);
      });

      it("holds a system-key call against a system-only budget by what the system key spent, not the user's own key", async () => {
        // $1 a month of the host's key, and $5 spent on the user's own: a storage that held against all of the user's
        // spending (the budget's scope left out) refused every system-key call of theirs.
        const userId = newUser();
        await storage.setBudget(userId, budget('1', 'system'));
        await storage.recordUsage([
          usageRecord(userId, inPeriod(0), { keySource: 'user', costUsd: '5' }),
          usageRecord(userId, inPeriod(0), { keySource: 'system', costUsd: '0.25' }),
        ]);
        expect(await storage.holdBudget(hold(userId, '0.75'), 'system')).toBe('held');
        expect(await storage.holdBudget(hold(userId, '0.000000000001'), 'system')).toBe('exceeded');
        expect(await use(userId, inPeriod(2 * minute), 'system')).toEqual({ spentUsd: '0.25', heldUsd: '0.75' });
      });

      it("counts every call's cost in the month's spending when records are written at once, as nodes write them", async () => {
        // A running total read and then written (a get, then a put) kept one of two batches written at once: the
        // month's spending undercounted, and the user let through past the limit.
        const userId = newUser();
        await storage.setBudget(userId, budget('1'));
        const records = Array.from({ length: 20 }, (_, index) => usageRecord(userId, inPeriod(index * minute), { costUsd: '0.05' }));
        await Promise.all(records.map((record) => storage.recordUsage([record])));
        expect(await use(userId, inPeriod(30 * minute))).toEqual({ spentUsd: '1', heldUsd: '0' });
        expect(await storage.holdBudget(hold(userId, '0.000000000001', inPeriod(30 * minute)), 'user')).toBe('exceeded');
      });

      it('lets exactly as many concurrent holds through as fit: 100 of $0.01 against $0.50 hold 50', async () => {
        const userId = newUser();
        await storage.setBudget(userId, budget('0.5'));
        const outcomes = await Promise.all(Array.from({ length: 100 }, () => storage.holdBudget(hold(userId, '0.01'), 'user')));
        expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(50);
        expect(outcomes.filter((outcome) => outcome === 'exceeded')).toHaveLength(50);
        expect(await use(userId)).toEqual({ spentUsd: '0', heldUsd: '0.5' });
      });

      describe('forgetting a user (forgetUser)', () => {
        const forget = (userId: string, usage: ForgottenUsage) => {
          expect(
            typeof storage.forgetUser,
            "forgetUser: without it, a host cannot close a user's account, and whoever is given the id next inherits their keys and budget",
          ).toBe('function');
          return storage.forgetUser!(userId, usage, { actorId: 'the-host', requestId: 'forget-1' }, later);
        };

        it("deletes the user's keys, each audited, their budget and holds: the id given again starts with none, its usage kept with 'keep'", async () => {
          const [userId, other] = [newUser(), newUser()];
          const owner = userOwner(userId);
          await storage.writeKeys(owner, [setChange('anthropic', bytes(1), '…aaaa'), setChange('openai', bytes(2), '…bbbb')], actor, at);
          await storage.writeKeys(userOwner(other), [setChange('anthropic', bytes(3), '…cccc')], actor, at);
          await storage.writeKeys(SYSTEM_OWNER, [setChange('google', bytes(4), '…dddd')], actor, at);
          await storage.setBudget(userId, budget('1'));
          await storage.setBudget(other, budget('2'));
          const running = hold(userId, '0.5');
          expect(await storage.holdBudget(running, 'user')).toBe('held');
          expect(await storage.holdBudget(hold(other, '0.5'), 'user')).toBe('held');
          await storage.recordUsage([usageRecord(userId, inPeriod(0), { costUsd: '0.25' })]);

          const forgotten = await forget(userId, 'keep');

          expect([forgotten.budgetRemoved, forgotten.usageRecordsDeleted]).toEqual([true, 0]);
          const audited = (records: readonly AuditRecord[]) =>
            records.map((record) => [record.provider, record.action, record.hint, record.actorId, record.requestId, record.at]).sort();
          const expected = [
            ['anthropic', 'delete', '…aaaa', 'the-host', 'forget-1', later],
            ['openai', 'delete', '…bbbb', 'the-host', 'forget-1', later],
          ];
          expect(audited(forgotten.audit)).toEqual(expected);
          expect(audited((await storage.listAudit({ owner })).slice(0, 2))).toEqual(expected);
          expect(await storage.listKeys(owner)).toEqual([]);
          expect(await storage.getBudget(userId)).toBeNull();
          // The id given to someone else, with a budget of their own: nothing the old holds held counts.
          await storage.setBudget(userId, budget('1'));
          expect(await use(userId)).toEqual({ spentUsd: '0.25', heldUsd: '0' });
          expect((await storage.listUsage({ userId, limit: 10 })).records.map((record) => record.costUsd)).toEqual(['0.25']);
          // Everyone else's rows as they were.
          expect((await storage.listKeys(userOwner(other))).map((key) => key.hint)).toEqual(['…cccc']);
          expect((await storage.getKey(SYSTEM_OWNER, 'google'))?.envelope).toEqual(bytes(4));
          expect(await storage.getBudget(other)).toEqual(budget('2'));
          expect(await use(other)).toEqual({ spentUsd: '0', heldUsd: '0.5' });
          // A call of theirs that was under way ends: its hold is gone already, which is no error.
          await storage.recordUsage([usageRecord(userId, inPeriod(minute), { costUsd: '0.1' })], [running.id]);
          expect(await use(userId)).toEqual({ spentUsd: '0.35', heldUsd: '0' });
        });

        it("with 'delete', deletes the user's usage records and their months' spending too, and no one else's", async () => {
          const [userId, other] = [newUser(), newUser()];
          await storage.recordUsage([
            usageRecord(userId, inPeriod(0), { costUsd: '0.25' }),
            usageRecord(userId, inPeriod(minute), { keySource: 'system', costUsd: '0.5' }),
            usageRecord(userId, new Date(period.end.getTime() + minute), { costUsd: '1' }),
            usageRecord(other, inPeriod(0), { costUsd: '0.75' }),
          ]);

          expect(await forget(userId, 'delete')).toEqual({ audit: [], budgetRemoved: false, usageRecordsDeleted: 3 });

          expect((await storage.listUsage({ userId, limit: 10 })).records).toEqual([]);
          expect((await storage.summarizeUsage({ userId })).totals.requests).toBe(0);
          // The id given again, with a budget: it has spent nothing, and may hold all of it.
          await storage.setBudget(userId, budget('1', 'system'));
          expect(await use(userId, inPeriod(2 * minute), 'system')).toEqual({ spentUsd: '0', heldUsd: '0' });
          expect(await storage.holdBudget(hold(userId, '1'), 'system')).toBe('held');
          expect(await use(other)).toEqual({ spentUsd: '0.75', heldUsd: '0' });
          expect((await storage.listUsage({ userId: other, limit: 10 })).records.map((record) => record.costUsd)).toEqual(['0.75']);
          // Nothing stored: no error, nothing removed.
          expect(await forget(newUser(), 'delete')).toEqual({ audit: [], budgetRemoved: false, usageRecordsDeleted: 0 });
        });

        it("forgets with 'delete' while the user's records are written: the records left and their month's spending agree", async () => {
          // Calls of theirs under way end as the user is forgotten: each record is deleted with its cost, or kept with it.
          const userId = newUser();
          const records = Array.from({ length: 80 }, (_, index) => usageRecord(userId, inPeriod(index * 1000), { costUsd: '0.05' }));
          const write = (part: readonly UsageRecord[]) => part.map((record) => storage.recordUsage([record]));
          const forgetting = [0, 20, 40, 60].flatMap((from) => [...write(records.slice(from, from + 20)), forget(userId, 'delete')]);
          await Promise.all(forgetting);
          const left = (await storage.listUsage({ userId, limit: 100 })).records;
          const spent = formatUsd(BigInt(left.length) * parseUsd('0.05', PICO_DECIMALS));
          expect(await use(userId, inPeriod(2 * minute))).toEqual({ spentUsd: spent, heldUsd: '0' });
        });
      });
    });

    describe('usage summaries', () => {
      // A year of its own for each test that needs a window no other test writes in (freshDay stays in 2031+).
      const freshYear = () => 2100 + ++ownerCounter;
      const november = (year: number) => ({ from: new Date(Date.UTC(year, 10, 1)), to: new Date(Date.UTC(year, 11, 1)) });
      const day = 86_400_000;
      const claude = '0b6f6b2e-3c1a-4f43-9d55-5c1d8a2f7e01';
      const gpt = '5f0c9a51-8d7e-4b2a-a1c3-2e9d4b6f8a10';
      const gemini = '9e2d7c41-6b3a-4f58-8c1e-0a4b2d6f9e33';
      const noTokens = { inputTokens: null, outputTokens: null, cachedInputTokens: null, cacheWriteTokens: null, reasoningTokens: null };

      it('sums to zero, with cost "0" and no groups, where no record matches', async () => {
        const queries: UsageSummaryQuery[] = [{ userId: freshUser().id }, november(freshYear())];
        for (const query of queries) {
          for (const groupBy of [undefined, ...USAGE_GROUP_BYS]) {
            expect(await storage.summarizeUsage({ ...query, ...(groupBy && { groupBy }) })).toEqual({
              totals: totals(0, [0, 0, 0, 0, 0], '0'),
              groups: [],
            });
          }
        }
      });

      it('sums requests, tokens (a count not reported as 0) and exact costs in total and per day, model, provider, key source and user', async () => {
        const base = freshUser().id;
        // Code-point order puts "Zoe" before "amy" (a locale would not): groups sort as the JS reference sorts.
        const zoe = `${base}-Zoe`;
        const amy = `${base}-amy`;
        const year = freshYear();
        const { from, to } = november(year);
        const records = [
          // Exactly at `from`: counted. The default record: 12 in, 30 out, $0.000486.
          usageRecord(amy, from, { modelId: claude }),
          usageRecord(amy, new Date(from.getTime() + day - 1), {
            modelId: gpt,
            provider: 'openai',
            keySource: 'system',
            status: 'error',
            ...noTokens,
            costUsd: '0',
          }),
          usageRecord(zoe, new Date(from.getTime() + day + 12 * 3_600_000), {
            modelId: gpt,
            provider: 'openai',
            keySource: 'system',
            inputTokens: 1000,
            outputTokens: 500,
            cachedInputTokens: 200,
            cacheWriteTokens: 100,
            reasoningTokens: null,
            costUsd: '0.000000000001',
          }),
          usageRecord(zoe, new Date(to.getTime() - 1), {
            modelId: gemini,
            provider: 'google',
            inputTokens: 7,
            outputTokens: null,
            cachedInputTokens: null,
            cacheWriteTokens: null,
            reasoningTokens: 3,
            costUsd: '1.5',
          }),
          // Exactly at `to`, and just before `from`: not counted.
          usageRecord(amy, to, { inputTokens: 1_000_000, costUsd: '100' }),
          usageRecord(zoe, new Date(from.getTime() - 1), { costUsd: '200' }),
        ];
        await Promise.all(records.map((record) => storage.recordUsage([record])));

        const amyTotals = totals(2, [12, 30, 0, 0, 0], '0.000486');
        const zoeTotals = totals(2, [1007, 500, 200, 100, 3], '1.500000000001');
        const expected = {
          day: [
            { key: `${year}-11-01`, ...amyTotals },
            { key: `${year}-11-02`, ...totals(1, [1000, 500, 200, 100, 0], '0.000000000001') },
            { key: `${year}-11-30`, ...totals(1, [7, 0, 0, 0, 3], '1.5') },
          ],
          model: [
            { key: claude, ...totals(1, [12, 30, 0, 0, 0], '0.000486') },
            { key: gpt, ...totals(2, [1000, 500, 200, 100, 0], '0.000000000001') },
            { key: gemini, ...totals(1, [7, 0, 0, 0, 3], '1.5') },
          ],
          provider: [
            { key: 'anthropic', ...totals(1, [12, 30, 0, 0, 0], '0.000486') },
            { key: 'google', ...totals(1, [7, 0, 0, 0, 3], '1.5') },
            { key: 'openai', ...totals(2, [1000, 500, 200, 100, 0], '0.000000000001') },
          ],
          key_source: [
            { key: 'system', ...totals(2, [1000, 500, 200, 100, 0], '0.000000000001') },
            { key: 'user', ...totals(2, [19, 30, 0, 0, 3], '1.500486') },
          ],
          user: [
            { key: zoe, ...zoeTotals },
            { key: amy, ...amyTotals },
          ],
        };
        const all = totals(4, [1019, 530, 200, 100, 3], '1.500486000001');
        expect(await storage.summarizeUsage({ from, to })).toEqual({ totals: all, groups: [] });
        for (const groupBy of USAGE_GROUP_BYS) {
          expect(await storage.summarizeUsage({ from, to, groupBy })).toEqual({ totals: all, groups: expected[groupBy] });
        }
        // One user's: their own records only.
        expect(await storage.summarizeUsage({ userId: zoe, from, to, groupBy: 'user' })).toEqual({
          totals: zoeTotals,
          groups: [{ key: zoe, ...zoeTotals }],
        });
        expect(await storage.summarizeUsage({ userId: amy, from, to })).toEqual({ totals: amyTotals, groups: [] });
        // A window from `to` holds the record at `to`; one up to `from`, the one just before it.
        expect((await storage.summarizeUsage({ from: to, to: new Date(to.getTime() + day) })).totals).toEqual(
          totals(1, [1_000_000, 30, 0, 0, 0], '100'),
        );
        expect((await storage.summarizeUsage({ userId: zoe, to: from })).totals).toEqual(totals(1, [12, 30, 0, 0, 0], '200'));
      });

      // Groups are sorted by key in code-point order, PostgreSQL's COLLATE "C". JS's `<` compares UTF-16 units, in
      // which a character past U+FFFF (a surrogate pair, from U+D800) sorts before U+E000–U+FFFF: memory storage put
      // the user "\u{20BB7}" (𠮷, as in the name Yoshida) before "\uFF21" (a full-width A), and PostgreSQL after it.
      it('sorts user groups in code-point order: a full-width letter (U+FF21) before a character past U+FFFF', async () => {
        const base = freshUser().id;
        const fullWidth = `${base}-\uFF21`;
        const astral = `${base}-\u{20BB7}`;
        const { from } = november(freshYear());
        await storage.recordUsage([usageRecord(astral, from), usageRecord(fullWidth, from)]);
        const summary = await storage.summarizeUsage({ from, to: new Date(from.getTime() + day), groupBy: 'user' });
        expect(summary.groups.map((group) => group.key)).toEqual([fullWidth, astral]);
      });

      it('groups by the UTC day: 23:30 on 30 November at UTC-2 counts on 1 December', async () => {
        const userId = freshUser().id;
        const times = ['2026-11-30T23:30:00-02:00', '2026-11-30T22:00:00-02:00', '2026-12-01T01:30:00+02:00', '2026-11-30T00:00:00Z'];
        await Promise.all(times.map((time) => storage.recordUsage([usageRecord(userId, new Date(time))])));
        const summary = await storage.summarizeUsage({ userId, groupBy: 'day' });
        expect(summary.groups).toEqual([
          { key: '2026-11-30', ...totals(2, [24, 60, 0, 0, 0], '0.000972') },
          { key: '2026-12-01', ...totals(2, [24, 60, 0, 0, 0], '0.000972') },
        ]);
      });

      it('sums 200 random records exactly as the in-memory reference does, and every grouping adds up to the totals', async () => {
        const random = seededRandom(20261125);
        const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
        const count = (max: number) => (random() < 0.2 ? null : Math.floor(random() * max));
        // Up to 12 decimals, spelled shortest: "0.000000000001", "73.25", "0".
        const cost = () => {
          const decimals = Math.floor(random() * (PICO_DECIMALS + 1));
          const digits = Array.from({ length: decimals }, () => Math.floor(random() * 10)).join('');
          return formatUsd(parseUsd(`${Math.floor(random() * 3)}${decimals > 0 ? `.${digits}` : ''}`, PICO_DECIMALS));
        };
        const base = freshUser().id;
        const users = ['a', 'B', 'c'].map((suffix) => `${base}-${suffix}`);
        const models = [claude, gpt, gemini];
        const { from, to } = november(freshYear());
        const records = Array.from({ length: 200 }, () => {
          // Mostly inside the month; some exactly at its ends, and some a day outside it.
          const roll = random();
          const createdAt = roll < 0.05 ? from : roll < 0.1 ? to : new Date(from.getTime() - day + Math.floor(random() * 32 * day));
          return usageRecord(pick(users), createdAt, {
            modelId: pick(models),
            provider: pick(PROVIDERS),
            keySource: pick(['user', 'system'] as const),
            inputTokens: count(200_000),
            outputTokens: count(50_000),
            cachedInputTokens: count(100_000),
            cacheWriteTokens: count(50_000),
            reasoningTokens: count(20_000),
            costUsd: cost(),
          });
        });
        await Promise.all(records.map((record) => storage.recordUsage([record])));

        const windows: UsageSummaryQuery[] = [
          { from, to },
          { from: new Date(from.getTime() + 10 * day + 1), to: new Date(to.getTime() - 3 * day) },
          ...users.map((userId) => ({ userId, from, to })),
          { userId: users[1]!, to: new Date(to.getTime() + day) },
        ];
        for (const window of windows) {
          const reference = summarizeUsage(records, window);
          expect(reference.totals.requests).toBeGreaterThan(0);
          expect(await storage.summarizeUsage(window)).toEqual(reference);
          for (const groupBy of USAGE_GROUP_BYS) {
            const summary = await storage.summarizeUsage({ ...window, groupBy });
            expect(summary.totals).toEqual(reference.totals);
            expect(addTotals(summary.groups)).toEqual(summary.totals);
            expect(summary).toEqual(summarizeUsage(records, { ...window, groupBy }));
          }
        }
      });
    });
  });
}
