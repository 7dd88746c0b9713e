import type { ErrorBodyFormat, PublicError } from '../http/error-response.js';

/**
 * byokit's errors in OpenAI's shape, `{ error: { message, type, param, code } }`
 * (platform.openai.com/docs/guides/error-codes), so that OpenAI's clients raise their typed errors. The status
 * stays the one core gives (errors.ts maps each code once); `code` is byokit's stable code, the same on both
 * surfaces; `type` is OpenAI's category for the status. The request id is in the `x-request-id` header, which
 * the `openai` client exposes as `error.requestID`.
 */
export const openAIErrorBody: ErrorBodyFormat = (error) => ({
  error: { message: error.message, type: errorType(error.status), param: paramOf(error), code: error.code },
});

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The request field at fault: the first invalid one, or `model` for a model the caller cannot use. */
function paramOf(error: PublicError): string | null {
  const path = error.issues?.[0]?.path;
  if (path) return path;
  if (error.code === 'model_not_found' || error.code === 'model_inactive') return 'model';
  return null;
}
