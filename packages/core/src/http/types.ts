import type { Cancellation } from './request-abort.js';

/** The signed-in caller, as the host's own auth decided. byokit never sees passwords. */
export interface Principal {
  userId: string;
  isAdmin: boolean;
}

/**
 * The host's auth: the principal behind a request, or null when nobody is signed in. Receives the
 * framework's own request object.
 */
export type Authenticate<Request> = (request: Request) => Principal | null | Promise<Principal | null>;

/** Request headers as Node gives them (lower-case names) or as a fetch `Headers`. */
export type RequestHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * A request body: unread bytes as chunks (`stream`) or behind the adapter's own reader (`read`: the whole body,
 * or undefined as soon as it passes `limitBytes`, having stopped keeping it), a value the host framework already
 * parsed as JSON, or none.
 */
export type RequestBody =
  | { kind: 'stream'; stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array> }
  | { kind: 'read'; read(limitBytes: number): Promise<Uint8Array | undefined> }
  | { kind: 'parsed'; value: unknown }
  | { kind: 'none' };

/** A request in byokit's framework-free form: what an adapter builds from its framework's request. */
export interface ByokitRequest {
  method: string;
  /** Path and query below the mount prefix, e.g. `/users/me/api-key?provider=openai`. */
  url: string;
  headers: RequestHeaders;
  body: RequestBody;
  /** Asks the host who is calling; byokit calls it only for routes that need a principal. */
  authenticate(): Principal | null | Promise<Principal | null>;
  /**
   * Aborted when the client goes away: a {@link RequestAbort} (the cheapest: what byokit's own adapters make) or
   * any standard `AbortSignal`.
   */
  signal?: Cancellation;
}

/** A response in byokit's framework-free form: what an adapter writes back through its framework. */
export interface ByokitResponse {
  status: number;
  headers: Record<string, string>;
  /** A complete body, or chunks to write as they come (server-sent events). */
  body: string | AsyncIterable<string>;
}
