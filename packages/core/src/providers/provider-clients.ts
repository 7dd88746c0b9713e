import type { ProviderLimits } from '../chat/chat-limits.js';
import { PROVIDERS, type Provider } from '../keys/providers.js';
import { assertSettingNames, isSettingsObject, kindOfOption, optionalSettingsShape } from '../host-option-checks.js';
import { ANTHROPIC_LIMITS, anthropicClient } from './anthropic/anthropic-client.js';
import { GOOGLE_LIMITS, googleClient } from './google/google-client.js';
import { OPENAI_LIMITS, openaiClient } from './openai/openai-client.js';
import type { ProviderClient, ProviderSettings } from './provider-types.js';

/** Each provider's own API, as its SDK names it (the SDK's meaning of the base URL). */
export const DEFAULT_BASE_URLS: Readonly<Record<Provider, string>> = Object.freeze({
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
  google: 'https://generativelanguage.googleapis.com',
});

/** Host settings per provider; a provider or a field left out, or `undefined`, falls back to the default. */
export type ProvidersSettings = {
  [P in Provider]?: { [Setting in keyof ProviderSettings]?: ProviderSettings[Setting] | undefined } | undefined;
};

/** One client per provider, built once at start-up. */
export function createProviderClients(settings: ProvidersSettings = {}): Record<Provider, ProviderClient> {
  assertProviderSettingNames(settings);
  const resolved = (provider: Provider): ProviderSettings => ({
    ...settings[provider],
    baseUrl: settings[provider]?.baseUrl ?? DEFAULT_BASE_URLS[provider],
  });
  return {
    anthropic: anthropicClient(resolved('anthropic')),
    openai: openaiClient(resolved('openai')),
    google: googleClient(resolved('google')),
  };
}

/** What each provider accepts, for the checks before a call. */
export const PROVIDER_LIMITS: Readonly<Record<Provider, ProviderLimits>> = Object.freeze({
  anthropic: ANTHROPIC_LIMITS,
  openai: OPENAI_LIMITS,
  google: GOOGLE_LIMITS,
});

const SETTING_NAMES = ['baseUrl', 'timeoutMs', 'retries', 'headers', 'dispatcher'];

/**
 * Every name in the host's provider settings is one byokit reads. A name it does not read was ignored without a
 * word: `baseURL` (the openai client's spelling) or a misspelt provider left calls on the provider's public API,
 * past the gateway or proxy the host meant them to go through.
 */
function assertProviderSettingNames(settings: unknown): void {
  if (!isSettingsObject(settings))
    throw new TypeError(`providers must be ${optionalSettingsShape(PROVIDERS)}, got ${kindOfOption(settings)}`);
  assertSettingNames('providers', settings, PROVIDERS, { noun: 'provider' });
  for (const [provider, own] of Object.entries(settings)) {
    if (own === undefined) continue;
    if (!isSettingsObject(own)) {
      throw new TypeError(`providers.${provider} must be ${optionalSettingsShape(SETTING_NAMES)}, got ${kindOfOption(own)}`);
    }
    assertSettingNames(`providers.${provider}`, own, SETTING_NAMES);
  }
}
