import { ByokitError } from '../errors.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import type { SecretKey } from '../keys/secret-key.js';

/**
 * The key's value, for its provider's request header only. A key of another provider is refused with nothing
 * sent: a mistake upstream of a client (the wrong key picked) would otherwise disclose a user's key to a third party.
 */
export function revealedFor(provider: Provider, key: SecretKey): string {
  if (key.provider !== provider) {
    throw new ByokitError(
      'internal_error',
      `A ${PROVIDER_LABELS[key.provider]} key was handed to the ${PROVIDER_LABELS[provider]} client; it was not sent.`,
    );
  }
  return key.reveal();
}
