/**
 * Keep-alives for streamed answers behind a reverse proxy (docs/http-api.md, "Streams"). nginx (60 s by
 * default), AWS ALB (60 s), Heroku (30 s to the first byte, then 55 s) and Cloudflare (100 s) cut a response that
 * sends no byte for that long, and a reasoning model may think for minutes without anything byokit passes on
 * (Gemini sends nothing, OpenAI's o-series a role chunk and then nothing, Anthropic thinking deltas byokit drops).
 * So a stream that has written nothing for a whole interval writes an SSE comment, which every SSE client skips
 * (the `openai` SDK and eventsource-parser drop lines that begin with `:`, as the SSE standard says).
 *
 * One interval for the whole byokit walks the open streams: a stream arms no timer of its own, and each write
 * only sets a flag. A stream silent through one whole tick gets a comment at the next, so no silence lasts
 * longer than twice the interval.
 */
import { DEFAULT_TIMEOUT_MS } from '../providers/provider-http.js';

/** An SSE comment line: a byte on the wire for the proxy, nothing for the client. */
export const KEEP_ALIVE_COMMENT = ': keep-alive\n\n';

/** A stream the walker looks at. */
interface Watched {
  /** Set by every write; the walker clears it at each tick. */
  wrote: boolean;
  /** Called at a tick when nothing was written since the one before. */
  silent(): void;
}

/** Default interval: any silence stays under 20 s, within Heroku's 30 s for a response's first byte. */
export const DEFAULT_STREAM_KEEP_ALIVE_MS = 10_000;

/** The one interval that walks a byokit's open streams; `intervalMs` 0 turns keep-alives off. */
export class KeepAlive {
  readonly #watched = new Set<Watched>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /**
   * Whole ticks a stream's reader may go without asking for anything, with an event waiting for it, before the stream
   * is let go: at least `stalledAfterMs`.
   */
  readonly stalledAfterTicks: number;

  /**
   * @param stalledAfterMs - How long a reader that takes nothing (a client that stopped reading, its connection left
   *   open) is waited for: byokit's longest provider `timeoutMs`, the longest silence it allows a provider's stream.
   */
  constructor(intervalMs: number, stalledAfterMs = DEFAULT_TIMEOUT_MS) {
    this.stalledAfterTicks = intervalMs === 0 ? Infinity : Math.max(1, Math.ceil(stalledAfterMs / intervalMs));
    if (intervalMs === 0) return;
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    // A host's process may end while byokit is open: this interval never keeps it running.
    this.#timer.unref?.();
  }

  /** False once closed, or when made with 0: then streams go through as they are. */
  get enabled(): boolean {
    return this.#timer !== undefined;
  }

  watch(stream: Watched): void {
    this.#watched.add(stream);
  }

  unwatch(stream: Watched): void {
    this.#watched.delete(stream);
  }

  /** Stops the interval (`byokit.close()`); streams still open are no longer kept alive. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
  }

  #tick(): void {
    for (const stream of this.#watched) {
      if (stream.wrote) stream.wrote = false;
      else stream.silent();
    }
  }
}

/**
 * `events` with {@link KEEP_ALIVE_COMMENT} between them wherever a whole tick of `keepAlive` passed without one;
 * `commentFirst`: a comment before them, at once (a head written at a tick, before the provider's first event).
 */
export function keptAlive(events: AsyncIterable<string>, keepAlive: KeepAlive, commentFirst = false): AsyncIterable<string> {
  if (!keepAlive.enabled) return commentFirst ? withCommentFirst(events) : events;
  return { [Symbol.asyncIterator]: () => new KeptAliveEvents(events[Symbol.asyncIterator](), keepAlive, commentFirst) };
}

/** Closed meanwhile: the comment all the same, the head having gone for it. */
async function* withCommentFirst(events: AsyncIterable<string>): AsyncGenerator<string> {
  yield KEEP_ALIVE_COMMENT;
  yield* events;
}

/**
 * The iterator of {@link keptAlive}: a step of the source that is still under way when the walker finds the stream
 * silent is answered with a comment, and the source's step, once in, is the answer to the next call.
 */
class KeptAliveEvents implements AsyncIterator<string>, Watched {
  wrote = true;
  /** Silent ticks in a row at which the reader asked for nothing: it is not reading (its client's socket is full). */
  #stalledTicks = 0;
  #started = false;
  #ended = false;
  /** return() was called: every call from then on is answered done, as an async generator's is. */
  #returned = false;
  /** The source's step under way, if any. */
  #pending: Promise<IteratorResult<string>> | undefined;
  /** The source's step, in before anyone asked for it (a comment answered the call that waited for it). */
  #ready: { result: IteratorResult<string> } | { error: unknown } | undefined;
  /**
   * The calls waiting for an event, first come first answered: a reader may call next() again before the last call
   * is answered (an async generator queues such calls, and so does this).
   */
  readonly #waiting: Array<{ resolve(result: IteratorResult<string>): void; reject(error: unknown): void }> = [];

  constructor(
    private readonly source: AsyncIterator<string>,
    private readonly keepAlive: KeepAlive,
    private commentFirst: boolean,
  ) {}

  next(): Promise<IteratorResult<string>> {
    this.#stalledTicks = 0;
    if (this.#returned) return Promise.resolve({ done: true, value: undefined });
    if (!this.#started) {
      this.#started = true;
      this.keepAlive.watch(this);
      if (this.commentFirst) {
        this.commentFirst = false;
        // Written at a tick, as the walker's own comments are: the next one a whole interval later.
        this.wrote = false;
        return Promise.resolve({ done: false, value: KEEP_ALIVE_COMMENT });
      }
    }
    const ready = this.#ready;
    if (ready !== undefined) {
      this.#ready = undefined;
      return 'error' in ready ? Promise.reject(ready.error) : Promise.resolve(ready.result);
    }
    const answer = new Promise<IteratorResult<string>>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#step();
    return answer;
  }

  /** Asks the source for its next step, unless one is under way or nobody waits for it. */
  #step(): void {
    if (this.#pending !== undefined || this.#waiting.length === 0) return;
    const pending = this.source.next();
    this.#pending = pending;
    pending.then(
      (result) => this.#settle({ result }),
      (error: unknown) => this.#settle({ error }),
    );
  }

  async return(value?: unknown): Promise<IteratorResult<string>> {
    this.#returned = true;
    this.#ready = undefined;
    this.#end();
    // A call still waiting (a fetch body cancelled mid-read) gets the end rather than waiting on.
    for (const waiting of this.#waiting.splice(0)) waiting.resolve({ done: true, value: undefined });
    await this.source.return?.(value);
    return { done: true, value: undefined };
  }

  silent(): void {
    if (this.#ended) return;
    const waiting = this.#waiting.shift();
    if (waiting !== undefined) {
      this.#stalledTicks = 0;
      waiting.resolve({ done: false, value: KEEP_ALIVE_COMMENT });
      return;
    }
    // Nobody waits (the client's socket is full, and the writer waits on it): a comment would not go out sooner. A
    // reader that has asked for nothing that long has stopped reading, its connection left open: the stream is let go
    // as if it had left (the provider call aborted, the call recorded as aborted), rather than held paused for ever.
    // Whatever it asks for later is the stream's end.
    if (++this.#stalledTicks >= this.keepAlive.stalledAfterTicks) this.#stalled();
  }

  #stalled(): void {
    this.#returned = true;
    this.#ready = undefined;
    this.#end();
    void Promise.resolve(this.source.return?.()).catch(() => {});
  }

  #settle(step: { result: IteratorResult<string> } | { error: unknown }): void {
    this.#pending = undefined;
    this.wrote = true;
    if ('error' in step || step.result.done) this.#end();
    // The source's step under way when return() was called: no one's answer.
    if (this.#returned) return;
    const waiting = this.#waiting.shift();
    if (waiting === undefined) {
      this.#ready = step;
      return;
    }
    if ('error' in step) waiting.reject(step.error);
    else waiting.resolve(step.result);
    // Another call waits already: the source's step after this one is its answer.
    this.#step();
  }

  #end(): void {
    this.#ended = true;
    this.keepAlive.unwatch(this);
  }
}

/** The call's side of a stream that is not yet answered: whose key pays and what was left out, once known. */
export interface StreamHead {
  keySource: string;
  ignoredParameters: readonly string[];
}

/**
 * Waits for `opening` (a stream's head once the provider's first event is in), or, when the walker finds it
 * silent for a whole tick while the call is with the provider (`headOf()` answers), for that: then resolves
 * `'early'` and the route writes its head and a comment before the provider's first event, and a failure after
 * that goes as the stream's last event. A refusal that comes at once (nearly every one) is still a clean HTTP
 * error.
 */
export function firstOf(
  opening: Promise<unknown>,
  keepAlive: KeepAlive,
  headOf: () => StreamHead | undefined,
): Promise<'opened' | 'early'> {
  if (!keepAlive.enabled) return opening.then(() => 'opened' as const);
  return new Promise((resolve) => {
    const watched: Watched = {
      wrote: true,
      silent() {
        if (headOf() === undefined) return;
        keepAlive.unwatch(watched);
        resolve('early');
      },
    };
    keepAlive.watch(watched);
    const opened = () => {
      keepAlive.unwatch(watched);
      resolve('opened');
    };
    opening.then(opened, opened);
  });
}
