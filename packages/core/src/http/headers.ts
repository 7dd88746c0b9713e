import type { RequestHeaders } from './types.js';

/** One header's value from either header form; the first one when a header is repeated. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when it is sane (short, no spaces or control characters), else a new one. */
export function requestIdOf(headers: RequestHeaders): string {
  const sent = headerValue(headers, 'x-request-id');
  return sent !== undefined && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
}
