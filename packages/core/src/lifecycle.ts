import { ByokitError } from './errors.js';

/**
 * Whether a byokit still serves. Once `close()` has begun, every call (a route's or one in code) is refused at
 * once with this error, rather than reaching a provider connection or a storage already closed: that failed as
 * "The Anthropic API could not be reached" after a retry's pause, or as the storage's own error, and a chat's
 * usage record went to a closed storage. 503, as for storage that is not there (docs/http-api.md): a load
 * balancer tries another node.
 */
function closedError(): ByokitError {
  return new ByokitError(
    'storage_unavailable',
    'This byokit is closed (byokit.close() was called): it serves no more calls. Stop serving requests before closing it.',
  );
}

/**
 * Whether `close()` has begun, and the calls under way when it did: {@link run} refuses a call once it has, and
 * {@link close} resolves when those already under way have ended. A chat caught between its key resolution or
 * budget hold and the provider otherwise went on to a provider connection just closed ("could not be reached")
 * and wrote its usage record to a closed storage, its budget hold left counting for 15 minutes.
 */
export class Lifecycle {
  #closed = false;
  #running = 0;
  #idle: (() => void) | undefined;

  assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** Runs `call` unless `close()` has begun (then rejects with {@link closedError}); `close()` waits for it. */
  run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    this.#running++;
    let result: Promise<T>;
    try {
      result = call();
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.finally(() => {
      if (--this.#running === 0) this.#idle?.();
    });
  }

  /** Refuses every call from now on; resolves once those under way have ended. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#idle = resolve));
  }
}
