import { ByokitError } from '../errors.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { holdsSecret } from '../keys/scrub-secrets.js';

/**
 * What every call asks for: an answer as it is, uncompressed. byokit reads answers as they arrive and decompresses
 * none; a request without Accept-Encoding takes any content coding (RFC 9110 §12.5.3), so a proxy or gateway on the
 * way could compress an answer that byokit then could not read (a plain one "not JSON", a stream "cut off").
 */
export const ACCEPT_ENCODING = { name: 'accept-encoding', value: 'identity' } as const;

/** A content coding short enough and plain enough to name in an error; anything else, or one holding a key, is not quoted. */
const NAMEABLE_CODING = /^[a-z0-9][a-z0-9._+-]{0,31}$/i;

/**
 * For a 2xx answer that came compressed all the same (a proxy that ignores Accept-Encoding, or a host's header that
 * asked for it: `hostAsks`): a `provider_error` that says so, and which of the two, rather than the undecodable body
 * read as not JSON or as a stream cut short. Undefined when the answer is as sent (no `Content-Encoding`, or `identity`).
 */
export function compressedAnswerError(
  provider: Provider,
  headers: Record<string, string | string[] | undefined>,
  hostAsks = false,
): ByokitError | undefined {
  const header = headers['content-encoding'];
  if (header === undefined) return undefined;
  const codings = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return undefined;
  const named = codings.every((coding) => NAMEABLE_CODING.test(coding) && !holdsSecret(coding))
    ? ` (content-encoding: ${codings.join(', ')})`
    : '';
  // The host's own Accept-Encoding is sent as given: then the provider did as asked, and the fix is that setting.
  const why = hostAsks
    ? `, as the Accept-Encoding in the ${provider} provider's headers asks: leave that header out, and byokit asks for an uncompressed answer.`
    : ': a proxy or gateway on the way compressed it although byokit asks for none.';
  return new ByokitError(
    'provider_error',
    `The ${PROVIDER_LABELS[provider]} API sent its answer compressed${named}, which byokit does not read${why}`,
    { provider, retryable: false },
  );
}

/** Whether the host's own headers ask for a compressed answer: an Accept-Encoding, in any case, other than `identity`. */
export function asksForCoding(headers: Record<string, string>): boolean {
  return Object.entries(headers).some(
    ([name, value]) => name.toLowerCase() === ACCEPT_ENCODING.name && value.trim().toLowerCase() !== ACCEPT_ENCODING.value,
  );
}
