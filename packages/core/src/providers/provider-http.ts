import ky, { type KyInstance } from 'ky';
import { readAtMost } from '../bytes.js';
import { abortSafeFetch } from './abort-safe-fetch.js';
import { ByokitError } from '../errors.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import type { ProviderSettings } from './provider-types.js';

/** What a provider said in an error body, once parsed by its client. */
export interface UpstreamErrorInfo {
  message?: string;
  /** The body says the key was refused, whatever the status (Gemini answers a bad key with 400 API_KEY_INVALID). */
  keyRejected?: boolean;
  /** From the body (Gemini's RetryInfo); the `Retry-After` header is read here. */
  retryAfterSeconds?: number;
}

/** Reads a provider's error body (its own shape) into a message and a retry delay. */
export type UpstreamErrorReader = (body: unknown) => UpstreamErrorInfo;

/** Error bodies are small; more than this is not read (a hostile or broken upstream). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 600_000;
/** Overloaded or failing before any answer: safe to send again. 429 is not retried: the caller gets it, with Retry-After. */
const RETRY_STATUSES = new Set([500, 502, 503, 504, 529]);
const RETRY_BASE_DELAY_MS = 250;

/**
 * The HTTP side of a provider client, on ky: base URL, timeout and retries from host configuration only,
 * redirects never followed (fetch would carry `x-api-key` or `x-goog-api-key` to the new host:
 * spec/security.md, "No SSRF"), and every non-2xx answer turned into a typed, scrubbed `ByokitError`.
 */
export class ProviderHttp {
  readonly #ky: KyInstance;
  readonly #retries: number;
  readonly #fetch: typeof fetch;

  constructor(
    private readonly provider: Provider,
    settings: ProviderSettings,
    private readonly readError: UpstreamErrorReader,
  ) {
    this.#retries = settings.retries ?? 1;
    this.#ky = ky.create({
      prefixUrl: settings.baseUrl,
      timeout: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // Retries are ours (see send): ky retries a status only when it throws HTTPError, and with
      // throwHttpErrors off, as here, so that error bodies can be read once, it would never retry one.
      retry: 0,
      throwHttpErrors: false,
      redirect: 'manual',
      headers: settings.headers,
    });
    this.#fetch = settings.fetch ?? globalThis.fetch;
  }

  /** POSTs JSON; resolves with the response once its status is 2xx, else throws the mapped error. */
  post(path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    return this.send(() => this.#ky.post(path, { json: body, headers, signal, fetch: abortSafeFetch(this.#fetch, signal) }), signal);
  }

  /** GETs; resolves with the response once its status is 2xx, else throws the mapped error. */
  get(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    return this.send(() => this.#ky.get(path, { headers, signal, fetch: abortSafeFetch(this.#fetch, signal) }), signal);
  }

  private async send(call: () => Promise<Response>, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.#retries;
      let response: Response;
      try {
        response = await call();
      } catch (error) {
        const failure = this.transportError(error);
        // A connection that failed before any answer may be tried again; a timeout or the caller's abort not.
        if (last || (failure as { code?: string }).code !== 'provider_unavailable') throw failure;
        await pause(attempt, signal);
        continue;
      }
      if (response.ok) return response;
      if (last || !RETRY_STATUSES.has(response.status)) throw await this.statusError(response);
      await response.body?.cancel();
      await pause(attempt, signal);
    }
  }

  private transportError(error: unknown): unknown {
    const name = (error as { name?: string }).name;
    // The caller went away: not the provider's failure; let it pass as is.
    if (name === 'AbortError') return error;
    const label = PROVIDER_LABELS[this.provider];
    if (name === 'TimeoutError') {
      return new ByokitError('provider_timeout', `The ${label} API did not answer in time.`, { provider: this.provider }, { cause: error });
    }
    return new ByokitError('provider_unavailable', `The ${label} API could not be reached.`, { provider: this.provider }, { cause: error });
  }

  private async statusError(response: Response): Promise<ByokitError> {
    const info = this.readError(await readJsonCapped(response));
    const detail = info.message ? `: ${clip(scrubSecrets(info.message))}` : '';
    const label = PROVIDER_LABELS[this.provider];
    const provider = this.provider;
    const status = response.status;
    if (status >= 300 && status < 400) {
      return new ByokitError(
        'provider_error',
        `The ${label} API answered with a redirect, which byokit never follows with a key attached.`,
        {
          provider,
        },
      );
    }
    if (status === 401 || status === 403 || info.keyRejected)
      return new ByokitError('provider_key_rejected', `The ${label} API refused the key${detail}`, { provider });
    if (status === 429) {
      const retryAfterSeconds = retryAfterHeader(response.headers.get('retry-after')) ?? info.retryAfterSeconds;
      return new ByokitError('provider_rate_limited', `The ${label} API is rate limiting this key${detail}`, {
        provider,
        ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
      });
    }
    if (status === 408 || status === 504) return new ByokitError('provider_timeout', `The ${label} API timed out${detail}`, { provider });
    if (status >= 500) return new ByokitError('provider_unavailable', `The ${label} API failed (HTTP ${status})${detail}`, { provider });
    return new ByokitError('provider_error', `The ${label} API refused the request (HTTP ${status})${detail}`, { provider });
  }
}

/** Exponential back-off before another attempt (250 ms, 500 ms, …), cut short by the caller's abort. */
function pause(attempt: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, RETRY_BASE_DELAY_MS * 2 ** attempt);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function readJsonCapped(response: Response): Promise<unknown> {
  const bytes = response.body && (await readAtMost(response.body, MAX_ERROR_BODY_BYTES));
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** `Retry-After` as seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date). */
function retryAfterHeader(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
