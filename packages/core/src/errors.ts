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
  /** What is wrong with the field, for people (never its value when that could be a key). */
  message: string;
}

/** Extra, safe-to-show facts an error may carry into the response body. */
export interface ByokitErrorDetails {
  /** The provider the error concerns, sent as `error.provider` (e.g. whose key is missing or was refused). */
  provider?: Provider | undefined;
  /** Each field that failed validation, sent as `error.issues` (`validation_failed`). */
  issues?: ValidationIssue[] | undefined;
  /** Whose key a provider refused. */
  keySource?: KeySource | undefined;
  /**
   * The model a provider's failure concerns, by the provider's name for it (`gpt-6.2-sol`): on the failure's log
   * line, for the operator (one model retired or out of the system key's reach fails while the rest answer). Not
   * sent: the caller chose it.
   */
  model?: string | undefined;
  /** Seconds to wait before retrying, sent as `Retry-After`; over 60, with `x-should-retry: false` too. */
  retryAfterSeconds?: number | undefined;
  /**
   * False when sending the same request again gets the same answer (a provider refused the request itself): sent
   * as `x-should-retry: false`, which the `openai` client (and other Stainless-made SDKs) heeds over its retry of a 5xx.
   */
  retryable?: false | undefined;
  /** The status when a code's usual one does not fit (e.g. `provider_key_rejected` on `PATCH …?verify=true` is 422). */
  status?: number | undefined;
}

const BRAND = Symbol.for('byokit.error');

/**
 * The one error type byokit throws. Recognised across duplicate package copies by a brand
 * (see {@link isByokitError}) rather than `instanceof`.
 */
export class ByokitError extends Error {
  /** What went wrong, stable across versions: switch on it, never on `message`. Sent as `error.code`. */
  readonly code: ErrorCode;
  /** The facts the response carries besides the code and message (`provider`, `issues`, `Retry-After`, …). */
  readonly details: ByokitErrorDetails;
  /** The brand {@link isByokitError} recognises; use that rather than reading it. */
  readonly [BRAND] = true;

  /**
   * @param code - The stable code; the response's status follows from it ({@link ERROR_STATUS}).
   * @param message - For people, sent as `error.message` (for a 4xx and a 5xx code alike, except `internal_error`,
   *   `key_decrypt_failed` and `keyring_invalid`, which are logged and answered with a generic message). Never a key
   *   or any piece of one.
   * @param details - Facts the response carries besides the code and message. Default: none.
   * @param options - `cause`: the underlying error, logged with a 5xx answer, never sent.
   */
  constructor(code: ErrorCode, message: string, details: ByokitErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ByokitError';
    this.code = code;
    // `?? {}`: a default parameter takes no null, which plain JavaScript may pass for "none".
    this.details = details ?? {};
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

/**
 * True for a {@link ByokitError} from any copy of this package; false for anything else, whatever it is. What it is
 * given may be anything a host's code threw, and reading the brand of some throws in turn (a revoked proxy, a
 * session object's proxy past its end, a getter): that throw, where a failure was being answered, made
 * `byokit.handle()` reject, and the Node handler leave its request unanswered.
 */
export function isByokitError(value: unknown): value is ByokitError {
  return typeof value === 'object' && value !== null && fieldOf(value, BRAND) === true;
}

/**
 * A field of anything a host's code threw or gave, or undefined where it has none or reading it throws (a revoked
 * proxy, a getter that throws): byokit reads such values only while answering a failure, which must not fail in turn.
 */
export function fieldOf(value: unknown, field: PropertyKey): unknown {
  if (value === null || value === undefined) return undefined;
  try {
    return (value as Record<PropertyKey, unknown>)[field];
  } catch {
    return undefined;
  }
}
