import { ByokitError, type ErrorCode } from '../../errors.js';
import { upstreamDetail } from '../upstream-text.js';
import type { UpstreamErrorInfo } from '../upstream-error.js';
import { anthropicErrorSchema, anthropicRegionRefusalSchema, type AnthropicErrorBody } from './anthropic-api.js';

/**
 * The error types Anthropic documents (https://docs.anthropic.com/en/api/errors#http-errors); the list
 * "may grow over time", so an unknown type is expected, not a bug.
 */
type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set<AnthropicErrorType>([
  'invalid_request_error',
  'authentication_error',
  'billing_error',
  'permission_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'api_error',
  'timeout_error',
  'overloaded_error',
]);

const isKnownErrorType = (type: string): type is AnthropicErrorType => KNOWN_ERROR_TYPES.has(type);

/**
 * An account that cannot be used: one that cannot pay, `billing_error` (HTTP 402, "an issue with your billing or
 * payment information"), and the refusal Anthropic actually sends an account out of credit, a 400
 * `invalid_request_error` "Your credit balance is too low to access the Anthropic API" (anthropics/claude-code#4208,
 * #66297 and many more); and the key of a disabled organization, a 400 `invalid_request_error` "This organization
 * has been disabled." (anthropics/claude-code#19028, #54311, #72457 and many more). Like a refused key, only its
 * owner can put it right, and retrying never does: so it is `provider_key_rejected`, which says whose key it was
 * (the OpenAI client treats `insufficient_quota` alike).
 */
function isAccountRefusal(type: string, message: string | null | undefined): boolean {
  if (type === 'billing_error') return true;
  return type === 'invalid_request_error' && /credit balance is too low|organization has been disabled/i.test(message ?? '');
}

/** Reads Anthropic's error body for ProviderHttp, which scrubs the message and maps the HTTP status. */
export function readAnthropicError(body: unknown): UpstreamErrorInfo {
  // A region Anthropic does not serve: not the key's fault, as the key works from elsewhere. As a refused key it
  // would tell a user to replace a working key, and a key check would refuse to save it.
  const region = anthropicRegionRefusalSchema.safeParse(body);
  if (region.success) {
    const { message } = region.data.error;
    return { ...(message && { message }), originRefused: true };
  }
  const parsed = anthropicErrorSchema.safeParse(body);
  if (!parsed.success) return {};
  const { type, message } = parsed.data.error;
  return { ...(message && { message }), ...(isAccountRefusal(type, message) && { keyRejected: true }) };
}

/**
 * The code for an Anthropic error type, for errors that come without a meaningful HTTP status: an `error`
 * event after HTTP 200 (https://docs.anthropic.com/en/api/errors: "errors can occur after returning a 200
 * response"), or an error body a proxy sent with 200.
 */
export function anthropicErrorCode(type: string, message?: string): ErrorCode {
  if (isAccountRefusal(type, message)) return 'provider_key_rejected';
  if (!isKnownErrorType(type)) return 'provider_error';
  switch (type) {
    case 'overloaded_error':
    case 'api_error':
      return 'provider_unavailable';
    case 'rate_limit_error':
      return 'provider_rate_limited';
    case 'authentication_error':
    case 'permission_error':
      return 'provider_key_rejected';
    case 'timeout_error':
      return 'provider_timeout';
    case 'billing_error':
      return 'provider_key_rejected';
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'provider_error';
    default: {
      const _exhaustive: never = type;
      return _exhaustive;
    }
  }
}

/** An Anthropic error body or event as a ByokitError, its message scrubbed of anything like a key. */
export function anthropicErrorToByokitError(body: AnthropicErrorBody): ByokitError {
  return new ByokitError(
    anthropicErrorCode(body.error.type, body.error.message),
    `The Anthropic API reported an error${upstreamDetail(body.error.message || body.error.type)}`,
    {
      provider: 'anthropic',
    },
  );
}
