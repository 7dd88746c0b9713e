/**
 * A host's own `dispatcher` (a `ProxyAgent` for an outbound proxy, an `Agent` with its own limits), which may come
 * from another undici than byokit's: a host's lockfile often holds undici 6, the family Node 20's and 22's fetch are
 * built on. byokit's handlers speak undici 7's API (onRequestStart, onResponseStart, …), which undici 8 keeps; undici 6
 * knows only the older one (onConnect, onHeaders, …) and refused them as "invalid onError method", so every call
 * through such a dispatcher failed as the provider being unreachable. A host's dispatcher gets each handler with both
 * APIs; byokit's own Pool gets it as it is (the hot path).
 */
import { util, type Dispatcher } from 'undici';
import { kindOfOption } from '../host-option-checks.js';
import type { Provider } from '../keys/providers.js';

/**
 * What byokit uses of a host's dispatcher: its `dispatch`. Typed by that method alone, with parameters any undici's
 * `dispatch` takes (a method's parameters are compared both ways), so that an `Agent` or `ProxyAgent` of undici 6, 7
 * or 8 is one; undici's own `Dispatcher` type was that of byokit's copy, which another copy's classes are not.
 */
export interface HostDispatcher {
  /** Sends one request, its answer to `handler` (undici's `Dispatcher#dispatch`). */
  dispatch(options: unknown, handler: unknown): boolean;
}

/** What a provider client sends its calls through. */
export interface CallDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

/**
 * The host's dispatcher, checked where the client is made (a JavaScript host's `{}` or a class rather than an instance
 * would otherwise fail every call as the provider being unreachable), taking byokit's handlers in either API.
 */
export function hostDispatcher(provider: Provider, dispatcher: unknown): CallDispatcher {
  const dispatch = (dispatcher as { dispatch?: unknown } | null | undefined)?.dispatch;
  if (typeof dispatcher !== 'object' || dispatcher === null || typeof dispatch !== 'function') {
    throw new TypeError(
      `${provider} dispatcher must be an undici dispatcher (an object with a dispatch method), got ${kindOfOption(dispatcher)}`,
    );
  }
  const host = dispatcher as HostDispatcher;
  return { dispatch: (options, handler) => host.dispatch(options, eitherHandlerApi(handler)) };
}

/** undici 7's and 8's handler API, which byokit's handlers speak. */
type NewerHandlerApi = Required<
  Pick<Dispatcher.DispatchHandler, 'onRequestStart' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>
>;

/** undici 6's handler API, as its dispatchers call it. */
interface OlderHandlerApi {
  onConnect(abort: (reason?: Error) => void, context?: unknown): void;
  /** False pauses the body until `resume` is called. */
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(rawTrailers: Buffer[] | string[] | null): void;
  onError(error: Error): void;
}

/** The pause, resume and abort of undici 7's controller, over undici 6's `abort` and `resume` callbacks. */
class OlderApiController implements Dispatcher.DispatchController {
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  /** undici 6's resume, given with the answer's head. */
  resumeBody: (() => void) | undefined;

  constructor(private readonly abortCall: (reason?: Error) => void) {}

  get paused(): boolean {
    return this.#paused;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.resumeBody?.();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.abortCall(reason);
  }
}

/**
 * `handler` as undici 7 and 8 call it, and as undici 6 does (whose body pauses when onData answers false and goes on
 * at the resume it gave with the head), as undici 7 itself translates a handler for its own core (UnwrapHandler). A
 * plain object of functions, as byokit's handlers are, so that a host's dispatcher that spreads a handler into its own
 * (`{ ...handler, onResponseStart }`) keeps every method.
 */
function eitherHandlerApi(handler: Dispatcher.DispatchHandler): NewerHandlerApi & OlderHandlerApi {
  let controller: OlderApiController | undefined;
  // undici 6 fails a call it never connected (no connection to be had) without onConnect: a controller that cannot abort.
  const older = () => (controller ??= new OlderApiController(() => {}));
  return {
    // undici 7 and 8.
    onRequestStart: (started, context) => handler.onRequestStart?.(started, context),
    onResponseStart: (started, statusCode, headers, statusMessage) =>
      handler.onResponseStart?.(started, statusCode, headers, statusMessage),
    onResponseData: (started, chunk) => handler.onResponseData?.(started, chunk),
    onResponseEnd: (started, trailers) => handler.onResponseEnd?.(started, trailers),
    onResponseError: (started, error) => handler.onResponseError?.(started, error),
    // undici 6.
    onConnect(abort, context) {
      controller = new OlderApiController(abort);
      handler.onRequestStart?.(controller, context);
    },
    onHeaders(statusCode, rawHeaders, resume, statusMessage) {
      older().resumeBody = resume;
      handler.onResponseStart?.(older(), statusCode, util.parseHeaders(rawHeaders), statusMessage);
      return !older().paused;
    },
    onData(chunk) {
      handler.onResponseData?.(older(), chunk);
      return !older().paused;
    },
    onComplete(rawTrailers) {
      handler.onResponseEnd?.(older(), util.parseHeaders(rawTrailers ?? []));
    },
    onError(error) {
      handler.onResponseError?.(older(), error);
    },
  };
}
