import type { EventEmitter } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { readAtMost } from '../bytes.js';
import { ByokitError } from '../errors.js';
import { onAbort } from '../http/request-abort.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import type { ProviderSettings, ProviderStreamEvent } from './provider-types.js';
import { streamEvents, type StreamDecoder } from './server-sent-events.js';
import { transportError } from './transport-error.js';

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

type ResponseBody = Dispatcher.ResponseData['body'];

/** Error bodies are small; more than this is not read (a hostile or broken upstream). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 600_000;
/** Overloaded or failing before any answer: safe to send again. 429 is not retried: the caller gets it, with Retry-After. */
const RETRY_STATUSES = new Set([500, 502, 503, 504, 529]);
const RETRY_BASE_DELAY_MS = 250;

/**
 * The HTTP side of a provider client, on undici's dispatcher API over keep-alive connections: the hot path of
 * every chat, so nothing in it builds a WHATWG `Request`, `Response` or web stream (docs/performance.md).
 * Base URL, timeouts and retries come from host configuration only; redirects are never followed (the key
 * would go to the new host: spec/security.md, "No SSRF"); every non-2xx answer becomes a typed, scrubbed
 * `ByokitError`; the caller's abort signal cancels the request at any point, body included.
 */
export class ProviderHttp {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #origin: string;
  /** The base URL's path, ending in `/`: request paths are relative to it, as with the SDKs' base URLs. */
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #headers: Record<string, string>;
  readonly #label: string;

  constructor(
    private readonly provider: Provider,
    settings: ProviderSettings,
    private readonly readError: UpstreamErrorReader,
  ) {
    const base = new URL(settings.baseUrl);
    if (base.protocol !== 'https:' && base.protocol !== 'http:')
      throw new TypeError(`${provider} baseUrl must be http(s): ${base.protocol}`);
    this.#origin = base.origin;
    this.#basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    this.#timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retries = settings.retries ?? 1;
    this.#headers = { ...settings.headers };
    this.#label = PROVIDER_LABELS[provider];
    this.#ownsDispatcher = settings.dispatcher === undefined;
    this.#dispatcher = settings.dispatcher ?? new Agent();
  }

  /** POSTs JSON and reads the answer as JSON. Upstream failures throw a `ByokitError`; the caller's abort its reason. */
  async postJson(path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<unknown> {
    const response = await this.#send('POST', path, headers, JSON.stringify(body), signal);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw transportError(error, this.provider, signal, 'broke off during the answer');
    }
    try {
      return JSON.parse(text);
    } catch {
      // The body is never quoted: it may hold anything.
      throw new ByokitError('provider_error', `The ${this.#label} API sent an answer that is not JSON.`, { provider: this.provider });
    }
  }

  /**
   * POSTs JSON and decodes the server-sent events of the answer. Resolves once the status is 2xx (a refusal is
   * still a clean error); see {@link streamEvents} for how the events end.
   */
  async postStream(
    path: string,
    body: unknown,
    headers: Record<string, string>,
    decoder: StreamDecoder,
    signal?: AbortSignal,
  ): Promise<AsyncIterable<ProviderStreamEvent>> {
    const response = await this.#send('POST', path, headers, JSON.stringify(body), signal);
    return streamEvents(response.body, this.provider, decoder, signal);
  }

  /** GETs and discards the body: for calls whose status is the answer (a key check). */
  async probe(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const response = await this.#send('GET', path, headers, undefined, signal);
    await response.body.dump();
  }

  /** Closes the connections of the dispatcher this client made (one the host passed in is the host's). */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  async #send(
    method: 'GET' | 'POST',
    path: string,
    callHeaders: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    // Object.assign rather than spreads: this is on every provider call's path (docs/performance.md).
    const headers: Record<string, string> = Object.assign({}, this.#headers, callHeaders);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const options: Dispatcher.RequestOptions = {
      origin: this.#origin,
      path: this.#basePath + path,
      method,
      headers,
      body,
      signal: signal && abortEmitter(signal),
      headersTimeout: this.#timeoutMs,
      // The longest silence inside a body: a stream that stalls is cut off rather than held open forever.
      bodyTimeout: this.#timeoutMs,
    };
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.#retries;
      let response: Dispatcher.ResponseData;
      try {
        response = await this.#dispatcher.request(options);
      } catch (error) {
        const failure = transportError(error, this.provider, signal, 'could not be reached');
        // A connection that failed before any answer may be tried again; a timeout or the caller's abort not.
        if (last || (failure as { code?: string }).code !== 'provider_unavailable') throw failure;
        await pause(attempt, signal);
        continue;
      }
      const status = response.statusCode;
      if (status >= 200 && status < 300) return response;
      if (last || !RETRY_STATUSES.has(status)) throw await this.#statusError(status, response);
      await response.body.dump().catch(() => undefined);
      await pause(attempt, signal);
    }
  }

  async #statusError(status: number, response: Dispatcher.ResponseData): Promise<ByokitError> {
    const info = this.readError(await readJsonCapped(response.body));
    const detail = info.message ? `: ${clip(scrubSecrets(info.message))}` : '';
    const label = this.#label;
    const provider = this.provider;
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
      const retryAfterSeconds = retryAfterHeader(response.headers['retry-after']) ?? info.retryAfterSeconds;
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

/**
 * The caller's signal as undici also takes one: an emitter of `abort` with `aborted` and `reason` (undici's
 * `signal` option: "AbortSignal | EventEmitter"). Its listeners go through {@link onAbort}, so a request's own
 * signal (http/request-abort.ts) costs no `EventTarget` listener on every provider call.
 */
function abortEmitter(signal: AbortSignal): EventEmitter {
  type Listener = () => void;
  const stops = new Map<Listener, () => void>();
  const emitter = {
    get aborted() {
      return signal.aborted;
    },
    get reason(): unknown {
      return signal.reason;
    },
    on(event: string, listener: Listener) {
      if (event === 'abort') stops.set(listener, onAbort(signal, listener));
      return emitter;
    },
    // onAbort calls a listener once at most: `once` is `on`.
    once(event: string, listener: Listener) {
      return emitter.on(event, listener);
    },
    removeListener(event: string, listener: Listener) {
      stops.get(listener)?.();
      stops.delete(listener);
      return emitter;
    },
  };
  return emitter as unknown as EventEmitter;
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

/** An error body as JSON, or undefined when it is not JSON, too large, or broken off. */
async function readJsonCapped(body: ResponseBody): Promise<unknown> {
  try {
    const bytes = await readAtMost(body, MAX_ERROR_BODY_BYTES);
    return bytes && JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  } finally {
    // Stopped early (too large): close it rather than leave the connection half-read.
    if (!body.readableEnded) body.destroy();
  }
}

/** `Retry-After` as seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP date). */
function retryAfterHeader(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

const clip = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);
