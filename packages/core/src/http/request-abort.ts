/**
 * A request's cancellation, cheap to listen to: what an adapter makes for each request's `signal`. byokit takes
 * and hands on a standard `AbortSignal`, but adding and removing one listener on Node's `AbortSignal` (an
 * `EventTarget`) costs ~2 µs, and ~8 µs on a CPU that was idle, ten times an `EventEmitter`'s; every provider
 * call listens once (docs/performance.md). Listeners added through {@link onAbort} on a RequestAbort's signal
 * are kept in a plain set instead. Any other signal (the host's own, a fetch `Request`'s) is listened to as
 * usual.
 *
 * ```ts
 * const aborted = new RequestAbort();
 * response.once('close', () => response.writableFinished || aborted.abort());
 * await byokit.handle({ …, signal: aborted.signal });
 * ```
 */
export class RequestAbort {
  readonly #controller = new AbortController();

  constructor() {
    cheapListeners.set(this.#controller.signal, new Set());
  }

  /** The signal to hand byokit: a standard `AbortSignal`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Aborts the signal (with `reason`, as `AbortController.abort` does), then calls the listeners added through
   * {@link onAbort}, each once. A listener that throws does not stop the others; its error is thrown again
   * afterwards, out of band, as an `EventTarget` reports it.
   */
  abort(reason?: unknown): void {
    const signal = this.#controller.signal;
    if (signal.aborted) return;
    this.#controller.abort(reason);
    const listeners = cheapListeners.get(signal)!;
    cheapListeners.delete(signal);
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
}

/** The listeners of each live RequestAbort's signal; dropped with the signal. */
const cheapListeners = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` once when `signal` aborts (at once if it has); returns the function that stops listening.
 * A RequestAbort's signal keeps it in a set; any other through `addEventListener`.
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener();
    return () => {};
  }
  const listeners = cheapListeners.get(signal);
  if (listeners) {
    const once = () => listener();
    listeners.add(once);
    return () => listeners.delete(once);
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
