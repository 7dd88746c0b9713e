import { holdsSecret } from '../keys/scrub-secrets.js';
import type { RequestHeaders } from './types.js';

/** One header's value from either header form; the first one when a header is repeated. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

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
