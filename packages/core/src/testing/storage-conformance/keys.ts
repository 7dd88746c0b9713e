// Keys: each owner's keys apart from all others, replaced, deleted and audited (the whole trail 100 at a time unless told), each write all or nothing, no object shared with the caller either way.
import { beforeEach, expect, it } from 'vitest';
import { PROVIDERS } from '../../keys/providers.js';
import type { KeyChange, Storage } from '../../storage/storage.js';
import { SYSTEM_OWNER } from '../../storage/storage.js';
import { bytes, freshUser, rejectionOf, setChange } from './fixtures.js';
import type { StorageSuite } from './suite.js';

export function describeKeys(suite: StorageSuite): void {
  const { at, later, actor } = suite;
  let storage: Storage;
  // Bound before each test: the suite makes the shared storage in its beforeAll, after the tests are declared.
  beforeEach(() => {
    storage = suite.storage;
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
    expect(
      key!.envelope.constructor,
      "StoredKey.envelope: a plain Uint8Array, not a driver's Buffer (wrap it: new Uint8Array(buffer))",
    ).toBe(Uint8Array);
    expect([...key!.envelope]).toEqual([1, 2, 3, 255]);
    expect(key!).toMatchObject({ owner, provider: 'anthropic', keyId: 'primary-1', hint: '…Xy9Q', verification: 'unverified' });
    expect(key!.createdAt.toISOString()).toBe(at.toISOString());
    expect(key!.updatedAt.toISOString()).toBe(at.toISOString());
  });

  it('keeps a key of every provider byokit knows, with its audit record', async () => {
    // A provider added to PROVIDERS must be one a storage takes: a database's own list of providers (a CHECK) left
    // out of it refused the new provider's every key, a 500.
    const owner = freshUser();
    await storage.writeKeys(
      owner,
      PROVIDERS.map((provider, index) => setChange(provider, bytes(index))),
      actor,
      at,
    );
    expect((await storage.listKeys(owner)).map((key) => key.provider).sort()).toEqual([...PROVIDERS].sort());
    expect((await storage.listAudit({ owner })).map((record) => record.provider).sort()).toEqual([...PROVIDERS].sort());
  });

  it('keeps the times of a key and of its audit records to the millisecond', async () => {
    // Storage's TSDoc: each time a Date, to the millisecond. Every other test here writes at whole seconds, so a
    // storage that kept whole seconds passed them all.
    const owner = freshUser();
    const set = new Date('2026-11-25T10:00:00.123Z');
    const replaced = new Date('2026-11-25T10:00:01.999Z');
    await storage.writeKeys(owner, [setChange('openai', bytes(1))], actor, set);
    await storage.writeKeys(owner, [setChange('openai', bytes(2))], actor, replaced);
    const key = (await storage.getKey(owner, 'openai'))!;
    expect([key.createdAt.toISOString(), key.updatedAt.toISOString()]).toEqual([set.toISOString(), replaced.toISOString()]);
    const audit = await storage.listAudit({ owner });
    expect(audit.map((record) => record.at.toISOString())).toEqual([replaced.toISOString(), set.toISOString()]);
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

  it("records a call's verdict on a key only while its row still holds that key, leaving updatedAt and the audit alone", async ({
    skip,
  }) => {
    // byokit marks a stored key `invalid` when its provider refuses it on a call, `valid` when it answers: the key status
    // then says what the provider last said. A storage without setKeyVerification keeps the verdict of the key's entry.
    if (!storage.setKeyVerification) return skip('setKeyVerification is optional, and this storage has none');
    const owner = freshUser();
    await storage.writeKeys(owner, [setChange('anthropic', bytes(1, 1), '…a1')], actor, at);
    const auditBefore = (await storage.listAudit({ owner })).length;
    expect(await storage.setKeyVerification(owner, 'anthropic', bytes(1, 1), 'invalid')).toBe(true);
    const marked = (await storage.getKey(owner, 'anthropic'))!;
    expect([marked.verification, marked.updatedAt.toISOString(), [...marked.envelope]]).toEqual(['invalid', at.toISOString(), [1, 1]]);
    expect((await storage.listAudit({ owner })).length).toBe(auditBefore);
    expect(await storage.setKeyVerification(owner, 'anthropic', bytes(1, 1), 'valid')).toBe(true);
    expect((await storage.getKey(owner, 'anthropic'))!.verification).toBe('valid');
    // The key replaced since the call was made: the new key keeps its own verdict.
    await storage.writeKeys(owner, [setChange('anthropic', bytes(2, 2), '…a2')], actor, later);
    expect(await storage.setKeyVerification(owner, 'anthropic', bytes(1, 1), 'invalid')).toBe(false);
    expect((await storage.getKey(owner, 'anthropic'))!.verification).toBe('unverified');
    // No row, another provider's row, another owner's row: nothing written.
    expect(await storage.setKeyVerification(owner, 'openai', bytes(2, 2), 'invalid')).toBe(false);
    expect(await storage.setKeyVerification(freshUser(), 'anthropic', bytes(2, 2), 'invalid')).toBe(false);
    expect(await storage.setKeyVerification(SYSTEM_OWNER, 'anthropic', bytes(2, 2), 'invalid')).toBe(false);
    expect((await storage.getKey(owner, 'anthropic'))!.verification).toBe('unverified');
  });

  it('keeps one key per owner and provider: a second set replaces it and keeps its creation time, one after a delete does not', async () => {
    const owner = freshUser();
    await storage.writeKeys(owner, [setChange('openai', bytes(1), '…aaaa')], actor, at);
    await storage.writeKeys(owner, [setChange('openai', bytes(2), '…bbbb')], actor, later);
    const keys = await storage.listKeys(owner);
    expect(keys).toHaveLength(1);
    expect([...keys[0]!.envelope]).toEqual([2]);
    expect(keys[0]!.hint).toBe('…bbbb');
    expect(keys[0]!.createdAt.toISOString()).toBe(at.toISOString());
    expect(keys[0]!.updatedAt.toISOString()).toBe(later.toISOString());
    // Deleted, then set again: a new key, created when it was set, as memory storage and storage-postgres have it.
    const again = new Date(later.getTime() + 60_000);
    await storage.writeKeys(owner, [{ action: 'delete', provider: 'openai' }], actor, later);
    await storage.writeKeys(owner, [setChange('openai', bytes(3), '…cccc')], actor, again);
    const set = (await storage.getKey(owner, 'openai'))!;
    expect(
      [set.createdAt.toISOString(), set.updatedAt.toISOString()],
      'StoredKey.createdAt of a key set again after its deletion: when it was set again',
    ).toEqual([again.toISOString(), again.toISOString()]);
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
    expect(
      await rejectionOf(
        storage.writeKeys(
          owner,
          [setChange('anthropic', bytes(1)), { action: 'delete', provider: 'openai' }, bad as unknown as KeyChange],
          actor,
          later,
        ),
      ),
      'writeKeys with a change of a provider not in PROVIDERS rejects, applying none of the changes before it',
    ).toBeInstanceOf(Error);
    expect(await storage.getKey(owner, 'anthropic'), 'the set before the bad change, not applied').toBeNull();
    expect((await storage.getKey(owner, 'openai'))!.envelope, 'the delete before the bad change, not applied').toEqual(bytes(5));
    expect(await storage.listAudit({ owner }), 'no audit record of a write refused').toHaveLength(1);
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

  it('lists the audit trail of every owner without one, newest first, 100 records unless told', async () => {
    // AuditQuery's defaults: every owner's changes, and at most 100, of one owner too. 40 writes of 3 keys: 120 records,
    // 108 of them Alice's.
    const [alice, bob] = [freshUser(), freshUser()];
    const written: string[] = [];
    const ids: string[] = [];
    for (let write = 0; write < 40; write++) {
      const owner = write % 10 === 3 ? bob : alice;
      const hints = ['a', 'b', 'c'].map((letter) => `…${String(write).padStart(2, '0')}${letter}`);
      const records = await storage.writeKeys(
        owner,
        [
          setChange('anthropic', bytes(write), hints[0]),
          setChange('openai', bytes(write), hints[1]),
          setChange('google', bytes(write), hints[2]),
        ],
        actor,
        at,
      );
      written.push(...records.map((record) => `${record.owner.id} ${record.hint}`));
      ids.push(...records.map((record) => record.id));
    }
    const newest100 = written.slice(-100).reverse();
    const listed = await storage.listAudit();
    // Newest first is the reverse order of writing, not of `at`: earlier tests of this storage wrote at a later `at`.
    expect(
      listed.map((record) => `${record.owner.id} ${record.hint}`),
      "listAudit(): the last 100 records written, last first, whatever each one's `at`",
    ).toEqual(newest100);
    // AuditRecord.id: a UUID, unique per record, the same in the answer to the write as in the trail.
    expect(listed.map((record) => record.id)).toEqual(ids.slice(-100).reverse());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    expect((await storage.listAudit({})).map((record) => `${record.owner.id} ${record.hint}`)).toEqual(newest100);
    expect((await storage.listAudit({ limit: 3 })).map((record) => `${record.owner.id} ${record.hint}`)).toEqual(newest100.slice(0, 3));
    expect((await storage.listAudit({ owner: alice })).map((record) => record.hint)).toEqual(
      written
        .filter((entry) => entry.startsWith(`${alice.id} `))
        .reverse()
        .slice(0, 100)
        .map((entry) => entry.split(' ')[1]),
    );
  });

  it('keeps none of what a key write was given: changing its envelope or time afterwards changes nothing stored', async () => {
    // Storage's TSDoc, "Copies": an envelope kept as given is the caller's buffer, which a caller may reuse or zero.
    const owner = freshUser();
    const envelope = bytes(1, 2, 3);
    const when = new Date(at);
    const change = setChange('openai', envelope, '…keep');
    await storage.writeKeys(owner, [change], actor, when);
    envelope.fill(0);
    when.setTime(0);
    Object.assign(change, { hint: '…gone', keyId: 'changed' });
    const key = (await storage.getKey(owner, 'openai'))!;
    expect([[...key.envelope], key.hint, key.keyId, key.createdAt.toISOString(), key.updatedAt.toISOString()]).toEqual([
      [1, 2, 3],
      '…keep',
      'k1',
      at.toISOString(),
      at.toISOString(),
    ]);
    expect((await storage.listAudit({ owner })).map((record) => [record.hint, record.at.toISOString()])).toEqual([
      ['…keep', at.toISOString()],
    ]);
  });

  it('hands out copies: changing a returned key or audit record does not change what is stored', async () => {
    const owner = freshUser();
    const [written] = await storage.writeKeys(owner, [setChange('anthropic', bytes(1, 2), '…orig')], actor, at);
    const first = (await storage.getKey(owner, 'anthropic'))!;
    first.envelope[0] = 99;
    first.createdAt.setTime(0);
    first.updatedAt.setTime(0);
    first.hint = '…oops';
    const listed = (await storage.listKeys(owner))[0]!;
    listed.envelope[1] = 99;
    listed.updatedAt.setTime(0);
    const key = (await storage.getKey(owner, 'anthropic'))!;
    expect([[...key.envelope], key.hint, key.createdAt.toISOString(), key.updatedAt.toISOString()]).toEqual([
      [1, 2],
      '…orig',
      at.toISOString(),
      at.toISOString(),
    ]);
    written!.at.setTime(0);
    written!.hint = '…oops';
    const audited = (await storage.listAudit({ owner }))[0]!;
    audited.at.setTime(0);
    expect((await storage.listAudit({ owner })).map((record) => [record.id, record.hint, record.at.toISOString()])).toEqual([
      [written!.id, '…orig', at.toISOString()],
    ]);
  });
}
