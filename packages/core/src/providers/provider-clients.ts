import type { ProviderLimits } from '../chat/chat-limits.js';
import type { Provider } from '../keys/providers.js';
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

/** Host settings per provider; each field falls back to the default. */
export type ProvidersSettings = Partial<Record<Provider, Partial<ProviderSettings>>>;

/** One client per provider, built once at start-up. */
export function createProviderClients(settings: ProvidersSettings = {}): Record<Provider, ProviderClient> {
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
