import { ByokitError } from './errors.js';

/**
 * Whether a byokit still serves. Once `close()` has begun, every call (a route's or one in code) is refused at
 * once with this error, rather than reaching a provider connection or a storage already closed: that failed as
 * "The Anthropic API could not be reached" after a retry's pause, or as the storage's own error, and a chat's
 * usage record went to a closed storage. 503, as for storage that is not there (docs/http-api.md): a load
 * balancer tries another node.
 */
export function closedError(): ByokitError {
  return new ByokitError(
    'storage_unavailable',
    'This byokit is closed (byokit.close() was called): it serves no more calls. Stop serving requests before closing it.',
  );
}

/** Whether `close()` has begun; {@link assertOpen} throws {@link closedError} once it has. */
export class Lifecycle {
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Refuses every call from now on. */
  close(): void {
    this.#closed = true;
  }

  assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}
