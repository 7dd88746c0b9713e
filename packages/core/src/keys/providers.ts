/**
 * The providers whose keys byokit stores, in the order the contract lists them. Frozen, as the other constants the
 * package exports: every byokit in the process orders, checks and forgets by this one array, which a host's
 * `PROVIDERS.sort()` (JavaScript does not hold it to `readonly`) changed for all of them.
 */
export const PROVIDERS = Object.freeze(['anthropic', 'openai', 'google'] as const);

/** One of {@link PROVIDERS}. */
export type Provider = (typeof PROVIDERS)[number];

/** True when `value` is one of {@link PROVIDERS} (exact, case-sensitive: ids come from our own contract). */
export function isProvider(value: unknown): value is Provider {
  return typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value);
}

/** How each provider is named in messages shown to people. */
export const PROVIDER_LABELS: Readonly<Record<Provider, string>> = Object.freeze({
  anthropic: 'Anthropic',
  openai: 'OpenAI',
  google: 'Google',
});
