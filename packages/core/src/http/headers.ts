import { ByokitError } from '../errors.js';
import { holdsSecret } from '../keys/scrub-secrets.js';
import type { RequestHeaders } from './types.js';

/** One header's value from either header form; the first one when a header is repeated. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The body length a request declares, undefined when it declares none: digits only (RFC 9110 §8.6, `1*DIGIT`), and a
 * list of one length repeated is that length (RFC 9112 §6.3). Anything else is refused, as Node's own parser does, for
 * an in-process request carries what its caller wrote: read with Number(), `0x18` was 24, `2.4e1` 24, `` 0 (the body
 * "empty"), and a body declared `0x0` on a route that takes none was ignored (`DELETE /users/me/api-key` removed every
 * key, not the one its body named).
 */
export function declaredLength(headers: RequestHeaders): number | undefined {
  const declared = headerValue(headers, 'content-length');
  if (declared === undefined) return undefined;
  // String(): a host in plain JavaScript may hand over a number, which is a length as it is.
  const text = String(declared);
  // The one length every client sends, read without splitting (the chat path asks on every request).
  if (DIGITS.test(text)) return Number(text);
  const lengths = text.split(',').map((length) => length.trim());
  if (!lengths.every((length) => DIGITS.test(length) && Number(length) === Number(lengths[0]))) {
    throw new ByokitError('invalid_json', "The request's Content-Length is not a length: send it as digits only (RFC 9110 §8.6).");
  }
  return Number(lengths[0]);
}

const DIGITS = /^\d+$/;

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The caller's `x-request-id` when it is sane (short, no spaces or control characters, nothing that looks like a
 * provider key), else a new one. A key sent as the id, by a client that put it in the wrong header, would be
 * echoed into the answer, the logs, the audit trail and usage records (spec/security.md).
 */
export function requestIdOf(headers: RequestHeaders): string {
  const sent = headerValue(headers, 'x-request-id');
  return sent !== undefined && isSaneRequestId(sent) ? sent : crypto.randomUUID();
}

/** Whether a request id may be kept and echoed as it is: the rule of {@link requestIdOf}, for ids given in code too. */
export function isSaneRequestId(text: string): boolean {
  return SANE_REQUEST_ID.test(text) && !holdsSecret(text);
}
