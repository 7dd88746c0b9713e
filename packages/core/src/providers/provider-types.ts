import type { HostDispatcher } from './host-dispatcher.js';
import type { ByokitError } from '../errors.js';
import type { Provider } from '../keys/providers.js';
import type { SecretKey } from '../keys/secret-key.js';
import type { Cancellation } from '../http/request-abort.js';

/** One message of a conversation, in byokit's unified form. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A chat request as a provider client receives it: validated, with the provider's own model name. */
export interface ProviderChatRequest {
  /** The provider's model name, from the catalog (never from a client directly). */
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
}

/** Why generation ended, in OpenAI's vocabulary (the contract's `finish_reason`). */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error';

/**
 * Token counts as the provider reported them, mapped to one meaning (style.md, usage semantics).
 * `undefined` means "not reported", never 0.
 * - `inputTokens`: every prompt token, cached ones included (OpenAI's `prompt_tokens`; Anthropic's
 *   `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`; Gemini's `promptTokenCount`).
 * - `outputTokens`: every generated token, reasoning included (Gemini: `candidatesTokenCount + thoughtsTokenCount`).
 * - `cachedInputTokens`: prompt tokens read from the provider's cache (a part of `inputTokens`).
 * - `cacheWriteTokens`: prompt tokens written to the cache (Anthropic's `cache_creation_input_tokens`, a part of `inputTokens`).
 * - `reasoningTokens`: thinking tokens (a part of `outputTokens`).
 */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

/** A provider's complete answer, unified. */
export interface ProviderChatResponse {
  /** The provider's response id. */
  id: string;
  /** The model that answered, as the provider names it (may be a dated version of the catalog's name). */
  model: string;
  content: string;
  finishReason: FinishReason;
  usage: TokenUsage;
}

/**
 * One event of a streamed answer, unified. Usage is cumulative where providers stream it so (Anthropic,
 * Gemini): each `usage` event replaces the last, never adds to it. Where one provider event carries both text
 * and usage (Gemini's chunks, Anthropic's `message_start`), the usage comes first: a consumer that leaves right
 * after the text has then seen, and bills, the usage that came with it (docs/http-api.md, "Usage: decisions").
 */
export type ProviderStreamEvent =
  | { type: 'text'; text: string }
  | { type: 'usage'; usage: TokenUsage }
  | { type: 'finish'; finishReason: FinishReason }
  | { type: 'error'; error: ByokitError };

/** A mapped request body, with what the provider could not take (a warning, not a crash). */
export interface MappedRequest<Body> {
  body: Body;
  warnings: string[];
}

/** What every call takes: the key (only ever put in a header) and the caller's abort signal. */
export interface ProviderCallOptions {
  key: SecretKey;
  signal?: Cancellation;
  /** Told of each try that failed and is made again, before its pause (the operator's log line). */
  onRetry?: (retry: ProviderRetry) => void;
  /**
   * The longest of a provider's own delays waited before a retry; a longer one is not, the back-off is. A minute by
   * default; a call bounded more tightly (a key check's 10 s) gives less, as it could not sit the wait out.
   */
  longestPauseMs?: number;
}

/** A try that failed and is made again (`retries` in {@link ProviderSettings}). */
export interface ProviderRetry {
  /** Which retry this is, from 1, of `retries`. */
  retry: number;
  retries: number;
  /** The pause before it. */
  waitMs: number;
  /** How the try failed: a 5xx, a connection that failed before any answer, or a stream's first event. */
  error: ByokitError;
}

/**
 * What a key check concluded. `unreachable` means the provider answered without saying (OpenAI's restricted key); a
 * provider that could not be asked (down, a 5xx, a timeout, an answer not its own) makes `checkKey` throw its error.
 */
export type KeyCheck = 'valid' | 'invalid' | 'unreachable';

/** A client for one provider's API, speaking byokit's unified types. */
export interface ProviderClient {
  readonly provider: Provider;
  /** One complete answer. Upstream failures throw a `ByokitError` (provider_* codes). */
  complete(request: ProviderChatRequest, options: ProviderCallOptions): Promise<ProviderChatResponse>;
  /**
   * A streamed answer. Resolves once the provider accepted the request (HTTP status checked; with retries left, its
   * first event read, and tried again if that is the provider failing), so a refusal is still a clean error before any
   * byte is sent; later failures arrive as an `error` event.
   */
  stream(request: ProviderChatRequest, options: ProviderCallOptions): Promise<AsyncIterable<ProviderStreamEvent>>;
  /** Asks the provider whether a key works, with a free call (listing models); throws what kept it from answering. */
  checkKey(options: ProviderCallOptions): Promise<KeyCheck>;
  /** Closes the client's idle connections (`byokit.close()` calls it). */
  close?(): Promise<void>;
}

/** Host configuration of a provider: where it is and how long to wait. Never from a request. */
export interface ProviderSettings {
  /** The SDK's own meaning: `https://api.anthropic.com`, `https://api.openai.com/v1`, `https://generativelanguage.googleapis.com`. */
  baseUrl: string;
  /**
   * Milliseconds to wait for the answer to start, and the longest silence allowed inside it (a stream that
   * stalls that long is cut off with `provider_timeout`). Default 600,000 (LLM calls are slow); 1 to 2^31 - 1.
   */
  timeoutMs?: number | undefined;
  /**
   * Retries on connection failures and 5xx before the answer starts, and on a stream whose first event is the provider
   * failing (Anthropic's `overloaded_error` after HTTP 200), each after a pause: 250 ms, doubled for each one after,
   * or the provider's own `Retry-After` when it is a minute or less. Default 1; 0 to 10.
   */
  retries?: number | undefined;
  /** Extra static headers (e.g. a gateway's). Never a place for the key. */
  headers?: Record<string, string> | undefined;
  /**
   * The undici dispatcher to send through, e.g. a `ProxyAgent` for an outbound proxy: of undici 6, 7 or 8 (your own
   * copy, not only byokit's). Default: a keep-alive `Pool` of connections to the base URL's origin, the client's own,
   * closed by `byokit.close()`. One you pass is yours, and may serve several byokits: `byokit.close()` leaves it open.
   * `timeoutMs` reaches it as each dispatch's `headersTimeout` and `bodyTimeout`, which undici's own dispatchers keep:
   * one of your own that ignores them and never answers holds the call until its caller's signal aborts (a request's
   * client leaving), and a call in code without a signal, and `byokit.close()` with it, for good. Each dispatch also
   * says `maxRedirections: 0`, which undici's redirect interceptors (and an undici 6 `Agent` made with
   * `maxRedirections`) read as "follow none": a redirect is refused, never followed with the key attached.
   */
  dispatcher?: HostDispatcher | undefined;
}
