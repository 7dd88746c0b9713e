import type { Cancellation } from './request-abort.js';

/** The signed-in caller, as the host's own auth decided. byokit never sees passwords. */
export interface Principal {
  /**
   * The host's id of the user: whose keys, usage and budget a request concerns. A non-empty string of at most 255
   * characters (code points) of well-formed Unicode without NUL, and not a whole provider API key; anything else is a
   * host bug, answered `500 internal_error`. Taken exactly as given: ids differing only in case, Unicode
   * normalisation or surrounding spaces are different users.
   */
  userId: string;
  /** Whether the user may use the admin routes (system keys, the catalog, every user's usage and budgets). */
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
  | {
      /** The body's bytes, not read yet. */
      kind: 'stream';
      /**
       * The body's chunks, in order; byokit stops reading past the route's limit by leaving its `for await`, which
       * ends the iterable. Not a Node request: that destroys it, and the client's `413` is never sent. Hand a Node
       * request over as `read` (or mount `createNodeHandler`, which does).
       */
      stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    }
  | {
      /** The body, behind the adapter's own reader. */
      kind: 'read';
      /** Reads the whole body; resolves undefined, having stopped keeping it, once it passes `limitBytes` bytes. */
      read(limitBytes: number): Promise<Uint8Array | undefined>;
    }
  | {
      /** A body the host framework already parsed as JSON (e.g. `express.json()`). */
      kind: 'parsed';
      /** The parsed JSON value. */
      value: unknown;
    }
  | {
      /** No body. */
      kind: 'none';
    };

/** A request in byokit's framework-free form: what an adapter builds from its framework's request. */
export interface ByokitRequest {
  /** The HTTP method, as sent (`GET`, `POST`, …). */
  method: string;
  /** Path and query below the mount prefix, e.g. `/users/me/api-key?provider=openai`. */
  url: string;
  /** The request headers. */
  headers: RequestHeaders;
  /** The request body, read or not. */
  body: RequestBody;
  /** Asks the host who is calling; byokit calls it only for routes that need a principal. */
  authenticate(): Principal | null | Promise<Principal | null>;
  /**
   * Aborted when the client goes away: a {@link RequestAbort} (the cheapest: what byokit's own adapters make) or
   * any standard `AbortSignal`. Without one, ending a streamed answer's body before its end (its iterator's
   * `return()`, read or not) is the client gone: byokit ends the call, recorded as aborted.
   */
  signal?: Cancellation | undefined;
}

/** A response in byokit's framework-free form: what an adapter writes back through its framework. */
export interface ByokitResponse {
  /** The HTTP status code. */
  status: number;
  /** The response headers, names in lower case. */
  headers: Record<string, string>;
  /** A complete body, or chunks to write as they come (server-sent events). */
  body: string | AsyncIterable<string>;
}
