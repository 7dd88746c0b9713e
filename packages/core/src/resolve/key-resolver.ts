import { ByokitError, isByokitError } from '../errors.js';
import { openProviderKey } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import { isPlaceholderKey } from '../keys/placeholders.js';
import { PROVIDER_LABELS, PROVIDERS, type Provider } from '../keys/providers.js';
import { SecretKey } from '../keys/secret-key.js';
import { SYSTEM_OWNER, userOwner, type KeyOwner, type KeyVerification, type Storage } from '../storage/storage.js';
import type { KeyCache } from './key-cache.js';

/** Whose key pays for a request. */
export type KeySource = 'user' | 'system';

/** A key resolved for a request: the key itself (redacting; call `reveal()` to use it) and whose it is. */
export interface ResolvedKey {
  /** The key, redacting: `String(key)` and `JSON.stringify` give only its hint; `key.reveal()` gives the key. */
  key: SecretKey;
  /** Whose key it is: the user's own (`user`) or the system key (`system`). */
  source: KeySource;
}

/**
 * Decides which key a user's request to a provider uses: the user's personal key, else the system key
 * in storage, else the system key from the environment, else `api_key_required` (spec/http-api.md, key
 * resolution). Placeholders count as absent at every level. A stored key that cannot be decrypted is an
 * error, never a quiet fall-through to the system key (spec/security.md).
 */
export class KeyResolver {
  /** Each stored key opened, with what its row said when read: where a call's verdict on it is written ({@link noteVerdict}). */
  readonly #rows = new WeakMap<
    SecretKey,
    { owner: KeyOwner; provider: Provider; envelope: Uint8Array; verification: KeyVerification; written?: Promise<void> }
  >();
  /** Verdicts being written: {@link settled} waits for them (byokit.close(), before storage closes). */
  readonly #writes = new Set<Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly keyring: Keyring,
    private readonly environmentKeys: Partial<Record<Provider, SecretKey>>,
    private readonly cache: KeyCache,
  ) {}

  /**
   * Resolves the key for `userId`'s request to `provider`, or throws `api_key_required` naming it. A refusal is
   * never made on an absence the cache gave, which another node's write may have ended: storage is read first.
   * (A user told to add the key they had just added on node A was refused so by node B for the cache's TTL, while
   * B's own key status, read from storage, showed the key.)
   */
  async resolve(userId: string, provider: Provider): Promise<ResolvedKey> {
    const lookup = newLookup('cached');
    const resolved =
      (await this.#resolve(userId, provider, lookup)) ??
      (lookup.absenceCached ? await this.#resolve(userId, provider, newLookup('fresh')) : null);
    if (resolved) return resolved;
    // Word for word spec/http-api.md's example, which names the provider by its id, as `provider` does.
    throw new ByokitError('api_key_required', `No API key for ${provider}: add yours in your profile, or ask an admin for a system key.`, {
      provider,
    });
  }

  /**
   * Whose key a request to `provider` would use, or null when none: the same resolution as {@link resolve},
   * so the models listed and the models that may be called never disagree. A stored key that does not open is
   * still the key a request would use (and fail on, never falling through): it counts as its owner's here.
   * Thrown instead, one altered or misplaced row made every model list and model view of its owner a 500, for
   * every provider, and an admin's catalog change a 500 after it was saved.
   */
  async sourceOf(userId: string, provider: Provider): Promise<KeySource | null> {
    const lookup = newLookup('cached');
    const source = await this.#sourceOf(userId, provider, lookup);
    return source ?? (lookup.absenceCached ? this.#sourceOf(userId, provider, newLookup('fresh')) : null);
  }

  /** {@link sourceOf} for every provider at once (one resolution per provider, not per model): what model lists show. */
  async sourcesOf(userId: string): Promise<Record<Provider, KeySource | null>> {
    const sources = await Promise.all(PROVIDERS.map((provider) => this.sourceOf(userId, provider)));
    return Object.fromEntries(PROVIDERS.map((provider, index) => [provider, sources[index]])) as Record<Provider, KeySource | null>;
  }

  /** The system key for a provider (database first, then environment), or null. */
  async systemKey(provider: Provider, lookup: Lookup = newLookup('cached')): Promise<SecretKey | null> {
    return (await this.storedKey(SYSTEM_OWNER, provider, lookup)) ?? this.environmentKeys[provider] ?? null;
  }

  async #resolve(userId: string, provider: Provider, lookup: Lookup): Promise<ResolvedKey | null> {
    const personal = await this.storedKey(userOwner(userId), provider, lookup);
    if (personal) return { key: personal, source: 'user' };
    const system = await this.systemKey(provider, lookup);
    return system ? { key: system, source: 'system' } : null;
  }

  async #sourceOf(userId: string, provider: Provider, lookup: Lookup): Promise<KeySource | null> {
    if (await this.hasStoredKey(userOwner(userId), provider, lookup)) return 'user';
    if ((await this.hasStoredKey(SYSTEM_OWNER, provider, lookup)) || this.environmentKeys[provider] !== undefined) return 'system';
    return null;
  }

  /**
   * Records what a provider said of a stored key a call was made with: `invalid` when it refused the key, `valid` when
   * it answered. Written when it changes the last verdict known of the key (its row's when read), each after the one
   * before, and only to a row that still holds that key (`Storage.setKeyVerification`, compare-and-swap): a key
   * replaced meanwhile keeps its own. A key from the environment has no row; a storage without the method keeps the
   * verdict of the key's entry. Not awaited by the call: returns the write when there is one (undefined when the
   * verdict is the one known), whose failure is the caller's to report; a later write of the key waits for it either way.
   */
  noteVerdict(key: SecretKey, verdict: 'valid' | 'invalid'): Promise<void> | undefined {
    const row = this.#rows.get(key);
    if (!row || row.verification === verdict || !this.storage.setKeyVerification) return undefined;
    row.verification = verdict;
    // After the key's write before it: begun at once, an earlier verdict's write that answered last (on another of the
    // pool's connections) was the one kept, and no later call wrote the row's verdict again.
    const write = (row.written ?? Promise.resolve()).then(async () => {
      await this.storage.setKeyVerification!(row.owner, row.provider, row.envelope, verdict);
    });
    const ended = write.catch(() => undefined);
    row.written = ended;
    this.#writes.add(ended);
    void ended.then(() => this.#writes.delete(ended));
    return write;
  }

  /** Resolves once the verdicts being written are (byokit.close() waits for them before it closes storage). */
  async settled(): Promise<void> {
    await Promise.all(this.#writes);
  }

  /** Forgets cached keys of an owner after a write through this byokit. */
  invalidate(owner: KeyOwner, provider: Provider): void {
    this.cache.delete(slotOf(owner, provider));
  }

  /** Whether a request would use the owner's stored key: there is one and it is no placeholder, or it does not open. */
  private async hasStoredKey(owner: KeyOwner, provider: Provider, lookup: Lookup): Promise<boolean> {
    try {
      return (await this.storedKey(owner, provider, lookup)) !== null;
    } catch (error) {
      if (isByokitError(error) && error.code === 'key_unreadable') return true;
      throw error;
    }
  }

  private async storedKey(owner: KeyOwner, provider: Provider, lookup: Lookup): Promise<SecretKey | null> {
    const slot = slotOf(owner, provider);
    if (lookup.read === 'cached') {
      const cached = this.cache.get(slot);
      if (cached === null) lookup.absenceCached = true;
      if (cached !== undefined) return cached;
      const underWay = this.cache.readUnderWay(slot);
      if (underWay !== undefined) {
        // Begun before this lookup, it may have found an absence another node's write has ended since: as one cached.
        const key = await underWay;
        if (key === null) lookup.absenceCached = true;
        return key;
      }
    }
    return this.cache.read(slot, async () => {
      const row = await this.storage.getKey(owner, provider);
      if (!row) return null;
      const plaintext = openStoredKey(this.keyring, row.envelope, owner, provider);
      if (isPlaceholderKey(plaintext)) return null;
      const key = new SecretKey(provider, plaintext);
      this.#rows.set(key, { owner, provider, envelope: row.envelope, verification: row.verification });
      return key;
    });
  }
}

/**
 * A stored key, opened; `key_unreadable` (400) when it does not open, for the caller whose call needs it. Such a
 * key is put right only by entering it again (or removing it): by its owner, or an admin for the system key. Its
 * row and master key id are in the `key_decrypt_failed` kept as the cause, which the error log shows; the
 * message names the provider and whose key it is, and nothing of the key. (It was a bare `500 internal_error`,
 * while the owner's key status said the key was configured: nothing told them to enter it again.)
 *
 * @throws {@link ByokitError} `key_unreadable` with the provider and key source.
 */
export function openStoredKey(keyring: Keyring, envelope: Uint8Array, owner: KeyOwner, provider: Provider): string {
  try {
    return openProviderKey(keyring, envelope, { ownerType: owner.type, ownerId: owner.id, provider });
  } catch (error) {
    if (!isByokitError(error) || error.code !== 'key_decrypt_failed') throw error;
    const label = PROVIDER_LABELS[provider];
    const why =
      'can no longer be read (it was sealed under a master key this server does not have or no longer accepts, or its stored copy is damaged)';
    const message =
      owner.type === 'user'
        ? `Your stored ${label} key ${why}: enter it again in your profile, or remove it.`
        : `The stored system ${label} key ${why}: ask an admin to enter it again.`;
    throw new ByokitError('key_unreadable', message, { provider, keySource: owner.type }, { cause: error });
  }
}

/**
 * One resolution's reads: from the cache where it holds the slot, else storage (`cached`), or from storage alone
 * (`fresh`); and whether an absence it went by came from the cache, and so may be as old as the TTL.
 */
interface Lookup {
  read: 'cached' | 'fresh';
  absenceCached: boolean;
}

const newLookup = (read: Lookup['read']): Lookup => ({ read, absenceCached: false });

const slotOf = (owner: KeyOwner, provider: Provider) => `${owner.type}\u0000${owner.id}\u0000${provider}`;
