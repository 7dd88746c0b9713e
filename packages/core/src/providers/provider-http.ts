import { Pool, type Dispatcher } from 'undici';
import { jsonOrUndefined } from '../bytes.js';
import { ByokitError, isByokitError } from '../errors.js';
import { onAbort, type Cancellation } from '../http/request-abort.js';
import { LONGEST_WAIT_TO_RETRY_SECONDS } from '../http/error-response.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { asksForCoding, compressedAnswerError } from './compressed-answer.js';
import { baseUrlOf, staticHeaders } from './provider-setting-checks.js';
import { hostDispatcher, type CallDispatcher } from './host-dispatcher.js';
import type { ProviderCallOptions, ProviderSettings, ProviderStreamEvent } from './provider-types.js';
import { MAX_REFUSAL_BYTES, ServerSentEvents, type StreamDecoder, type StreamedAnswer } from './server-sent-events.js';
import { transportError } from './transport-error.js';
import { upstreamError, type ResponseHeaders, type UpstreamErrorReader } from './upstream-error.js';
import { wholeNumberOption } from '../host-option-checks.js';

/** One call's answer, whichever way it was read. */
interface Answer {
  statusCode: number;
  headers: ResponseHeaders;
}

/** How to read a refusal of one kind of answer, and to let its body go before another attempt. */
interface AnswerBody<A extends Answer> {
  /** A refusal's body as JSON, or undefined when it is not JSON, too large, or broke off. */
  refusal(answer: A): Promise<unknown>;
  discard(answer: A): Promise<void>;
  /** How a 2xx answer failed at once all the same, as a 5xx would have: worth another try. */
  failureAtOnce?(answer: A): Promise<ByokitError | undefined>;
}

/** What a call carries besides its request: the caller's abort, whom to tell of a retry, the longest delay it waits. */
type CallControl = Pick<ProviderCallOptions, 'signal' | 'onRetry' | 'longestPauseMs'>;

/** An answer read whole; `brokenBy` says why its body broke off after the head, if it did. */
interface WholeAnswer extends Answer {
  bytes: Buffer;
  brokenBy?: unknown;
}

/** Why a body read whole was cut off: it grew past what byokit reads (a refusal's bound or an answer's). */
const TOO_LARGE = new Error('The body was larger than byokit reads.');

const EVENTS: AnswerBody<StreamedAnswer> = {
  refusal: (answer) => answer.events.refusal(),
  discard: async (answer) => answer.events.cancel(),
  // A stream whose first event is the provider failing (Anthropic's overloaded_error after HTTP 200, "which would
  // normally correspond to an HTTP 529 in a non-streaming context", its streaming docs; OpenAI's server_error, Gemini's
  // 503) has given nothing yet: another try is as safe as after a 5xx. The event stays first if it is not tried again.
  failureAtOnce: async (answer) => {
    const first = await answer.events.peek();
    return first?.type === 'error' && first.error.code === 'provider_unavailable' ? first.error : undefined;
  },
};

const WHOLE: AnswerBody<WholeAnswer> = {
  refusal: async (answer) => (answer.brokenBy === undefined ? jsonOrUndefined(answer.bytes) : undefined),
  discard: async () => {},
};

/**
 * A plain answer is read whole, and only this far: the longest a model writes (128,000 tokens) is a few MB of
 * JSON, so an answer past 32 MiB is a broken or hostile upstream, cut off before it fills the host's memory
 * (as a stream's events are capped: server-sent-events.ts).
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** A provider's `timeoutMs` when the host sets none: 10 minutes. */
export const DEFAULT_TIMEOUT_MS = 600_000;
/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer one fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Each retry waits twice as long as the last (250 ms first): the tenth waits over two minutes. */
const MAX_RETRIES = 10;
/**
 * A 5xx is the provider (or a proxy before it) failing, worth another try as the providers' SDKs give it: Anthropic's 529,
 * and Cloudflare's 52x in front of api.openai.com (520 "Web server is returning an unknown error", 522, 524) with the
 * rest. Not 501 and 505, which the same request gets again (RFC 9110 §15.6.2, §15.6.6). 429 is not retried: the caller
 * gets it, with Retry-After.
 */
const worthAnotherTry = (status: number) => status >= 500 && status < 600 && status !== 501 && status !== 505;
const RETRY_BASE_DELAY_MS = 250;

/**
 * The HTTP side of a provider client, on undici's dispatcher API over keep-alive connections: the hot path of
 * every chat, so nothing in it builds a WHATWG `Request`, `Response` or web stream (docs/performance.md). A
 * call's answer goes to a handler of our own (`dispatch()`): a plain one (a chat's, or a key check's) read whole,
 * a streamed one decoded into events as it arrives (server-sent-events.ts).
 * Base URL, timeouts and retries come from host configuration only; redirects are never followed (the key
 * would go to the new host: spec/security.md, "No SSRF"); every non-2xx answer becomes a typed, scrubbed
 * `ByokitError`; the caller's abort signal cancels the request at any point, body included.
 */
export class ProviderHttp {
  readonly #dispatcher: CallDispatcher;
  /** The client's own connections, when the host passed no dispatcher: closed by close(). */
  readonly #pool: Pool | undefined;
  readonly #origin: string;
  /** The base URL's path, ending in `/`: request paths are relative to it, as with the SDKs' base URLs. */
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #headers: Record<string, string>;
  readonly #label: string;
  /** The host's headers ask for a compressed answer (their own Accept-Encoding): what a compressed answer's error says. */
  readonly #hostAsksCoding: boolean;

  constructor(
    private readonly provider: Provider,
    settings: ProviderSettings,
    private readonly readError: UpstreamErrorReader,
  ) {
    const base = baseUrlOf(provider, settings.baseUrl);
    this.#origin = base.origin;
    this.#basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
    this.#timeoutMs = wholeNumberOption(`${provider} timeoutMs`, settings.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS);
    this.#retries = wholeNumberOption(`${provider} retries`, settings.retries ?? 1, 0, MAX_RETRIES);
    this.#headers = staticHeaders(provider, settings.headers);
    this.#hostAsksCoding = asksForCoding(this.#headers);
    this.#label = PROVIDER_LABELS[provider];
    // A client only ever calls its base URL's origin: a Pool of keep-alive connections to it, without an Agent's
    // lookup of the pool by origin in front of every call. Unset as every setting is: undefined, or null.
    this.#pool = settings.dispatcher == null ? new Pool(this.#origin) : undefined;
    this.#dispatcher = this.#pool ?? hostDispatcher(provider, settings.dispatcher);
  }

  /** POSTs JSON and reads the answer as JSON. Upstream failures throw a `ByokitError`; the caller's abort its reason. */
  async postJson(path: string, body: unknown, headers: Record<string, string>, call: CallControl = {}): Promise<unknown> {
    const { signal } = call;
    const options = this.#options('POST', path, headers, JSON.stringify(body));
    const answer = await this.#retrying(call, WHOLE, () => this.#readWhole(options, signal));
    // Before how the body ended: a compressed body is unreadable however much of it came.
    const compressed = signal?.aborted ? undefined : compressedAnswerError(this.provider, answer.headers, this.#hostAsksCoding);
    if (compressed) throw compressed;
    if (answer.brokenBy !== undefined) {
      if (answer.brokenBy === TOO_LARGE && !signal?.aborted)
        throw new ByokitError(
          'provider_error',
          `The ${this.#label} API sent an answer larger than byokit reads (${MAX_ANSWER_BYTES / 2 ** 20} MiB).`,
          {
            provider: this.provider,
          },
        );
      throw transportError(answer.brokenBy, this.provider, signal, 'broke off during the answer');
    }
    // JSON never parses to undefined: undefined here is a body that is not JSON.
    const json = jsonOrUndefined(answer.bytes);
    // The body is never quoted: it may hold anything.
    if (json === undefined)
      throw new ByokitError('provider_error', `The ${this.#label} API sent an answer that is not JSON.`, { provider: this.provider });
    return json;
  }

  /**
   * POSTs JSON and decodes the server-sent events of the answer. Resolves once the status is 2xx (a refusal is
   * still a clean error) and, while another try remains, the first event is in: one that is the provider failing is
   * tried again, as a 5xx is. See {@link ServerSentEvents} for how the events end.
   */
  async postStream(
    path: string,
    body: unknown,
    headers: Record<string, string>,
    decoder: StreamDecoder,
    call: CallControl = {},
  ): Promise<AsyncIterable<ProviderStreamEvent>> {
    const options = this.#options('POST', path, headers, JSON.stringify(body));
    const answer = await this.#retrying(call, EVENTS, () =>
      new ServerSentEvents(this.provider, decoder, call.signal, this.#hostAsksCoding).start(this.#dispatcher, options),
    );
    return answer.events;
  }

  /**
   * GETs, for calls whose status is the answer (a key check): the body (a short list of models) is read whole
   * and let go. Read as a chat's plain answer is, so that the caller's abort ends it at once, also while it
   * waits for a connection.
   */
  async probe(path: string, headers: Record<string, string>, call: CallControl = {}): Promise<void> {
    const { signal } = call;
    const options = this.#options('GET', path, headers, undefined);
    const answer = await this.#retrying(call, WHOLE, () => this.#readWhole(options, signal));
    // A 2xx said what a key check asks; a body broken off after it matters only as the caller's own abort.
    if (answer.brokenBy !== undefined) {
      if (signal?.aborted) throw transportError(answer.brokenBy, this.provider, signal, 'broke off during the answer');
      return;
    }
    // …when it is the provider's: its list of models is a JSON object. A proxy's sign-in page, a captive portal or a
    // base URL pointing at a website answers 200 to anything, and a key "checked" so was saved as valid.
    const compressed = compressedAnswerError(this.provider, answer.headers, this.#hostAsksCoding);
    if (compressed) throw compressed;
    const json = jsonOrUndefined(answer.bytes);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ByokitError(
        'provider_error',
        `The ${this.#label} API answered the key check with something other than a list of models (not a JSON object): a proxy's page, or a base URL that points elsewhere.`,
        { provider: this.provider },
      );
    }
  }

  /** Closes the connections of the dispatcher this client made (one the host passed in is the host's). */
  async close(): Promise<void> {
    await this.#pool?.close();
  }

  /** What every call sends: the host's headers and the call's, JSON's type when there is a body, the timeouts. */
  #options(
    method: 'GET' | 'POST',
    path: string,
    callHeaders: Record<string, string>,
    body: string | undefined,
  ): Dispatcher.DispatchOptions {
    // Object.assign rather than spreads: this is on every provider call's path (docs/performance.md).
    const headers: Record<string, string> = Object.assign({}, this.#headers, callHeaders);
    if (body !== undefined) headers['content-type'] = 'application/json';
    return {
      origin: this.#origin,
      path: this.#basePath + path,
      method,
      headers,
      body,
      headersTimeout: this.#timeoutMs,
      // The longest silence inside a body: a stream that stalls is cut off rather than held open forever.
      bodyTimeout: this.#timeoutMs,
      // No redirect followed, by a host's dispatcher either (undici's redirect interceptor, an undici 6 Agent made with
      // maxRedirections): they keep x-api-key and x-goog-api-key on a cross-origin one. As undici's own fetch does.
      maxRedirections: 0,
    } as Dispatcher.DispatchOptions;
  }

  /**
   * Calls until an answer is 2xx, or is a refusal or failure not worth another try (then throws it, mapped). Each
   * failure tried again is told to `onRetry` first, as the error it would have been.
   */
  async #retrying<A extends Answer>(call: CallControl, body: AnswerBody<A>, attempt: () => Promise<A>): Promise<A> {
    const { signal } = call;
    for (let tries = 0; ; tries++) {
      const last = tries >= this.#retries;
      let answer: A;
      let failure: ByokitError | undefined;
      try {
        answer = await attempt();
      } catch (error) {
        const mapped = transportError(error, this.provider, signal, 'could not be reached');
        // A connection that failed before any answer may be tried again; a timeout or the caller's abort not.
        if (last || !isByokitError(mapped) || mapped.code !== 'provider_unavailable') throw mapped;
        await this.#again(tries, mapped, call);
        continue;
      }
      const status = answer.statusCode;
      if (status >= 200 && status < 300) {
        if (last) return answer;
        failure = await body.failureAtOnce?.(answer);
        if (failure === undefined) return answer;
        await body.discard(answer).catch(() => undefined);
      } else {
        const refusal = await body.refusal(answer);
        // The caller left while the refusal's body was on its way (the abort cut it off): their abort, not the refusal.
        if (signal?.aborted) throw signal.reason;
        failure = upstreamError(this.provider, status, answer.headers, this.readError(refusal));
        if (last || !worthAnotherTry(status)) throw failure;
        await body.discard(answer).catch(() => undefined);
      }
      await this.#again(tries, failure, call);
    }
  }

  /**
   * Tells of a retry, then pauses before it: the provider's own delay when it gave one of a minute or less (as the
   * Anthropic and OpenAI SDKs take `retry-after-ms` and `Retry-After`, a minute being their bound; less when the call
   * says so, `longestPauseMs`), else the back-off. A delay of nothing (`Retry-After: 0`, a date past) is none given, as
   * Anthropic's SDKs and OpenAI's Python one take it: else a failing provider was called again at once, each retry.
   */
  async #again(
    tries: number,
    error: ByokitError,
    { signal, onRetry, longestPauseMs = LONGEST_WAIT_TO_RETRY_SECONDS * 1000 }: CallControl,
  ): Promise<void> {
    const askedMs = Math.ceil((error.details.retryAfterSeconds ?? 0) * 1000);
    const waitMs = askedMs > 0 && askedMs <= longestPauseMs ? askedMs : RETRY_BASE_DELAY_MS * 2 ** tries;
    onRetry?.({ retry: tries + 1, retries: this.#retries, waitMs, error });
    await pause(waitMs, signal);
  }

  /**
   * One call whose answer is read whole, through undici's `dispatch()` and a handler of our own: no `Readable`
   * body and its consumers, which cost a plain call ~12 µs after the provider answered, at low load
   * (docs/performance.md). A refusal's body is read up to {@link MAX_REFUSAL_BYTES}. Rejects when the call
   * fails before the answer's head; after it, resolves with the failure as `brokenBy`.
   */
  #readWhole(options: Dispatcher.DispatchOptions, signal: Cancellation | undefined): Promise<WholeAnswer> {
    return new Promise((resolve, reject) => {
      let head: Answer | undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      let stopListening = () => {};
      let started: Dispatcher.DispatchController | undefined;
      const whole = (head: Answer, brokenBy?: unknown): WholeAnswer => ({
        statusCode: head.statusCode,
        headers: head.headers,
        bytes: Buffer.concat(chunks),
        brokenBy,
      });
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          started = controller;
          // Left while it waited for a connection: dropped here, before a byte of it is sent.
          if (signal?.aborted) controller.abort(signal.reason);
        },
        onResponseStart(_controller, statusCode, headers) {
          // 1xx answers are interim: the real one follows.
          if (statusCode >= 200) head = { statusCode, headers };
        },
        onResponseData(controller, chunk) {
          received += chunk.byteLength;
          if (received > (head!.statusCode >= 300 ? MAX_REFUSAL_BYTES : MAX_ANSWER_BYTES)) {
            controller.abort(TOO_LARGE);
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          stopListening();
          resolve(whole(head!));
        },
        onResponseError(_controller, error) {
          stopListening();
          if (head) resolve(whole(head, error));
          else reject(error);
        },
      };
      // Heard from the dispatch on, not from the request's start: a request waits for a connection first (one being
      // opened, or a free one of a host's capped dispatcher), and its caller's abort must end the call at once.
      if (signal) {
        stopListening = onAbort(signal, () => (started ? started.abort(signal.reason) : reject(signal.reason)));
        if (signal.aborted) return;
      }
      try {
        this.#dispatcher.dispatch(options, handler);
      } catch (error) {
        stopListening();
        reject(error);
      }
    });
  }
}

/** The pause before another attempt (exponential back-off: 250 ms, 500 ms, …), cut short by the caller's abort. */
function pause(waitMs: number, signal?: Cancellation): Promise<void> {
  return new Promise((resolve) => {
    let stopListening = () => {};
    const timer = setTimeout(done, waitMs);
    function done() {
      clearTimeout(timer);
      stopListening();
      resolve();
    }
    if (signal) stopListening = onAbort(signal, done);
  });
}
