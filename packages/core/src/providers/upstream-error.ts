/**
 * A provider's refusal (a non-2xx answer) as byokit's error: what its body said, read by the provider's own
 * reader, and its status and delay headers, mapped to one stable code. The body's words are scrubbed and cut.
 */
import { ByokitError } from '../errors.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { upstreamDetail } from './upstream-text.js';

/** What a provider said in an error body, once parsed by its client. */
export interface UpstreamErrorInfo {
  message?: string;
  /** The body says the key was refused, whatever the status (Gemini answers a bad key with 400 API_KEY_INVALID). */
  keyRejected?: boolean;
  /** From the body (Gemini's RetryInfo); the `Retry-After` header is read here. */
  retryAfterSeconds?: number;
  /**
   * The body says the provider refuses calls from where this server runs (OpenAI's 403
   * `unsupported_country_region_territory`, Anthropic's 403 `forbidden` "Request not allowed"): not the key's
   * fault, whatever the status, so never a refused key.
   */
  originRefused?: boolean;
  /**
   * The body says the key may not use this model (OpenAI's 403 `model_not_found`, "Project `proj_…` does not have
   * access to model `…`"): the key works for the provider's other models, so a 401 or 403 is not a refused key.
   */
  modelRefused?: boolean;
}

/** Reads a provider's error body (its own shape) into a message and a retry delay. */
export type UpstreamErrorReader = (body: unknown) => UpstreamErrorInfo;

/** An answer's headers as undici gives them. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * A refusal as the ByokitError its status and body say: a redirect (never followed), calls refused from where this
 * server runs, a refused key, a rate limit or failure with its delay, a missing resource, or a request refused.
 */
export function upstreamError(provider: Provider, status: number, headers: ResponseHeaders, info: UpstreamErrorInfo): ByokitError {
  const detail = upstreamDetail(info.message);
  const label = PROVIDER_LABELS[provider];
  if (status >= 300 && status < 400) {
    return new ByokitError('provider_error', `The ${label} API answered with a redirect, which byokit never follows with a key attached.`, {
      provider,
    });
  }
  if (info.originRefused) {
    return new ByokitError('provider_error', `The ${label} API refuses calls from where this server runs (HTTP ${status})${detail}`, {
      provider,
      retryable: false,
    });
  }
  if (status === 401 || status === 403 || info.keyRejected) {
    if (info.modelRefused) {
      return new ByokitError('provider_error', `The ${label} API does not let this key use the model (HTTP ${status})${detail}`, {
        provider,
        retryable: false,
      });
    }
    return new ByokitError('provider_key_rejected', `The ${label} API refused the key${detail}`, { provider });
  }
  if (status === 429) {
    const retryAfterSeconds = retryAfterHeaders(headers) ?? info.retryAfterSeconds;
    return new ByokitError('provider_rate_limited', `The ${label} API is rate limiting this key${detail}`, {
      provider,
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
    });
  }
  // A failure's delay too (a 503's Retry-After, Gemini's RetryInfo): waited before a retry, passed on after the last.
  const retryAfterSeconds = retryAfterHeaders(headers) ?? info.retryAfterSeconds;
  const failed = { provider, ...(retryAfterSeconds !== undefined && { retryAfterSeconds }) };
  if (status === 408 || status === 504) return new ByokitError('provider_timeout', `The ${label} API timed out${detail}`, failed);
  if (status >= 500) return new ByokitError('provider_unavailable', `The ${label} API failed (HTTP ${status})${detail}`, failed);
  // What a retired or misnamed model gets (Anthropic: "The requested resource could not be found."), which
  // alone does not say what was not found.
  if (status === 404) {
    return new ByokitError(
      'provider_error',
      `The ${label} API has no such resource (HTTP 404): a model it no longer serves (retired) or a misnamed one, or a base URL that points elsewhere${detail}`,
      { provider, retryable: false },
    );
  }
  // The same request would be refused the same way: clients that retry a 5xx (the `openai` client twice) are told
  // not to, which would call the provider and record a call each time.
  return new ByokitError('provider_error', `The ${label} API refused the request (HTTP ${status})${detail}`, {
    provider,
    retryable: false,
  });
}

/**
 * The delay a refusal asks for, in seconds (fractions kept: the error response rounds up). `retry-after-ms` comes
 * first, as the OpenAI and Anthropic SDKs read it: it is the finer of the two, and Azure OpenAI (an
 * OpenAI-compatible base URL) sends it. Then `Retry-After` (RFC 9110 §10.2.3): delay-seconds, also with a
 * fraction as those SDKs take it, or an HTTP date. Numbers have at most 12 digits before the point, as Gemini's
 * own delays: a longer one is no delay (past 309 digits it would be Infinity, passed on as the header).
 */
function retryAfterHeaders(headers: ResponseHeaders): number | undefined {
  const milliseconds = delayNumber(headers['retry-after-ms']);
  if (milliseconds !== undefined) return milliseconds / 1000;
  const value = Array.isArray(headers['retry-after']) ? headers['retry-after'][0] : headers['retry-after'];
  if (value === undefined) return undefined;
  const seconds = delayNumber(value);
  if (seconds !== undefined) return seconds;
  const until = httpDate(value);
  if (until === undefined) return undefined;
  // Counted from the answer's own Date (RFC 9110 §6.6.1), as the provider's clock set both: on this server's clock, its
  // skew was added to the wait (a clock 30 s fast made a 30 s wait 0), and under a host's or a test's clock (the `now`
  // option) the wait was from the real time to it. This server's clock only for an answer without a Date.
  const sent = httpDate(Array.isArray(headers.date) ? headers.date[0] : headers.date) ?? Date.now();
  return Math.max(0, (until - sent) / 1000);
}

/** An HTTP date's time in ms, or undefined for none. */
function httpDate(value: string | undefined): number | undefined {
  // Only a value with a day or month name is a date: Date.parse reads "2.5" as February 5, 2001 (a delay of 0).
  if (value === undefined || !/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date;
}

/** A header's non-negative decimal number (`7`, `2.5`), or undefined when it is none. */
function delayNumber(header: string | string[] | undefined): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return value !== undefined && /^\d{1,12}(?:\.\d{1,9})?$/.test(value) ? Number(value) : undefined;
}
