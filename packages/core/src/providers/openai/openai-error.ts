import { ByokitError, type ErrorCode } from '../../errors.js';
import { upstreamDetail } from '../upstream-text.js';
import type { UpstreamErrorInfo } from '../upstream-error.js';
import { openaiErrorSchema, type OpenAIError } from './openai-api.js';

/**
 * Reads OpenAI's error body (`{ "error": { "message", "type", "param", "code" } }`) for ProviderHttp, which maps
 * the HTTP status and scrubs the message. A body that is not this shape gives no message rather than raw text.
 */
export function readOpenAIError(body: unknown): UpstreamErrorInfo {
  const parsed = openaiErrorSchema.safeParse(body);
  if (!parsed.success) return {};
  const { message, code } = parsed.data.error;
  return {
    ...(message && { message }),
    ...(codeOf(parsed.data.error) === 'provider_key_rejected' && { keyRejected: true }),
    ...(code === UNSUPPORTED_REGION && { originRefused: true }),
    ...(code === MODEL_NOT_FOUND && { modelRefused: true }),
  };
}

/**
 * OpenAI's code for a model the key may not use: with 404 ("The model `…` does not exist or you do not have access to
 * it"), and with 403 for a project not given that model ("Project `proj_…` does not have access to model `…`"), whose
 * key works for the others. As a refused key it told a user to replace a working key, and marked it `invalid`.
 */
const MODEL_NOT_FOUND = 'model_not_found';

/**
 * OpenAI's 403 to a call from a country it does not serve ("Country, region, or territory not supported", type
 * `request_forbidden`): about where the host runs, not about the key, which works from elsewhere. As a refused key
 * it would tell a user to replace a working key, and a key check would refuse to save it.
 */
const UNSUPPORTED_REGION = 'unsupported_country_region_territory';

// An error object that arrives without an HTTP status (inside a stream after HTTP 200, or in a 200 body) is
// classified by its `code` and `type`, to the same codes ProviderHttp gives the HTTP statuses. The values are
// OpenAI's (https://platform.openai.com/docs/guides/error-codes): `invalid_api_key` with 401, `rate_limit_exceeded`
// (type `requests` or `tokens`) and `insufficient_quota` with 429, `server_error` with 500 and 503.
// OpenAI-compatible gateways put the HTTP status itself in `code`, so numbers go through the status table.
// A key whose account has no credit or quota left comes with 429 but is a refused key, whatever the status:
// waiting does not help, its owner must pay ("Retrying a billing, spending, or quota error does not restore
// access", OpenAI Help Center 5955604; `credit_balance_exhausted` in the error-codes guide). So is an account whose
// billing is not set up or was cancelled: 429 "Your account is not active, please check your billing details on our
// website." with type `billing_not_active` (its code the same, or null).
const KEY_REJECTED = new Set([
  'invalid_api_key',
  'authentication_error',
  'permission_error',
  'insufficient_quota',
  'credit_balance_exhausted',
  'billing_not_active',
]);
const RATE_LIMITED = new Set(['rate_limit_exceeded', 'rate_limit_error', 'requests', 'tokens']);
const UNAVAILABLE = new Set(['server_error', 'overloaded', 'overloaded_error', 'engine_overloaded', 'service_unavailable']);

function codeOfStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'provider_key_rejected';
  if (status === 429) return 'provider_rate_limited';
  if (status === 408 || status === 504) return 'provider_timeout';
  if (status >= 500 && status < 600) return 'provider_unavailable';
  return 'provider_error';
}

function codeOf(error: OpenAIError): ErrorCode {
  if (typeof error.code === 'number') return codeOfStatus(error.code);
  const labels = [error.code, error.type].filter((label): label is string => typeof label === 'string');
  if (labels.some((label) => KEY_REJECTED.has(label))) return 'provider_key_rejected';
  if (labels.some((label) => RATE_LIMITED.has(label))) return 'provider_rate_limited';
  if (labels.some((label) => UNAVAILABLE.has(label))) return 'provider_unavailable';
  const status = labels.map(Number).find((number) => Number.isInteger(number) && number >= 400 && number < 600);
  return status === undefined ? 'provider_error' : codeOfStatus(status);
}

const SUMMARIES: Readonly<Partial<Record<ErrorCode, string>>> = {
  provider_key_rejected: 'The OpenAI API refused the key',
  provider_rate_limited: 'The OpenAI API is rate limiting this key',
  provider_unavailable: 'The OpenAI API failed',
  provider_timeout: 'The OpenAI API timed out',
};

/**
 * An OpenAI error object received without an HTTP status (a `data: {"error": …}` event mid-stream, or an error in
 * a 200 body) as a `ByokitError`, mapped like the HTTP statuses. OpenAI's message is kept, scrubbed of anything
 * that looks like a key (providers echo partial keys: spec/security.md, "Secrets never leave") and clipped.
 */
export function openaiErrorToByokitError(error: OpenAIError): ByokitError {
  const code = codeOf(error);
  const summary = SUMMARIES[code] ?? 'The OpenAI API reported an error';
  const detail = upstreamDetail(error.message ?? undefined);
  return new ByokitError(code, `${summary}${detail}`, { provider: 'openai' });
}
