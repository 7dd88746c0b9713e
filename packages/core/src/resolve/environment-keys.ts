import type { Keyring } from '../crypto/keyring.js';
import { isByokitError } from '../errors.js';
import { kindOfOption } from '../host-option-checks.js';
import { parseProviderKey } from '../keys/key-formats.js';
import { isPlaceholderKey } from '../keys/placeholders.js';
import { PROVIDER_LABELS, PROVIDERS, type Provider } from '../keys/providers.js';
import type { SecretKey } from '../keys/secret-key.js';
import type { Logger } from '../logging/logger.js';
import { SYSTEM_OWNER, type Storage } from '../storage/storage.js';
import { openStoredKey } from './key-resolver.js';

/** Names of the environment variables that hold system keys, per provider. */
export type SystemKeyVariables = Record<Provider, string>;

/**
 * The variables byokit reads each provider's system key from unless `systemKeyVariables` names others: the guide's
 * `.env` names.
 */
export const DEFAULT_SYSTEM_KEY_VARIABLES: SystemKeyVariables = Object.freeze({
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_API_KEY',
});

/**
 * Names other tools read a provider's key from, which byokit does not unless told to (`systemKeyVariables`): Google's
 * Gemini docs and its SDK use `GEMINI_API_KEY`, the Vercel AI SDK `GOOGLE_GENERATIVE_AI_API_KEY`. A key left there
 * alone was no system key, and nothing said so.
 */
const OTHER_TOOLS_NAMES: Readonly<Record<Provider, readonly string[]>> = {
  anthropic: [],
  openai: [],
  google: ['GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'],
};

/**
 * Reads system keys from the environment once, at start-up. A placeholder (a `.env` still holding
 * `sk-ant-YOUR-KEY-HERE`) or a value in the wrong format counts as absent, with a warning that names the
 * variable and the reason but shows nothing of the value.
 */
export function readSystemKeysFromEnvironment(
  environment: Record<string, string | undefined>,
  variables: SystemKeyVariables,
  logger: Logger,
): Partial<Record<Provider, SecretKey>> {
  const keys: Partial<Record<Provider, SecretKey>> = {};
  for (const provider of PROVIDERS) {
    const variable = variables[provider];
    const raw = variableText(environment, variable);
    if (raw === undefined || raw.trim() === '') {
      warnOfOtherToolsNames(environment, provider, variable, logger);
      continue;
    }
    if (isPlaceholderKey(raw.trim())) {
      logger.warn({ variable, provider }, `${variable} holds a placeholder, not a key: ignored`);
      continue;
    }
    try {
      keys[provider] = parseProviderKey(provider, raw);
    } catch (error) {
      if (!isByokitError(error)) throw error;
      logger.warn({ variable, provider, code: error.code }, `${variable} is not a usable ${provider} key: ignored (${error.message})`);
    }
  }
  return keys;
}

/**
 * A variable's text, or undefined when unset (null too, as a configuration's unset value). A value of another type (a
 * parsed configuration's number) failed the start as "raw.trim is not a function", naming nothing: it refuses the
 * start naming the variable, and never quoting its value.
 */
function variableText(environment: Record<string, string | undefined>, name: string): string | undefined {
  const value: unknown = environment[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  throw new TypeError(`createByokit: environment.${name} must be text (a variable's value), got ${kindOfOption(value)}`);
}

/** Warns of a provider's key in a variable another tool reads, when byokit's own for it is not set: never its value. */
function warnOfOtherToolsNames(
  environment: Record<string, string | undefined>,
  provider: Provider,
  variable: string,
  logger: Logger,
): void {
  for (const name of OTHER_TOOLS_NAMES[provider]) {
    if (name === variable || !variableText(environment, name)?.trim()) continue;
    logger.warn(
      { variable: name, provider },
      `${name} is set, but byokit reads the ${PROVIDER_LABELS[provider]} system key from ${variable}, which is not: there is no ` +
        `${PROVIDER_LABELS[provider]} system key. Name it ${variable}, or pass systemKeyVariables: { ${provider}: '${name}' } to createByokit.`,
    );
  }
}

/**
 * Warns, at start, of each system key variable that a different system key stored through the API overrides (the
 * database's wins: spec/http-api.md, "System keys"), naming the variable and both keys by their hints only. An admin
 * who put a new key in `.env`, the old one revoked, and restarted found every call still made with the stored key,
 * and nothing said why. A stored key that is a placeholder is not used, nor one that does not open: it is said so
 * where it is used.
 */
export async function warnOfOverriddenEnvironmentKeys(
  storage: Storage,
  keyring: Keyring,
  environmentKeys: Partial<Record<Provider, SecretKey>>,
  variables: SystemKeyVariables,
  logger: Logger,
): Promise<void> {
  if (!PROVIDERS.some((provider) => environmentKeys[provider] !== undefined)) return;
  for (const row of await storage.listKeys(SYSTEM_OWNER)) {
    const fromEnvironment = environmentKeys[row.provider];
    if (fromEnvironment === undefined) continue;
    let storedKey: string;
    try {
      storedKey = openStoredKey(keyring, row.envelope, row.owner, row.provider);
    } catch (error) {
      if (isByokitError(error) && error.code === 'key_unreadable') continue;
      throw error;
    }
    if (isPlaceholderKey(storedKey) || storedKey === fromEnvironment.reveal()) continue;
    const variable = variables[row.provider];
    logger.warn(
      { variable, provider: row.provider, storedHint: row.hint, environmentHint: fromEnvironment.hint },
      `${variable} is set, but the system ${PROVIDER_LABELS[row.provider]} key stored through the API (${row.hint}) is used ` +
        `instead of its key (${fromEnvironment.hint}): remove the stored one (DELETE /admin/api-key?provider=${row.provider}) ` +
        `to use ${variable}.`,
    );
  }
}
