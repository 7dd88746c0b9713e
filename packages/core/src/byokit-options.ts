/**
 * createByokit's options, checked before anything starts (host-option-checks.ts holds the checks every option shares):
 * a typo, or an environment variable read as `NaN`, fails at start-up naming the option, rather than quietly changing
 * what byokit does or failing later inside a request.
 */
import { ByokitError } from './errors.js';
import type { ByokitOptions } from './byokit.js';
import type { Keyring, KeyProvider } from './crypto/keyring.js';
import { PROVIDERS } from './keys/providers.js';
import { holdsSecret } from './keys/scrub-secrets.js';
import { memoryRateLimiter, type RateLimiter } from './metering/rate-limiter.js';
import { DEFAULT_SYSTEM_KEY_VARIABLES, type SystemKeyVariables } from './resolve/environment-keys.js';
import type { Storage } from './storage/storage.js';
import { assertMasterKeysSealedStoredKeys } from './vault/master-key-check.js';
import { assertSettingNames, isSettingsObject, kindOfOption, optionalSettingsShape } from './host-option-checks.js';
import { authenticateOption } from './http/authenticate-option.js';
import { normalisePrefix } from './http/mount-prefix.js';

/**
 * The two options byokit cannot start without, checked first: left out (plain JavaScript, a mistyped import) or
 * a storage not yet awaited, each failed deep inside start-up as "Cannot read properties of undefined".
 */
export function assertRequiredOptions(options: ByokitOptions | undefined): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('createByokit: options are required: { storage, keyring }');
  const { storage, keyring } = options as Partial<ByokitOptions>;
  if (storage instanceof Promise) {
    throw new TypeError('createByokit: `storage` is a Promise: await it first (`await embeddedPostgresStorage(…)`)');
  }
  if (typeof storage !== 'object' || storage === null || typeof storage.countKeysByMasterKeyId !== 'function') {
    throw new TypeError(
      `createByokit: \`storage\` is required: memoryStorage() from @byokit/core for trials, or a storage from @byokit/storage-postgres; got ${kindOfOption(storage)}`,
    );
  }
  if (keyring instanceof Promise) throw new TypeError('createByokit: `keyring` is a Promise: await it first, or pass a KeyProvider');
  if (typeof keyring === 'string') {
    throw new TypeError('createByokit: `keyring` is a string: pass keyringFromEnv(), or parseKeyring(text) for a keyring held elsewhere');
  }
  const usable =
    (typeof keyring === 'object' && keyring !== null && typeof (keyring as Partial<KeyProvider>).loadKeyring === 'function') ||
    isKeyring(keyring);
  if (!usable) {
    throw new TypeError(
      `createByokit: \`keyring\` is required: keyringFromEnv() reads it from BYOKIT_KEYRING, or pass a KeyProvider; got ${kindOfOption(keyring)}`,
    );
  }
}

/** Every option byokit reads, in the order of {@link ByokitOptions}. */
export const BYOKIT_OPTIONS = [
  'storage',
  'keyring',
  'environment',
  'systemKeyVariables',
  'keyCache',
  'logger',
  'now',
  'providers',
  'catalogTtlMs',
  'streamKeepAliveMs',
  'onUsage',
  'rateLimit',
  'concurrentCallsPerUser',
  'fetchHandler',
  'openApi',
] as const satisfies readonly (keyof ByokitOptions)[];
// Fails to compile when ByokitOptions gains an option this list lacks.
const everyOptionListed: Exclude<keyof ByokitOptions, (typeof BYOKIT_OPTIONS)[number]> extends never ? true : never = true;
void everyOptionListed;

/**
 * `keyCache: 30_000` (meant as its lifetime) started with the default cache; refused instead, naming the option.
 * A `logger`, `onUsage` or `now` that is not what byokit calls started byokit all the same, and failed later: the
 * logger at the first line to log (inside a request, in place of the line saying what went wrong), the listener
 * at every usage record.
 */
export function assertObjectOptions(options: ByokitOptions): void {
  if (options.keyCache !== undefined && !isSettingsObject(options.keyCache)) {
    throw new TypeError(`keyCache must be { ttlMs?, maxEntries? }, got ${kindOfOption(options.keyCache)}`);
  }
  // A name byokit does not read (`ttl`, `maxSize`) left the default in place without a word.
  assertSettingNames('keyCache', options.keyCache, KEY_CACHE_SETTINGS);
  // Read by variable name: a string (a .env file's text) or a Map had no variable of that name, and byokit started
  // with no system key without a word.
  if (options.environment != null && !isSettingsObject(options.environment)) {
    throw new TypeError(
      `createByokit: \`environment\` must be an object of variable names and their text (process.env, or your own); got ${kindOfOption(options.environment)}`,
    );
  }
  if (options.fetchHandler !== undefined && !isSettingsObject(options.fetchHandler)) {
    throw new TypeError(`fetchHandler must be { authenticate, prefix? }, got ${kindOfOption(options.fetchHandler)}`);
  }
  // `fallThrough: true` here was overridden: byokit.fetch answers every path (createFetchHandler is the one that falls through).
  assertSettingNames('fetchHandler', options.fetchHandler, ['authenticate', 'prefix'], {
    advice: ' (to fall through to your own routes, mount with createFetchHandler(byokit, { authenticate, fallThrough: true }))',
  });
  if (options.openApi !== undefined && !isSettingsObject(options.openApi)) {
    throw new TypeError(`openApi must be { prefix?, title?, version? }, got ${kindOfOption(options.openApi)}`);
  }
  assertSettingNames('openApi', options.openApi, ['prefix', 'title', 'version']);
  // Written into the document as given: `version: 2` made `"version": 2`, which OpenAPI refuses (info's title and
  // version are strings), and so do the validators and generators a host hands the document to.
  for (const name of ['title', 'version'] as const) {
    const value: unknown = options.openApi?.[name];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new TypeError(`openApi.${name} must be a string, got ${kindOfOption(value)}`);
    }
  }
  // Here, with the others, rather than where the fetch handler and the OpenAPI route are made: that is after storage
  // is read and the keep-alive interval started, and a start refused there had read storage (with the database down,
  // its error was the one shown) and left the interval running for the life of the process.
  if (options.fetchHandler !== undefined) authenticateOption(options.fetchHandler.authenticate);
  // normalisePrefix checks its type too (plain JavaScript).
  for (const prefix of [options.fetchHandler?.prefix, options.openApi?.prefix]) if (prefix !== undefined) normalisePrefix(prefix as string);
  if (options.logger !== undefined) assertLogger(options.logger);
  if (options.onUsage !== undefined && typeof options.onUsage !== 'function') {
    throw new TypeError(
      `createByokit: \`onUsage\` must be a function, called with each usage record; got ${kindOfOption(options.onUsage)}`,
    );
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError(`createByokit: \`now\` must be a function returning a Date; got ${kindOfOption(options.now)}`);
  }
}

/**
 * A reading of the host's `now` as a Date of byokit's own (see where createByokit reads it). A clock giving anything
 * else refused nothing: `now: Date.now` (milliseconds) failed the start as "hostNow(...).getTime is not a function",
 * and one giving an invalid Date (`new Date(process.env.FAKE_NOW)` with the variable unset) started, dating each
 * call NaN, which no month holds (a budget's check, a usage record). Known by its kind rather than `instanceof`, as a
 * Date of another realm is one all the same.
 *
 * @throws TypeError naming the option and what the clock gave.
 */
export function clockReading(reading: unknown): Date {
  const isDate = Object.prototype.toString.call(reading) === '[object Date]';
  const time = isDate ? Date.prototype.getTime.call(reading) : Number.NaN;
  if (Number.isNaN(time)) {
    const got = isDate ? 'an invalid Date' : kindOfOption(reading);
    throw new TypeError(`createByokit: \`now\` must be a function returning a Date; it returned ${got}`);
  }
  return new Date(time);
}

/**
 * The variables system keys are read from: the host's names over the defaults, a name given as `undefined` (a
 * configuration's unset one) leaving its default, as every option does. Spread as it was, `{ anthropic: undefined }`
 * read no Anthropic system key at all, and `{ gemini: 'GEMINI_API_KEY' }` (Google's SDK's name) was ignored: both
 * without a word, every call then refused `api_key_required` for want of a key that is set.
 *
 * @throws TypeError naming what is wrong: not an object, a provider byokit does not know, or a name that is not text.
 */
export function systemKeyVariablesOf(option: ByokitOptions['systemKeyVariables']): SystemKeyVariables {
  if (option === undefined) return DEFAULT_SYSTEM_KEY_VARIABLES;
  if (!isSettingsObject(option)) {
    throw new TypeError(
      `systemKeyVariables must be ${optionalSettingsShape(PROVIDERS)}, each the name of an environment variable; got ${kindOfOption(option)}`,
    );
  }
  assertSettingNames('systemKeyVariables', option, PROVIDERS, { noun: 'provider' });
  const variables = { ...DEFAULT_SYSTEM_KEY_VARIABLES };
  for (const provider of PROVIDERS) {
    const variable: unknown = option[provider];
    if (variable === undefined) continue;
    if (typeof variable !== 'string' || variable === '') {
      const got = variable === '' ? 'an empty string' : kindOfOption(variable);
      throw new TypeError(`systemKeyVariables.${provider} must be the name of an environment variable, got ${got}`);
    }
    // The value where its name goes (process.env.GEMINI_API_KEY for 'GEMINI_API_KEY'): refused, never quoted, as every
    // line that names a system key's variable would write the key in the log.
    if (holdsSecret(variable)) {
      throw new TypeError(
        `systemKeyVariables.${provider} must be the name of an environment variable, got what looks like a key: pass the name of the variable that holds it ('GEMINI_API_KEY'), not its value (process.env.GEMINI_API_KEY)`,
      );
    }
    variables[provider] = variable;
  }
  return variables;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const KEY_CACHE_SETTINGS = ['ttlMs', 'maxEntries'];
const RATE_LIMIT_SETTINGS = ['requestsPerMinute', 'burst', 'maxUsers'];

/**
 * A logger byokit can write to: pino's four methods, and `isLevelEnabled` a function when it is there. An object, or a
 * function carrying them (Roarr's `log` is one, called `log.info(context, message)` as pino is).
 */
function assertLogger(logger: unknown): void {
  const problem = (() => {
    if ((typeof logger !== 'object' && typeof logger !== 'function') || logger === null) return kindOfOption(logger);
    const methods = logger as Record<string, unknown>;
    const missing = LOG_LEVELS.find((level) => typeof methods[level] !== 'function');
    if (missing !== undefined) return `${kindOfOption(logger)} without ${missing}`;
    if (methods.isLevelEnabled !== undefined && typeof methods.isLevelEnabled !== 'function') {
      return `${kindOfOption(logger)} whose isLevelEnabled is not a function`;
    }
    return undefined;
  })();
  if (problem !== undefined) {
    throw new TypeError(
      `createByokit: \`logger\` must be a pino-compatible logger, with debug, info, warn and error functions; got ${problem}`,
    );
  }
}

/**
 * What a host's `KeyProvider` loaded, checked as `keyring` itself is: a provider that resolved to nothing (a
 * `loadKeyring` that forgot to return) or to the keyring's text started byokit whenever storage held no key yet,
 * and every key saved then failed with a 500.
 */
export function loadedKeyring(loaded: unknown): Keyring {
  if (isKeyring(loaded)) return loaded;
  // Never the value itself: the keyring's text is the master keys.
  const advice =
    typeof loaded === 'string' ? "parseKeyring(text) for a keyring's text" : 'keyringFromEnv(), parseKeyring(text) or Keyring.from(keys)';
  throw new TypeError(`createByokit: the KeyProvider's loadKeyring() resolved to ${kindOfOption(loaded)}: return ${advice}`);
}

/** A keyring, known by its shape rather than `instanceof`: a host may make it through another copy of this package. */
function isKeyring(value: unknown): value is Keyring {
  const candidate = value as Partial<Keyring> | null | undefined;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.primaryId === 'string' &&
    typeof candidate.has === 'function' &&
    typeof candidate.keyFor === 'function' &&
    typeof candidate.primaryKey === 'function'
  );
}

/**
 * The host's limiter as is, or an in-memory one on byokit's clock for the plain settings.
 *
 * @throws TypeError when the option is neither (`rateLimit: 60` read from the environment, or null).
 */
export function rateLimiterOf(option: ByokitOptions['rateLimit'], now: () => Date): RateLimiter | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'object' || option === null) {
    throw new TypeError(
      `createByokit: \`rateLimit\` must be { requestsPerMinute, burst? } or a RateLimiter (an object with take(userId)); got ${kindOfOption(option)}`,
    );
  }
  if ('take' in option && typeof option.take === 'function') return option;
  // Every name is one memoryRateLimiter reads: `maxUsers`, which it takes, was dropped here, and a typo (`brust`) too.
  assertSettingNames('rateLimit', option, RATE_LIMIT_SETTINGS, { advice: ' (or pass a RateLimiter, an object with take(userId))' });
  const { requestsPerMinute, burst, maxUsers } = option as { requestsPerMinute: number; burst?: number; maxUsers?: number };
  return memoryRateLimiter({
    requestsPerMinute,
    ...(burst !== undefined && { burst }),
    ...(maxUsers !== undefined && { maxUsers }),
    now: () => now().getTime(),
  });
}

export async function assertKeyringOpensStorage(keyring: Keyring, storage: Storage): Promise<void> {
  const counts = await storage.countKeysByMasterKeyId();
  for (const [keyId, rows] of counts) {
    if (rows === 0 || keyring.has(keyId)) continue;
    // Both ways here are common: an old key dropped too soon, and a rotation whose new key never reached this
    // keyring. The advice for one undoes the other, so the message gives both.
    const what = keyring.retiredIds.includes(keyId)
      ? `which the keyring marks retired. Take '${keyId}' off the retired list`
      : `which the keyring lacks. If '${keyId}' is the key you rotated to, put it first in the keyring, as primary; if it is an older one, add it back (not first)`;
    throw new ByokitError(
      'keyring_invalid',
      `${rows} stored key(s) are sealed with master key id '${keyId}', ${what}, and run the re-encryption (byokit rotate-keys) until no row is left on any key but the primary.`,
    );
  }
  // The ids match; now the bytes: a key generated again under a stored id opens none of its rows.
  await assertMasterKeysSealedStoredKeys(keyring, storage, counts);
}
