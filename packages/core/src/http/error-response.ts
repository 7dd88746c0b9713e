import { isByokitError, type ErrorCode } from '../errors.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import type { Logger } from '../logging/logger.js';
import type { ByokitResponse } from './types.js';

/** Codes that speak of our own internals: the client sees `internal_error`, the log sees the rest. */
const INTERNAL_CODES: ReadonlySet<ErrorCode> = new Set(['internal_error', 'key_decrypt_failed', 'keyring_invalid']);

/** Headers every byokit response carries. */
export function baseHeaders(requestId: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  };
}

/**
 * Turns anything thrown while handling a request into the contract's error response, once, for every
 * adapter (spec/http-api.md, errors). A client error says what to fix; anything else is logged with the
 * request id and answered with a body that says nothing more.
 */
export function errorResponse(error: unknown, requestId: string, logger: Logger): ByokitResponse {
  if (isByokitError(error) && !INTERNAL_CODES.has(error.code)) {
    const { provider, issues, keySource, retryAfterSeconds } = error.details;
    const body = {
      error: {
        code: error.code,
        message: error.message,
        ...(provider && { provider }),
        ...(keySource && { key_source: keySource }),
        ...(issues && { issues }),
        request_id: requestId,
      },
    };
    const headers = baseHeaders(requestId);
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(0, Math.ceil(retryAfterSeconds)));
    if (error.status >= 500) logger.error({ requestId, code: error.code, cause: describe(error.cause) }, error.message);
    return { status: error.status, headers, body: JSON.stringify(body) };
  }
  logger.error({ requestId, ...(isByokitError(error) && { code: error.code }), error: describe(error) }, 'request failed');
  const body = {
    error: { code: 'internal_error', message: 'Internal error. Quote the request id if you report it.', request_id: requestId },
  };
  return { status: 500, headers: baseHeaders(requestId), body: JSON.stringify(body) };
}

/** An error as loggable text, scrubbed of anything that looks like a key (errors from below may echo one). */
function describe(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  const text = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
  return scrubSecrets(text);
}

/** A JSON error response for a code and message, outside the normal throw path. */
export function errorBody(code: ErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message, request_id: requestId } });
}
