import { ByokitError, isByokitError, type ValidationIssue } from '../errors.js';
import { sealProviderKey } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import { parseProviderKey } from '../keys/key-formats.js';
import { mapProviders, PROVIDER_LABELS, PROVIDERS, type Provider } from '../keys/providers.js';
import type { SecretKey } from '../keys/secret-key.js';
import type { KeyCheck } from '../providers/provider-types.js';
import { openStoredKey, type KeyResolver } from '../resolve/key-resolver.js';
import {
  SYSTEM_OWNER,
  type AuditRecord,
  type KeyChange,
  type KeyOwner,
  type KeyVerification,
  type KeyWriteActor,
  type Storage,
  type StoredKey,
} from '../storage/storage.js';

/** What may be shown about one stored key: never the key, only its hint. */
export interface KeyState {
  configured: boolean;
  hint?: string;
  updatedAt?: Date;
  /** What is known of the key: as stored, or `unreadable` for a stored key that does not open (enter it again). */
  verification?: KeyVerification | 'unreadable';
}

/** A user's key for one provider, and whether a system key would stand in for it. */
export interface PersonalKeyState extends KeyState {
  systemFallback: boolean;
}

/** The system key for one provider and where it comes from. */
export interface SystemKeyState extends KeyState {
  source: 'database' | 'environment' | null;
}

/** A key update: a string sets the provider's key, `null` removes it, an absent provider is left alone. */
export type KeyUpdate = Partial<Record<Provider, string | null>>;

/** Asks a provider whether a key works (a free call); `unreachable` when it could not be asked. */
export type KeyChecker = (key: SecretKey) => Promise<KeyCheck>;

/** The request field that carries a provider's key (the guide's names). */
export const keyField = (provider: Provider) => `${provider}_api_key` as const;

/**
 * Reads the state of, sets and removes provider keys, for one owner at a time: the rules of the key
 * routes, framework-free. Every change is checked first and then written in one all-or-nothing storage
 * write with its audit records.
 */
export class KeyManager {
  constructor(
    private readonly storage: Storage,
    private readonly keyring: Keyring,
    private readonly resolver: KeyResolver,
    private readonly environmentKeys: Partial<Record<Provider, SecretKey>>,
    private readonly now: () => Date,
  ) {}

  /** A user's personal keys, per provider. */
  async personalState(owner: KeyOwner): Promise<Record<Provider, PersonalKeyState>> {
    const [personal, system] = await Promise.all([this.storage.listKeys(owner), this.storage.listKeys(SYSTEM_OWNER)]);
    return mapProviders((provider) => ({
      ...this.stateOf(personal.find((key) => key.provider === provider)),
      systemFallback: system.some((key) => key.provider === provider) || this.environmentKeys[provider] !== undefined,
    }));
  }

  /** The system keys, per provider, with their source: a database key wins over the environment's. */
  async systemState(): Promise<Record<Provider, SystemKeyState>> {
    const stored = await this.storage.listKeys(SYSTEM_OWNER);
    return mapProviders((provider) => {
      const row = stored.find((key) => key.provider === provider);
      if (row) return { ...this.stateOf(row), source: 'database' as const };
      const fromEnvironment = this.environmentKeys[provider];
      if (fromEnvironment) return { configured: true, hint: fromEnvironment.hint, source: 'environment' as const };
      return { configured: false, source: null };
    });
  }

  /**
   * Checks every key in `update` and, only if all pass, writes them at once. Throws the first problem's
   * error (`invalid_key_format` or `placeholder_key`) with an issue for each bad field; nothing is saved then.
   */
  async update(
    owner: KeyOwner,
    update: KeyUpdate,
    actor: KeyWriteActor,
    verify?: (provider: Provider) => KeyChecker,
  ): Promise<AuditRecord[]> {
    const changes: KeyChange[] = [];
    const problems: Array<{ provider: Provider; error: ByokitError }> = [];
    const verified = verify ? await this.verify(update, verify) : undefined;
    for (const provider of PROVIDERS) {
      if (!(provider in update)) continue;
      const value = update[provider];
      if (value === null) {
        changes.push({ action: 'delete', provider });
        continue;
      }
      try {
        const key = parseProviderKey(provider, value);
        const check = verified?.[provider];
        if (check === 'invalid') {
          throw new ByokitError('provider_key_rejected', `The ${PROVIDER_LABELS[provider]} API refused this key; nothing was saved.`, {
            provider,
            status: 422,
          });
        }
        const { envelope, keyId } = sealProviderKey(this.keyring, key.reveal(), { ownerType: owner.type, ownerId: owner.id, provider });
        changes.push({
          action: 'set',
          provider,
          envelope,
          keyId,
          hint: key.hint,
          verification: check === 'valid' ? 'valid' : 'unverified',
        });
      } catch (error) {
        if (!isByokitError(error)) throw error;
        problems.push({ provider, error });
      }
    }
    const first = problems[0];
    if (first) {
      const issues: ValidationIssue[] = problems.map(({ provider, error }) => ({ path: keyField(provider), message: error.message }));
      throw new ByokitError(first.error.code, first.error.message, { ...first.error.details, provider: first.provider, issues });
    }
    return this.write(owner, changes, actor);
  }

  /**
   * Asks each provider about its new key, all at once, before anything is saved (`?verify=true`). Keys that
   * do not parse are not sent anywhere: the format check reports them.
   */
  private async verify(update: KeyUpdate, checkerFor: (provider: Provider) => KeyChecker): Promise<Partial<Record<Provider, string>>> {
    const checks = await Promise.all(
      PROVIDERS.map(async (provider) => {
        const value = update[provider];
        if (typeof value !== 'string') return [provider, undefined] as const;
        let key: SecretKey;
        try {
          key = parseProviderKey(provider, value);
        } catch {
          return [provider, undefined] as const;
        }
        return [provider, await checkerFor(provider)(key)] as const;
      }),
    );
    return Object.fromEntries(checks.filter(([, check]) => check !== undefined));
  }

  /** Removes the owner's keys for the given providers (all when omitted). */
  async remove(owner: KeyOwner, providers: readonly Provider[] = PROVIDERS, actor: KeyWriteActor): Promise<AuditRecord[]> {
    return this.write(
      owner,
      providers.map((provider) => ({ action: 'delete', provider })),
      actor,
    );
  }

  /**
   * What may be shown of a stored key. One that does not open says so (`verification: 'unreadable'`): its calls
   * fail with `key_unreadable`, and the status is where its owner learns to enter it again.
   */
  private stateOf(row: StoredKey | undefined): KeyState {
    if (!row) return { configured: false };
    const state: KeyState = { configured: true, hint: row.hint, updatedAt: row.updatedAt, verification: row.verification };
    try {
      openStoredKey(this.keyring, row.envelope, row.owner, row.provider);
    } catch (error) {
      if (!isByokitError(error) || error.code !== 'key_unreadable') throw error;
      state.verification = 'unreadable';
    }
    return state;
  }

  private async write(owner: KeyOwner, changes: KeyChange[], actor: KeyWriteActor): Promise<AuditRecord[]> {
    if (changes.length === 0) return [];
    try {
      return await this.storage.writeKeys(owner, changes, actor, this.now());
    } finally {
      // Invalidate even when the write failed: its outcome is unknown, and a cache miss is only a read.
      for (const change of changes) this.resolver.invalidate(owner, change.provider);
    }
  }
}
