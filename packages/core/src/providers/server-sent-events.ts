// The streaming pipeline (style.md): response body → eventsource-parser → the provider's StreamDecoder →
// unified events, all in undici's dispatch handler as each piece of the body arrives, queued for one reader.
// No `Readable`, no web streams and no async iteration between the stages: they cost every event a hop, and
// an open stream ~100 KB (web streams) (docs/performance.md).
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { jsonOrUndefined } from '../bytes.js';
import { ByokitError, isByokitError } from '../errors.js';
import { onAbort } from '../http/request-abort.js';
import type { Provider } from '../keys/providers.js';
import type { ProviderStreamEvent } from './provider-types.js';
import { transportError } from './transport-error.js';

/**
 * No provider event comes near this many characters; a line or event this long without its end is a broken
 * or hostile upstream (spec/security.md: "an upstream SSE line of 50 MB with no newline: capped, aborted,
 * clean error").
 */
export const MAX_EVENT_SIZE = 1024 * 1024;

/** Turns one provider's server-sent events into unified events. One decoder per stream: it holds its state. */
export interface StreamDecoder {
  /** The unified events for one event's `data`. An `error` event ends the stream. Events after the answer's end are ignored. */
  event(data: string): ProviderStreamEvent[];
  /** The body ended: what closes the answer (the finish held back), or an `error` event when it was cut short. */
  end(): ProviderStreamEvent[];
}

/** Parses an event's JSON; undefined when it is not JSON (the caller turns that into an error event). */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** A refusal's body (a non-2xx answer) is read only this far: error bodies are small. */
export const MAX_REFUSAL_BYTES = 64 * 1024;

/** Decoded events waiting for the reader beyond this many, the body is paused until it catches up. */
const PAUSE_AT_EVENTS = 64;

/** What a streamed call's answer is once its head is in: its status and headers, its events, and how it ends. */
export interface StreamedAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** A 2xx answer's unified events; see {@link ServerSentEvents}. */
  events: ServerSentEvents;
}

/**
 * One streamed call through undici's `dispatch()`: `start()` sends it and resolves with the answer's head (it
 * rejects when the call fails before one). A 2xx body is decoded into unified events as it arrives; any other
 * status's body is kept (up to {@link MAX_REFUSAL_BYTES}) for {@link ServerSentEvents.refusal}.
 *
 * Reading the events never throws for the provider's sake: a mid-stream error, a malformed or oversized event,
 * a timeout or a dropped connection each arrive as one last `error` event. The one exception is the caller's
 * own abort, thrown as its signal's reason, so that an aborted answer is never mistaken for a finished one.
 * Leaving the loop early (even before the first event) aborts the upstream request: the provider stops
 * generating, and billing, tokens nobody will read.
 */
export class ServerSentEvents implements AsyncIterable<ProviderStreamEvent>, AsyncIterator<ProviderStreamEvent> {
  readonly #provider: Provider;
  readonly #decoder: StreamDecoder;
  readonly #signal: AbortSignal | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #stopListening = () => {};
  #head: ((answer: StreamedAnswer) => void) | undefined;
  #failedBeforeHead: ((error: unknown) => void) | undefined;
  #statusCode = 0;

  // A 2xx answer: the text decoder and parser, and the events decoded and not yet read.
  readonly #text = new TextDecoder();
  #parser: EventSourceParser | undefined;
  #oversized = false;
  readonly #queue: ProviderStreamEvent[] = [];
  /** The reader's pending `next()`, when it asked before an event was there. */
  #waiting: { resolve: (result: IteratorResult<ProviderStreamEvent>) => void; reject: (error: unknown) => void } | undefined;
  /** No event will be queued any more: the body ended, an error event ended it, or the reader left. */
  #ended = false;
  /** The caller's abort: thrown to the reader once the queue is read. */
  #aborted: { reason: unknown } | undefined;

  // Any other answer: its body, for the refusal.
  readonly #refusalChunks: Buffer[] = [];
  #refusalBytes = 0;
  #refusalBroken = false;
  #refusalEnded: ((body: unknown) => void) | undefined;
  #refusal: Promise<unknown> | undefined;

  constructor(provider: Provider, decoder: StreamDecoder, signal: AbortSignal | undefined) {
    this.#provider = provider;
    this.#decoder = decoder;
    this.#signal = signal;
  }

  /** Sends the call; resolves with the answer's head, or rejects with why there is none. */
  start(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<StreamedAnswer> {
    return new Promise((resolve, reject) => {
      this.#head = resolve;
      this.#failedBeforeHead = reject;
      try {
        dispatcher.dispatch(options, this.#handler);
      } catch (error) {
        this.#stopListening();
        reject(error);
      }
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<ProviderStreamEvent> {
    return this;
  }

  next(): Promise<IteratorResult<ProviderStreamEvent>> {
    const event = this.#queue.shift();
    if (event !== undefined) {
      if (this.#controller?.paused && this.#queue.length < PAUSE_AT_EVENTS / 2) this.#controller.resume();
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#aborted) return Promise.reject(this.#aborted.reason);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** The reader left: the upstream request is aborted if it is still going. */
  return(): Promise<IteratorResult<ProviderStreamEvent>> {
    this.#end();
    this.#queue.length = 0;
    this.#cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** A refused call's body as JSON, once it has ended; undefined when it is not JSON, too large, or broke off. */
  refusal(): Promise<unknown> {
    this.#refusal ??= new Promise((resolve) => (this.#refusalEnded = resolve));
    return this.#refusal;
  }

  /** Lets a refused answer go (before another attempt): its upstream request is aborted if still going. */
  cancel(): void {
    this.#cancel();
  }

  readonly #handler: Dispatcher.DispatchHandler = {
    onRequestStart: (controller) => {
      this.#controller = controller;
      const signal = this.#signal;
      if (signal) this.#stopListening = onAbort(signal, () => controller.abort(signal.reason));
    },
    onResponseStart: (_controller, statusCode, headers) => {
      // 1xx answers are interim: the real one follows.
      if (statusCode < 200) return;
      this.#statusCode = statusCode;
      if (statusCode < 300) this.#parser = this.#newParser();
      this.#head?.({ statusCode, headers, events: this });
    },
    onResponseData: (controller, chunk) => {
      if (this.#statusCode >= 300) return this.#keepRefusal(controller, chunk);
      if (this.#ended) return;
      this.#parser!.feed(this.#text.decode(chunk, { stream: true }));
      if (this.#oversized) {
        const error = new ByokitError(
          'provider_error',
          `The provider sent an event larger than ${MAX_EVENT_SIZE} characters; the stream was cut off.`,
          {
            provider: this.#provider,
          },
        );
        this.#push({ type: 'error', error });
      }
      if (this.#ended) this.#cancel();
      else if (this.#queue.length >= PAUSE_AT_EVENTS) controller.pause();
    },
    onResponseEnd: () => {
      this.#stopListening();
      if (this.#statusCode >= 300)
        return this.#refused(this.#refusalBroken ? undefined : jsonOrUndefined(Buffer.concat(this.#refusalChunks)));
      if (!this.#ended) for (const event of this.#decoder.end()) this.#push(event);
      this.#end();
    },
    onResponseError: (_controller, error) => {
      this.#stopListening();
      if (this.#statusCode === 0) return this.#failedBeforeHead?.(error);
      if (this.#statusCode >= 300) return this.#refused(undefined);
      if (this.#ended) return;
      const failure = transportError(error, this.#provider, this.#signal, 'broke off during the answer');
      if (isByokitError(failure)) this.#push({ type: 'error', error: failure });
      else this.#abortReader(failure);
      this.#end();
    },
  };

  #newParser(): EventSourceParser {
    return createParser({
      // maxBufferSize catches an event growing across reads; an event that arrives whole in one read is checked here.
      onEvent: (message) => {
        if (message.data.length > MAX_EVENT_SIZE) this.#oversized = true;
        else if (!this.#ended && !this.#oversized) for (const event of this.#decoder.event(message.data)) this.#push(event);
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.#oversized = true;
      },
      maxBufferSize: MAX_EVENT_SIZE,
    });
  }

  /** Hands `event` to a waiting reader, or queues it; an `error` event is the last. */
  #push(event: ProviderStreamEvent): void {
    if (this.#ended) return;
    if (event.type === 'error') this.#ended = true;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ value: event, done: false });
    } else {
      this.#queue.push(event);
    }
  }

  #end(): void {
    this.#ended = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
  }

  #abortReader(reason: unknown): void {
    this.#aborted = { reason };
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(reason);
  }

  #cancel(): void {
    this.#stopListening();
    const controller = this.#controller;
    if (controller && !controller.aborted) controller.abort(new Error('The stream was left before its end.'));
  }

  #keepRefusal(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#refusalBytes += chunk.byteLength;
    if (this.#refusalBytes > MAX_REFUSAL_BYTES) {
      this.#refusalBroken = true;
      controller.abort(new Error('The refusal was larger than byokit reads.'));
      return;
    }
    this.#refusalChunks.push(chunk);
  }

  #refused(body: unknown): void {
    this.refusal();
    this.#refusalEnded!(body);
  }
}
