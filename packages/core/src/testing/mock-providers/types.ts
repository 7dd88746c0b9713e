import type { IncomingHttpHeaders } from 'node:http';
import type { Provider } from '../../keys/providers.js';

/** A request the mock received, as it arrived. */
export interface MockRequest {
  /** Which provider's route it hit; `unknown` for a path no provider has (answered 404). */
  provider: Provider | 'unknown';
  /** The HTTP method, e.g. `POST`. */
  method: string;
  /** The path without the query, e.g. `/v1/messages`. */
  path: string;
  /** The query parameters (the last value of a repeated one). */
  query: Record<string, string>;
  /** The headers, names in lower case (Node's). */
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; `undefined` when there was none or it was not JSON. */
  body: unknown;
  /**
   * The key as received in that provider's own header (`x-api-key`, `authorization: Bearer`, `x-goog-api-key`),
   * for assertions that the key went where it belongs. A key in Google's `?key=` is not read here: see `query`.
   */
  key: string | undefined;
  /** True when the client went away before the answer ended. Updated after the fact: see `waitForRequest`. */
  aborted: boolean;
}

/** The answer `failNext` makes the next request to a provider get. */
export interface MockFailure {
  /** The HTTP status to answer with, e.g. 429 or 500. */
  status: number;
  /**
   * The body: a string is sent as it is (e.g. a proxy's HTML page), anything else as JSON. By default the
   * provider's real error body for that status.
   */
  body?: unknown;
  /** Extra response headers, e.g. `retry-after`. */
  headers?: Record<string, string>;
}

/** Options of `startMockProviders`. */
export interface MockProvidersOptions {
  /** The port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number | undefined;
  /** Keys every provider rejects as invalid, each in its own error shape. */
  rejectKeys?: Iterable<string> | undefined;
  /** A pause between streamed events, in milliseconds (default 0). */
  chunkGapMs?: number | undefined;
  /** A pause before each answer starts, plain or streamed, in milliseconds (default 0): a provider still thinking. */
  answerDelayMs?: number | undefined;
  /**
   * How many times each stream's run of text events is sent (default 1, as recorded): longer streams for the
   * benchmark. Nothing else is adjusted, so the usage a stream reports no longer matches its text.
   */
  repeatChunks?: number | undefined;
  /**
   * How many of the requests received `requests` keeps, the latest (default: every one, for tests). Each holds its
   * whole body and headers, so a mock that serves for long (the `byokit-mock-providers` command, an example's offline
   * mode) sets a bound: kept without one, every chat it ever answered stayed in memory.
   */
  maxRequestsKept?: number | undefined;
}

/** The providers' base URLs, with each SDK's meaning (what `ANTHROPIC_BASE_URL` etc. hold). */
export interface MockBaseUrls {
  /** The origin: `/v1/messages` follows. */
  anthropic: string;
  /** The origin + `/v1`: `/chat/completions` follows. */
  openai: string;
  /** The origin: `/v1beta/models/{model}:generateContent` follows. */
  google: string;
}

/** A running mock of the Anthropic, OpenAI and Google APIs. */
export interface MockProviders {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Each provider's base URL on this mock, to pass as byokit's `providers[…].baseUrl`. */
  readonly baseUrls: MockBaseUrls;
  /**
   * Every request received (the latest `maxRequestsKept`, when set), oldest first (the same array for the mock's life:
   * `reset` empties it).
   */
  readonly requests: MockRequest[];
  /** Keys rejected as invalid; add or remove at run time. */
  readonly rejectKeys: Set<string>;
  /** Sets the pause between streamed events, in milliseconds; it takes effect at once, even mid-stream. */
  setChunkGapMs(milliseconds: number): void;
  /**
   * Sets a pacer that every stream asks before each event but the first (after the chunk gap); the event waits
   * until its answer settles. `undefined` (the default) sends on the gap alone. For tests that must know a
   * client read one event's text before the next event is sent, whatever the machine's load.
   */
  setStreamPacer(pacer: StreamPacer | undefined): void;
  /** Sets the pause before each answer starts, in milliseconds (see `MockProvidersOptions.answerDelayMs`). */
  setAnswerDelayMs(milliseconds: number): void;
  /** Sets how many times each stream's run of text events is sent (see `MockProvidersOptions.repeatChunks`). */
  setRepeatChunks(times: number): void;
  /** The next request to `provider` (of any route) gets this answer. Calls queue up, first in first out. */
  failNext(provider: Provider, failure: MockFailure): void;
  /**
   * The next streaming request to `provider` gets HTTP 200, the recorded events up to the first text event, then
   * the provider's in-stream error. Non-streaming requests pass it by. Calls queue up.
   */
  streamErrorNext(provider: Provider): void;
  /**
   * Resolves with the first request, received (and still kept: see `maxRequestsKept`) or still to come, that
   * `predicate` accepts; the predicate is asked again when a request is aborted, kept or not. Rejects after
   * `timeoutMs` (default 4000).
   */
  waitForRequest(predicate: (request: MockRequest) => boolean, options?: { timeoutMs?: number }): Promise<MockRequest>;
  /** Forgets the requests received and the scenarios queued (not the chunk gap, the repeat count, `rejectKeys`). */
  reset(): void;
  /** Stops the server, cutting any open stream. */
  close(): Promise<void>;
}

/**
 * Asked before a streamed event is sent: its `index` in the stream, and `afterText`, whether the event before it
 * carried answer text (which byokit turns into a chunk for its client at once).
 */
export type StreamPacer = (event: { index: number; afterText: boolean }) => Promise<void> | void;

/** What the mock sends back for one request: a whole body, or server-sent events. */
export type MockAnswer =
  | { type: 'json'; status: number; headers: Record<string, string>; body: string }
  /**
   * Each event is complete wire text (`data: …\n\n`); `carriesText[i]`, whether event i holds answer text.
   * `cut`: end by dropping the connection, not cleanly.
   */
  | { type: 'stream'; headers: Record<string, string>; events: string[]; carriesText: boolean[]; cut: boolean };

/** What a provider's handler may ask of the mock. */
export interface AnswerContext {
  /** An id for this request, for the providers that send one (`request-id`, `x-request-id`). */
  requestId: string;
  repeatChunks: number;
  isRejected(key: string): boolean;
  /** True, once per `streamErrorNext`, when this stream should fail after its first text event. */
  takeStreamError(): boolean;
}

/** Answers one endpoint. */
export type EndpointHandler = (request: MockRequest, context: AnswerContext) => MockAnswer;

/** One provider's part of the mock. */
export interface ProviderMock {
  readonly provider: Provider;
  /** The handler of this request's endpoint, or `undefined` when it is not one of this provider's. */
  route(method: string, path: string, headers: IncomingHttpHeaders): EndpointHandler | undefined;
  /** The key from this provider's own header. */
  readKey(headers: IncomingHttpHeaders): string | undefined;
  /** Refuses what this provider refuses before any endpoint runs (a missing or rejected key…), or `undefined`. */
  guard(request: MockRequest, context: AnswerContext): MockAnswer | undefined;
  /** `failNext`'s answer, in this provider's shape. */
  failure(failure: MockFailure, request: MockRequest, context: AnswerContext): MockAnswer;
}
