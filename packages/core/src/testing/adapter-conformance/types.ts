import type { Byokit } from '../../byokit.js';
import type { Principal, RequestHeaders } from '../../http/types.js';

/** What the suite hands an adapter's test to mount. */
export interface ConformanceMountOptions {
  /** The byokit to mount, made by the suite. */
  byokit: Byokit;
  /**
   * The host's auth: pass it your framework request's headers (Node's record or a fetch `Headers`), and hand on what
   * it returns as your adapter's `authenticate` does. Mostly a principal at once; a promise of one where the suite
   * plays a host whose auth takes a while (a session looked up), which the client may leave before it answers.
   */
  authenticate(headers: RequestHeaders): Principal | null | Promise<Principal | null>;
  /** Where to mount byokit, e.g. `/v2`. */
  prefix: string;
}

/** A running host with byokit mounted. */
export interface MountedAdapter {
  /** The server's origin, `http://127.0.0.1:<port>`: the suite adds the prefix and the path. */
  baseUrl: string;
  /** Stops the server, cutting open connections. */
  close(): Promise<void>;
  /** The host's log lines so far, if it logs (the leak check searches them too). */
  logLines?(): readonly string[];
}

/**
 * Starts a real HTTP server on 127.0.0.1 (port 0) with `options.byokit` mounted at `options.prefix` in your
 * framework, as a host would. Requests byokit has no route for must reach the host: with `unknownPaths:
 * 'host'`, the host answers them with a 404 carrying {@link HOST_ANSWER_HEADER} (any value).
 */
export type MountAdapter = (options: ConformanceMountOptions) => Promise<MountedAdapter>;

/** Options of `describeAdapterConformance`. */
export interface AdapterConformanceOptions {
  /**
   * Who answers a request byokit has no route for (an unknown path below the prefix, or a path outside it):
   * - `'host'`: the adapter passes it on to the host's own routes (Express `next()`, Fastify's not-found
   *   handling, core's Node handler resolving `false`); the mount's host answers 404 with {@link HOST_ANSWER_HEADER}.
   * - `'contract-404'`: the adapter answers it itself with `404 not_found` in the contract's error shape (the
   *   fetch handler's default).
   */
  unknownPaths: 'host' | 'contract-404';
  /**
   * How the host hands byokit a request's URL: `'as-sent'` (the default: node:http, Express, Fastify), or
   * `'parsed'` as a WHATWG URL parser reads it (fetch hosts: dot segments resolved, `\` read as `/`). The seeded
   * requests hold each answer to core's answer for the URL byokit receives.
   */
  urls?: 'as-sent' | 'parsed' | undefined;
  /**
   * Paths the host's server refuses itself, before any route and in its own words (a `400` that is not byokit's,
   * without its request id): the seeded requests expect that refusal for them rather than core's answer. Fastify
   * refuses a path whose percent-escapes do not decode (`FST_ERR_BAD_URL`); `@hono/node-server` a backslash in
   * the path. Given the path without the query; default: none.
   */
  refusedByServer?: ((path: string) => boolean) | undefined;
}

/** The header a mount's host sets on its own 404, so the suite can tell it from byokit's. */
export const HOST_ANSWER_HEADER = 'x-conformance-host';
