/**
 * The providers whose keys byokit stores, in the order the contract lists them. Frozen, as the other constants the
 * package exports: every byokit in the process orders, checks and forgets by this one array, which a host's
 * `PROVIDERS.sort()` (JavaScript does not hold it to `readonly`) changed for all of them.
 */
export const PROVIDERS = Object.freeze(['anthropic', 'openai', 'google'] as const);

/**
 * A provider byokit calls and keeps keys for, by its id in the contract: `anthropic`, `openai` or `google`
 * ({@link PROVIDERS}).
 */
export type Provider = (typeof PROVIDERS)[number];

/** True when `value` is one of {@link PROVIDERS} (exact, case-sensitive: ids come from our own contract). */
export function isProvider(value: unknown): value is Provider {
  return typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value);
}

/**
 * `build(provider)` under each provider's id, in {@link PROVIDERS}' order (the order of every list the contract
 * shows); with `name`, under the name it gives each provider (`has_anthropic_key`…).
 */
export function mapProviders<Value>(build: (provider: Provider) => Value): Record<Provider, Value>;
export function mapProviders<Name extends string, Value>(
  build: (provider: Provider) => Value,
  name: (provider: Provider) => Name,
): Record<Name, Value>;
export function mapProviders<Value>(
  build: (provider: Provider) => Value,
  name: (provider: Provider) => string = (provider) => provider,
): Record<string, Value> {
  return Object.fromEntries(PROVIDERS.map((provider) => [name(provider), build(provider)]));
}

/** How each provider is named in messages shown to people. */
export const PROVIDER_LABELS: Readonly<Record<Provider, string>> = Object.freeze({
  anthropic: 'Anthropic',
  openai: 'OpenAI',
  google: 'Google',
});
