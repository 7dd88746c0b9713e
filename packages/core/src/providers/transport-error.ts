import { ByokitError } from '../errors.js';
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
  const code = codeOf(error);
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new ByokitError('provider_timeout', `The ${label} API did not answer in time.`, { provider }, { cause: error });
  }
  return new ByokitError('provider_unavailable', `The ${label} API ${what}.`, { provider }, { cause: error });
}

/**
 * The failure's `code`, or undefined when it has none or it cannot be read. A host's dispatcher may fail with anything
 * (a revoked proxy, an object whose `code` getter throws): a read that threw went, mid-stream, back into the
 * dispatcher, and the stream was left open; before the answer, it was the caller's error, unscrubbed, in place of
 * `provider_unavailable` (an error of the getter's own may quote the request's headers, key and all).
 */
function codeOf(error: unknown): unknown {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return undefined;
  try {
    return (error as { code?: unknown }).code;
  } catch {
    return undefined;
  }
}
