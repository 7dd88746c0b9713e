import { ERROR_STATUS, isByokitError, type ByokitError, type ErrorCode, type ValidationIssue } from '../errors.js';
import type { Provider } from '../keys/providers.js';
import { loggableError, loggableText, type Logger } from '../logging/logger.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { ByokitResponse } from './types.js';

/** Codes that speak of our own internals: the client sees `internal_error`, the log sees the rest. */
export const INTERNAL_CODES: ReadonlySet<ErrorCode> = new Set(['internal_error', 'key_decrypt_failed', 'keyring_invalid']);

/** Headers every byokit response carries. */
export function baseHeaders(requestId: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-request-id': requestId,
  };
}

/** What a client may see of an error: its status, stable code, message, and the safe details it carries. */
export interface PublicError {
  status: number;
  code: ErrorCode;
  message: string;
  provider?: Provider;
  keySource?: KeySource;
  issues?: ValidationIssue[];
}

/**
 * Writes a public error as a response body. The contract's shape is the default ({@link contractErrorBody});
 * a route may answer in another API's shape (the OpenAI-compatible routes), with the same status and headers.
 */
export type ErrorBodyFormat = (error: PublicError, requestId: string) => unknown;

/** The contract's error body (spec/http-api.md, errors). */
export const contractErrorBody: ErrorBodyFormat = (error, requestId) => ({
  error: {
    code: error.code,
    message: error.message,
    ...(error.provider && { provider: error.provider }),
    ...(error.keySource && { key_source: error.keySource }),
    ...(error.issues && { issues: error.issues }),
    request_id: requestId,
  },
});

/**
 * The longest `Retry-After` a client should sit out inside one call. Past it, `x-should-retry: false` tells the
 * `openai` client (and other Stainless-made SDKs) to raise the 429 at once: the TypeScript client sleeps whatever
 * `Retry-After` says (an hour's wait held an app's call for an hour, twice), and the Python one retries a wait past
 * 60 s after a few seconds, only to be refused again. 60 s is the Python client's own bound.
 */
export const LONGEST_WAIT_TO_RETRY_SECONDS = 60;

/**
 * Turns anything thrown while handling a request into the contract's error response, once, for every
 * adapter (spec/http-api.md, errors). A client error says what to fix; anything else is logged with the
 * request id and answered with a body that says nothing more. `format` writes the body; the status,
 * headers (`Retry-After`, `x-should-retry`) and what is kept back are the same whatever the format.
 */
export function errorResponse(
  error: unknown,
  requestId: string,
  logger: Logger,
  format: ErrorBodyFormat = contractErrorBody,
): ByokitResponse {
  if (isByokitError(error) && !INTERNAL_CODES.has(error.code) && hasErrorStatus(error)) {
    const { provider, issues, keySource, retryAfterSeconds, retryable, model } = error.details;
    const body = format(
      {
        status: error.status,
        code: error.code,
        message: error.message,
        ...(provider && { provider }),
        ...(keySource && { keySource }),
        ...(issues && { issues }),
      },
      requestId,
    );
    const headers = baseHeaders(requestId);
    // RFC 9110 §11.6.1: a 401 MUST carry a challenge. Bearer, the scheme the API description declares: a browser shows
    // no sign-in dialog for it, as it does for Basic, and a host whose auth is a cookie loses nothing by it.
    if (error.status === 401) headers['www-authenticate'] = 'Bearer';
    // Whole seconds, at least 1, as byokit's own rate limit gives: `Retry-After: 0` (a provider's, or a date
    // already past) invites a client's hot loop.
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
    if (retryable === false || (retryAfterSeconds ?? 0) > LONGEST_WAIT_TO_RETRY_SECONDS) headers['x-should-retry'] = 'false';
    // A stored key that does not open is its owner's to enter again, and also the operator's to hear of: the
    // cause names the row and the master key id (a keyring that changed under an id fails every key sealed by it).
    // So is the system key refused by its provider (revoked, its account out of credit): every call on it fails until
    // the host puts it right, and only the host can. A user's own key refused is that user's to hear of, and is not
    // logged. The provider and status as fields, to filter and alert on; the message escaped, as it may quote a
    // provider's words, and they a client's text.
    const systemKeyRefused = error.code === 'provider_key_rejected' && keySource === 'system';
    // The system key rate limited refuses every user without a key of their own while it lasts, and only the
    // host can raise the limit; a warning, as it passes by itself. A user's own key limited is theirs alone.
    if (error.code === 'provider_rate_limited' && keySource === 'system') {
      logger.warn(
        {
          requestId,
          code: error.code,
          status: error.status,
          provider,
          ...(model && { model: loggableText(model) }),
          keySource,
          ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
          // The provider's own words, which the user is not shown (chat/caller-error.ts, callerError).
          err: loggableError(error),
        },
        loggableText(error.message),
      );
    }
    if (error.status >= 500 || error.code === 'key_unreadable' || systemKeyRefused) {
      logger.error(
        {
          requestId,
          code: error.code,
          status: error.status,
          ...(provider && { provider }),
          ...(model && { model: loggableText(model) }),
          ...(keySource && { keySource }),
          err: loggableError(error),
        },
        loggableText(error.message),
      );
    }
    return { status: error.status, headers, body: JSON.stringify(body) };
  }
  logger.error({ requestId, ...(isByokitError(error) && { code: error.code }), err: loggableError(error) }, 'request failed');
  const body = format(
    { status: 500, code: 'internal_error', message: 'Internal error. Quote the request id if you report it.' },
    requestId,
  );
  return { status: 500, headers: baseHeaders(requestId), body: JSON.stringify(body) };
}

/**
 * Whether a ByokitError is one of byokit's codes, with an error's status: a host's code may throw one (its storage's
 * `storage_unavailable`), and in plain JavaScript nothing checks its code. A misspelt one (`storage_unavailble`) had no
 * status: the fetch handler answered it `200` with the error's body, and Node's `writeHead` threw on it, so the Node
 * handler rejected (Express's own 500 page) and nothing was logged. Such an error is an internal error instead.
 */
function hasErrorStatus(error: ByokitError): boolean {
  if (!Object.hasOwn(ERROR_STATUS, error.code)) return false;
  const status: unknown = error.status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599;
}
