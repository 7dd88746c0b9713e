import { ByokitError } from '../../errors.js';
import { upstreamDetail } from '../upstream-text.js';
import type { UpstreamErrorInfo } from '../upstream-error.js';
import { googleErrorSchema, type GoogleErrorBody } from './google-api.js';

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * `ErrorInfo.reason`s that mean "this key is no good". Google answers a wrong key with HTTP 400
 * INVALID_ARGUMENT, not 401 (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes), so the
 * status alone would call it a bad request.
 */
const KEY_REJECTION_REASONS: ReadonlySet<string> = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED']);

function parseErrorBody(body: unknown): GoogleErrorBody['error'] | undefined {
  const parsed = googleErrorSchema.safeParse(body);
  return parsed.success ? parsed.data.error : undefined;
}

/**
 * Reads Google's error body for `ProviderHttp`: the message (ProviderHttp scrubs it) and the delay of a
 * `google.rpc.RetryInfo` detail. Never the rest of the body: a `DebugInfo` detail can echo the key.
 */
export function readGoogleError(body: unknown): UpstreamErrorInfo {
  const error = parseErrorBody(body);
  if (error === undefined) return {};
  const retryDelay = error.details?.find((detail) => detail['@type'] === RETRY_INFO)?.retryDelay;
  const retryAfterSeconds = retryDelay === undefined ? undefined : durationSeconds(retryDelay);
  return {
    ...(error.message !== undefined && { message: error.message }),
    ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
    // Google answers a wrong key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID
    // (https://ai.google.dev/gemini-api/docs/troubleshooting): a key refusal all the same.
    ...(isGoogleKeyRejection(body) && { keyRejected: true }),
  };
}

/** True when the body says the key itself was refused (an `ErrorInfo` with reason `API_KEY_INVALID` or `API_KEY_EXPIRED`). */
export function isGoogleKeyRejection(body: unknown): boolean {
  const details = parseErrorBody(body)?.details ?? [];
  return details.some(
    (detail) => detail['@type'] === ERROR_INFO && detail.reason !== undefined && KEY_REJECTION_REASONS.has(detail.reason),
  );
}

/**
 * A `google.protobuf.Duration` in JSON ("34.4s", "0.5s", "60s":
 * https://protobuf.dev/reference/protobuf/google.protobuf/#duration) as whole seconds, rounded up: the
 * value becomes a `Retry-After` header, which takes whole seconds (RFC 9110 §10.2.3), and retrying early
 * would only be refused again.
 */
export function durationSeconds(duration: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,9}))?s$/.exec(duration);
  if (!match) return undefined;
  return Math.ceil(Number(`${match[1]}.${match[2] ?? '0'}`));
}

/** The error for a key Google refused with 400 API_KEY_INVALID (ProviderHttp only knows 401/403 as refusals). */
export function googleKeyRejectedError(body: unknown): ByokitError {
  return new ByokitError('provider_key_rejected', `The Google API refused the key${upstreamDetail(parseErrorBody(body)?.message)}`, {
    provider: 'google',
  });
}

/**
 * An error Google sent inside a stream after HTTP 200 (`data: {"error": {...}}`, e.g. 503 UNAVAILABLE when a
 * model is overloaded mid-answer), mapped like the same status before the stream would be.
 */
export function googleStreamError(body: unknown): ByokitError {
  const error = parseErrorBody(body);
  const detail = upstreamDetail(error?.message);
  const code = error?.code;
  if (isGoogleKeyRejection(body) || code === 401 || code === 403) return googleKeyRejectedError(body);
  if (code === 429) {
    const { retryAfterSeconds } = readGoogleError(body);
    return new ByokitError('provider_rate_limited', `The Google API is rate limiting this key${detail}`, {
      provider: 'google',
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
    });
  }
  if (code === 504) return new ByokitError('provider_timeout', `The Google API timed out${detail}`, { provider: 'google' });
  if (code !== undefined && code >= 500) {
    return new ByokitError('provider_unavailable', `The Google API failed mid-answer (HTTP ${code})${detail}`, { provider: 'google' });
  }
  return new ByokitError('provider_error', `The Google API sent an error mid-answer${detail}`, { provider: 'google' });
}
