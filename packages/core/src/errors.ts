import type { Provider } from './keys/providers.js';
import type { KeySource } from './resolve/key-resolver.js';

/**
 * Every error byokit raises, with its HTTP status. Clients switch on `code`, never on message text,
 * so codes are stable; this map is the one place a code meets its status (spec/http-api.md, errors).
 */
export const ERROR_STATUS = Object.freeze({
  invalid_json: 400,
  api_key_required: 400,
  provider_key_rejected: 400,
  model_inactive: 400,
  key_unreadable: 400,
  unauthenticated: 401,
  budget_exceeded: 402,
  forbidden: 403,
  not_found: 404,
  model_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  invalid_key_format: 422,
  placeholder_key: 422,
  rate_limited: 429,
  provider_rate_limited: 429,
  internal_error: 500,
  key_decrypt_failed: 500,
  keyring_invalid: 500,
  provider_error: 502,
  provider_unavailable: 502,
  storage_unavailable: 503,
  provider_timeout: 504,
} as const);

/** A stable error code; see {@link ERROR_STATUS} for the HTTP status each maps to. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** One problem with a request field, as returned in `error.issues`. */
export interface ValidationIssue {
  /** Dotted path to the field, e.g. `messages.0.content`; empty for the body itself. */
  path: string;
  message: string;
}

/** Extra, safe-to-show facts an error may carry into the response body. */
export interface ByokitErrorDetails {
  provider?: Provider;
  issues?: ValidationIssue[];
  /** Whose key a provider refused. */
  keySource?: KeySource;
  /** Seconds to wait before retrying, sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /**
   * False when sending the same request again gets the same answer (a provider refused the request itself): sent
   * as `x-should-retry: false`, which the `openai` client (and other Stainless-made SDKs) heeds over its retry of a 5xx.
   */
  retryable?: false;
  /** The status when a code's usual one does not fit (e.g. `provider_key_rejected` on `PATCH …?verify=true` is 422). */
  status?: number;
}

const BRAND = Symbol.for('byokit.error');

/**
 * The one error type byokit throws. Recognised across duplicate package copies by a brand
 * (see {@link isByokitError}) rather than `instanceof`.
 */
export class ByokitError extends Error {
  readonly code: ErrorCode;
  readonly details: ByokitErrorDetails;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, details: ByokitErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ByokitError';
    this.code = code;
    this.details = details;
  }

  /** The HTTP status this error maps to. */
  get status(): number {
    return this.details.status ?? ERROR_STATUS[this.code];
  }
}

/** `validation_failed` for one field, its message also its issue's: the contract gives that code `issues`. */
export function invalidField(path: string, message: string, details: Omit<ByokitErrorDetails, 'issues'> = {}): ByokitError {
  return new ByokitError('validation_failed', message, { ...details, issues: [{ path, message }] });
}

/** True for a {@link ByokitError} from any copy of this package. */
export function isByokitError(value: unknown): value is ByokitError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
