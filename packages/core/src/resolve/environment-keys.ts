import { isByokitError } from '../errors.js';
import { parseProviderKey } from '../keys/key-formats.js';
import { isPlaceholderKey } from '../keys/placeholders.js';
import { PROVIDERS, type Provider } from '../keys/providers.js';
import type { SecretKey } from '../keys/secret-key.js';
import type { Logger } from '../logging/logger.js';

/** Names of the environment variables that hold system keys, per provider. */
export type SystemKeyVariables = Record<Provider, string>;

/** The guide's `.env` names. */
export const DEFAULT_SYSTEM_KEY_VARIABLES: SystemKeyVariables = Object.freeze({
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_API_KEY',
});

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
    const raw = environment[variable];
    if (raw === undefined || raw.trim() === '') continue;
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
