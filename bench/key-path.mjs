// The key path: resolving a user's key (from the decrypted-key cache, and with storage read + decryption),
// and answering GET /users/me/api-key-status through the framework-free handler.
import { createByokit, Keyring, memoryStorage, openProviderKey, sealProviderKey } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { judged, measure, micro, row, verdict } from './measure.mjs';

const keyring = Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]);
const alice = { userId: 'alice', isAdmin: false };

/** A byokit whose key cache keeps keys `ttlMs`, with alice's Anthropic key stored; `options` for more (its clock). */
async function byokitWith(ttlMs, options = {}) {
  const byokit = await createByokit({ storage: memoryStorage(), keyring, environment: {}, keyCache: { ttlMs }, ...options });
  const body = new TextEncoder().encode(JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }));
  await byokit.handle({
    method: 'PATCH',
    url: '/users/me/api-key',
    headers: { 'content-type': 'application/json' },
    body: { kind: 'stream', stream: [body] },
    authenticate: () => alice,
  });
  return byokit;
}

/**
 * A new user each call, none with a key of their own, on a system key: each call reads storage for the user's slot
 * and caches the absence. `maxEntries` full, every such call forgets the slot cached longest ago: that cost 6 µs
 * at 10,000 entries and 41 µs at 100,000 until 2026-12-04 (a Map's first key, found past every entry deleted before it).
 */
const CACHE_ENTRIES = 100_000;
async function newUserEachCall(prefill, maxEntries = CACHE_ENTRIES) {
  const byokit = await createByokit({
    storage: memoryStorage(),
    keyring,
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    keyCache: { ttlMs: 3_600_000, maxEntries },
  });
  let user = 0;
  for (; user < prefill; user++) await byokit.resolveKey({ userId: `user-${user}` }, 'anthropic');
  return () => byokit.resolveKey({ userId: `user-${user++}` }, 'anthropic');
}

/**
 * N resolutions at once of one key not cached (a node just started, the TTL run out, the key just written), as when
 * a user's client sends N calls at once or N users fall back to one system key: each operation moves the clock a
 * TTL on and resolves N times at once. They share one read of storage and one opening of the key; until 2026-12-07
 * each read and opened it on its own.
 */
const AT_ONCE = 50;
async function coldKeyAtOnce() {
  const ttlMs = 10_000;
  let clock = Date.parse('2026-12-07T10:00:00Z');
  const byokit = await byokitWith(ttlMs, { now: () => new Date(clock) });
  const resolutions = Array.from({ length: AT_ONCE });
  return () => {
    clock += ttlMs;
    return Promise.all(resolutions.map(() => byokit.resolveKey(alice, 'anthropic')));
  };
}

export async function runKeyPath() {
  const cached = await byokitWith(60_000);
  const uncached = await byokitWith(0);
  const context = { ownerType: 'user', ownerId: 'alice', provider: 'anthropic' };
  const { envelope } = sealProviderKey(keyring, fakeProviderKey('anthropic'), context);
  // The floor: an awaited Map lookup returning an object, the least any key lookup can cost.
  const floorMap = new Map([['user\u0000alice\u0000anthropic', { key: 'x', source: 'user' }]]);
  const statusRequest = { method: 'GET', url: '/users/me/api-key-status', headers: {}, body: { kind: 'none' }, authenticate: () => alice };
  const statusBody = JSON.parse((await cached.handle(statusRequest)).body);

  const results = await measure([
    ['floor: awaited Map lookup', async () => floorMap.get('user\u0000alice\u0000anthropic')],
    ['resolveKey, cached', () => cached.resolveKey(alice, 'anthropic')],
    ['resolveKey, storage + decrypt', () => uncached.resolveKey(alice, 'anthropic')],
    ['envelope open alone', async () => openProviderKey(keyring, envelope, context)],
    ['floor: JSON.stringify of the status body', async () => JSON.stringify(statusBody)],
    ['GET /users/me/api-key-status via handle()', () => cached.handle(statusRequest)],
    // Filling: room for every call the measurement makes.
    ['resolveKey, a new user each call, cache filling', await newUserEachCall(0, 100 * CACHE_ENTRIES)],
    [`resolveKey, a new user each call, cache full (${CACHE_ENTRIES.toLocaleString('en')})`, await newUserEachCall(CACHE_ENTRIES)],
    [`resolveKey ×${AT_ONCE} at once, one key not cached`, await coldKeyAtOnce()],
  ]);

  const floor = results['floor: awaited Map lookup'].median;
  const statusFloor = results['floor: JSON.stringify of the status body'].median;
  const rows = Object.entries(results).map(([name, { median, min, max }]) => {
    const base = name.startsWith('GET') || name.includes('JSON') ? statusFloor : floor;
    return {
      case: name,
      'µs/op (median)': micro(median),
      'min–max': `${micro(min)}–${micro(max)}`,
      'ops/s': Math.round(1e9 / median).toLocaleString('en'),
      '× floor': (median / base).toFixed(1),
    };
  });
  console.log('\nKey path (in process, memory storage; 3 rounds, rotated order)');
  console.table(rows);
  const filling = results['resolveKey, a new user each call, cache filling'].median;
  const full = results[`resolveKey, a new user each call, cache full (${CACHE_ENTRIES.toLocaleString('en')})`].median;
  const fullRatio = judged(full / filling, 2, { atMost: true });
  console.log(
    `goal: a new user's key resolution with the cache full ≤ 2× with it filling → ${fullRatio.figure}×: ${verdict(fullRatio.met)}`,
  );
  const atOnce = results[`resolveKey ×${AT_ONCE} at once, one key not cached`].median / results['resolveKey, storage + decrypt'].median;
  console.log(`${AT_ONCE} resolutions at once of one key not cached: ${atOnce.toFixed(1)}× one resolution with storage + decrypt`);
  const cachedMicros = results['resolveKey, cached'].median / 1000;
  const cachedGoal = judged(cachedMicros, 5, { atMost: true });
  console.log(`goal: key resolution from cache ≤ 5 µs → ${cachedGoal.figure} µs: ${verdict(cachedGoal.met)}`);
  return { cachedMicros };
}
