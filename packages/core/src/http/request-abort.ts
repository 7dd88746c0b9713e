/**
 * For adapters: a request's cancellation, cheap to make and to listen to, made for each request and handed to
 * byokit as the request's `signal`. Node's `AbortSignal` is an `EventTarget`: making one costs ~14 µs on a CPU
 * that was idle (more than the rest of an adapter's work before routing), and adding and removing a listener
 * ~2–8 µs; every chat call would pay both (docs/performance.md). A RequestAbort keeps its own state and its
 * listeners in a plain set, and makes a standard `AbortSignal` only when {@link RequestAbort.signal} is read.
 *
 * ```ts
 * import { RequestAbort } from '@byokit/core';
 *
 * const aborted = new RequestAbort();
 * response.once('close', () => response.writableFinished || aborted.abort()); // Node's ServerResponse
 * const answer = await byokit.handle({ ...byokitRequest, signal: aborted }); // the request, as the adapter built it
 * ```
 */
export class RequestAbort {
  #aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  readonly #listeners = new Set<() => void>();

  /** Whether {@link abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why it aborted (as `AbortSignal.reason`); undefined until it has. */
  get reason(): unknown {
    return this.#reason;
  }

  /** A standard `AbortSignal` that aborts with this one (aborted already if this one has), for code that needs one. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Aborts, with `reason` or, as `AbortController.abort()` does, an `AbortError`; then calls each listener once.
   * A listener that throws does not stop the others; its error is thrown again afterwards, out of band, as an
   * `EventTarget` reports it. Aborting again does nothing.
   */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.#controller?.abort(this.#reason);
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Calls `listener` once when this aborts (at once if it has); returns the function that stops listening. */
  onAbort(listener: () => void): () => void {
    if (this.#aborted) {
      listener();
      return () => {};
    }
    // A function of its own for each call: stopping one leaves any other of the same listener in place.
    const once = () => listener();
    this.#listeners.add(once);
    return () => this.#listeners.delete(once);
  }
}

/** A cancellation byokit listens to: an adapter's {@link RequestAbort}, or any standard `AbortSignal`. */
export type Cancellation = RequestAbort | AbortSignal;

/**
 * The listeners added through {@link onAbort} to each standard `AbortSignal`, behind one `abort` listener of
 * byokit's own on the signal. A host may pass one signal to every call (its shutdown signal): one listener
 * each made Node warn of a leak (`MaxListenersExceededWarning`, "11 abort listeners added to [AbortSignal]")
 * once ten calls were under way at once, a stream counting two.
 */
const signalListeners = new WeakMap<AbortSignal, { listeners: Set<() => void>; dispatch: () => void }>();

/**
 * Whether `value` is a RequestAbort, of this copy of @byokit/core or of another: an adapter's peer dependency may
 * resolve to another copy than the host's createByokit (another version, a second node_modules). Taken for a standard
 * signal, another copy's failed every chat call as "The OpenAI API could not be reached" (it has no addEventListener).
 */
export function isRequestAbort(value: unknown): value is RequestAbort {
  if (value instanceof RequestAbort) return true;
  const candidate = value as Partial<RequestAbort> | null | undefined;
  return (
    typeof candidate === 'object' && candidate !== null && typeof candidate.onAbort === 'function' && typeof candidate.abort === 'function'
  );
}

/**
 * The cancellation as a standard AbortSignal of this realm, for what takes only those (`AbortSignal.any`): a
 * RequestAbort's own, else one that follows it. A signal known by its shape alone (a polyfill's, another realm's)
 * was taken for a RequestAbort, and `AbortSignal.any` refused its missing `signal`: a 500 for PATCH ?verify=true. Its
 * listener stays until it aborts: a request's signal ends with the request.
 */
export function standardSignal(cancellation: Cancellation): AbortSignal {
  if (cancellation instanceof AbortSignal) return cancellation;
  const own: unknown = isRequestAbort(cancellation) ? cancellation.signal : undefined;
  if (own instanceof AbortSignal) return own;
  const controller = new AbortController();
  onAbort(cancellation, () => controller.abort(cancellation.reason));
  return controller.signal;
}

/**
 * For adapters: calls `listener` once when `cancellation` aborts (at once if it has); returns the function that stops
 * listening.
 */
export function onAbort(cancellation: Cancellation, listener: () => void): () => void {
  if (isRequestAbort(cancellation)) return cancellation.onAbort(listener);
  if (cancellation.aborted) {
    listener();
    return () => {};
  }
  let entry = signalListeners.get(cancellation);
  if (!entry) {
    const listeners = new Set<() => void>();
    // As an EventTarget dispatches: one that stopped listening meanwhile is not called; one that throws does not
    // stop the others, and its error is thrown again out of band.
    const dispatch = () => {
      signalListeners.delete(cancellation);
      for (const each of listeners) {
        listeners.delete(each);
        try {
          each();
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    };
    entry = { listeners, dispatch };
    signalListeners.set(cancellation, entry);
    cancellation.addEventListener('abort', dispatch, { once: true });
  }
  const { listeners, dispatch } = entry;
  // A function of its own for each call: stopping one leaves any other of the same listener in place.
  const once = () => listener();
  listeners.add(once);
  return () => {
    // The last one gone takes byokit's listener off the signal, so a signal that outlives the calls keeps none.
    if (listeners.delete(once) && listeners.size === 0 && signalListeners.get(cancellation) === entry) {
      signalListeners.delete(cancellation);
      cancellation.removeEventListener('abort', dispatch);
    }
  };
}
