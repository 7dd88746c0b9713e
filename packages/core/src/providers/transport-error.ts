import { ByokitError, fieldOf } from '../errors.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import type { Cancellation } from '../http/request-abort.js';

/** undici's codes for a wait that ran out: for the answer's headers, or between two pieces of its body. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * What a failure of the connection means to the caller: their own abort is given back as its reason (not the
 * provider's failure), a timeout is `provider_timeout`, anything else `provider_unavailable`. `what` ends the
 * message: "The OpenAI API {what}."
 */
export function transportError(error: unknown, provider: Provider, signal: Cancellation | undefined, what: string): unknown {
  if (signal?.aborted) return signal.reason;
  const label = PROVIDER_LABELS[provider];
  // A host's dispatcher may fail with anything (a revoked proxy, a `code` getter that throws): a read that threw went,
  // mid-stream, back into the dispatcher, and the stream was left open.
  const code = fieldOf(error, 'code');
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new ByokitError('provider_timeout', `The ${label} API did not answer in time.`, { provider }, { cause: error });
  }
  return new ByokitError('provider_unavailable', `The ${label} API ${what}.`, { provider }, { cause: error });
}
