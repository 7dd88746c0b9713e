import { ByokitError } from './errors.js';
import type { Keyring, KeyProvider } from './crypto/keyring.js';
import type { Provider } from './keys/providers.js';
import { silentLogger, type Logger } from './logging/logger.js';
import { createRequestHandler } from './http/handler.js';
import { keyRoutes } from './http/routes/key-routes.js';
import type { ByokitRequest, ByokitResponse } from './http/types.js';
import { KeyCache } from './resolve/key-cache.js';
import { KeyResolver, type ResolvedKey } from './resolve/key-resolver.js';
import { DEFAULT_SYSTEM_KEY_VARIABLES, readSystemKeysFromEnvironment, type SystemKeyVariables } from './resolve/environment-keys.js';
import type { Storage } from './storage/storage.js';
import { KeyManager } from './vault/key-manager.js';
import { resealKeys, type RotationOptions, type RotationProgress } from './vault/reseal-keys.js';

/** Options of {@link createByokit}. Only `storage` and `keyring` are required. */
export interface ByokitOptions {
  /** Where keys, usage and audit records live: `memoryStorage()` for trials, storage-postgres for real use. */
  storage: Storage;
  /** The master keys, or a provider that loads them at start-up (e.g. from a KMS): see `keyringFromEnv()`. */
  keyring: Keyring | KeyProvider;
  /** Where system keys are read from at start-up. Default: `process.env`. */
  environment?: Record<string, string | undefined>;
  /** Names of the variables holding system keys. Default: `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GOOGLE_API_KEY`. */
  systemKeyVariables?: Partial<SystemKeyVariables>;
  /**
   * How long a decrypted key is kept in memory, and how many at most. Writes through this process are seen
   * at once; writes by another process within `ttlMs`. Default 10 s and 10,000 entries; `ttlMs: 0` disables it.
   */
  keyCache?: { ttlMs?: number; maxEntries?: number };
  /** A pino-compatible logger. Default: silent. */
  logger?: Logger;
  /** The clock, for tests. Default: the system clock. */
  now?: () => Date;
}

/** A running byokit: mount `handle` through an adapter, or call it from code. */
export interface Byokit {
  /**
   * Answers a request below the mount prefix in the /v2 contract, or resolves `undefined` when no byokit
   * route has that path (so the host's own routes can answer). Adapters call this; hosts rarely need to.
   */
  handle(request: ByokitRequest): Promise<ByokitResponse | undefined>;
  /**
   * The key a user's request to `provider` would use: their personal key, else the system key (database,
   * then environment). Throws a `ByokitError` with code `api_key_required` naming the provider when there is none.
   */
  resolveKey(principal: { userId: string }, provider: Provider): Promise<ResolvedKey>;
  /**
   * Re-seals every stored key under the keyring's primary master key: the re-encryption step of a master
   * key rotation. Resumable, and safe beside live traffic and other runs. Check `keyRowsByMasterKeyId()`
   * shows no rows left on the old id before removing it from the keyring.
   */
  rotateKeys(options?: RotationOptions): Promise<RotationProgress>;
  /** How many stored keys each master key id seals: rotation progress as a query. */
  keyRowsByMasterKeyId(): Promise<Map<string, number>>;
  /** Releases what byokit holds (the storage's connections). */
  close(): Promise<void>;
}

/**
 * Starts byokit. Fails closed: a keyring that does not open every key in storage refuses to start, with
 * a message naming the missing key id and how many rows need it (spec/security.md, "Fail closed at start-up").
 */
export async function createByokit(options: ByokitOptions): Promise<Byokit> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const keyring = 'loadKeyring' in options.keyring ? await options.keyring.loadKeyring() : options.keyring;
  await assertKeyringOpensStorage(keyring, options.storage);

  const environment = options.environment ?? globalThis.process?.env ?? {};
  const variables = { ...DEFAULT_SYSTEM_KEY_VARIABLES, ...options.systemKeyVariables };
  const environmentKeys = readSystemKeysFromEnvironment(environment, variables, logger);

  const cache = new KeyCache(options.keyCache?.ttlMs ?? 10_000, options.keyCache?.maxEntries ?? 10_000, () => now().getTime());
  const resolver = new KeyResolver(options.storage, keyring, environmentKeys, cache);
  const keys = new KeyManager(options.storage, keyring, resolver, environmentKeys, now);
  const handle = createRequestHandler(keyRoutes(keys), logger);

  return {
    handle,
    resolveKey: (principal, provider) => resolver.resolve(principal.userId, provider),
    rotateKeys: (rotationOptions) => resealKeys(options.storage, keyring, logger, rotationOptions),
    keyRowsByMasterKeyId: () => options.storage.countKeysByMasterKeyId(),
    close: async () => {
      cache.clear();
      await options.storage.close?.();
    },
  };
}

async function assertKeyringOpensStorage(keyring: Keyring, storage: Storage): Promise<void> {
  const counts = await storage.countKeysByMasterKeyId();
  for (const [keyId, rows] of counts) {
    if (rows === 0 || keyring.has(keyId)) continue;
    const state = keyring.retiredIds.includes(keyId) ? 'which the keyring marks retired' : 'which the keyring lacks';
    throw new ByokitError(
      'keyring_invalid',
      `${rows} stored key(s) are sealed with master key id '${keyId}', ${state}. Keep '${keyId}' in BYOKIT_KEYRING (not primary, not retired) and run the re-encryption (byokit rotate-keys) until no row is left on it.`,
    );
  }
}
