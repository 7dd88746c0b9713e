// The streaming pipeline (style.md): response body → eventsource-parser → the provider's StreamDecoder →
// unified events, all in undici's dispatch handler as each piece of the body arrives, queued for one reader.
// No `Readable`, no web streams and no async iteration between the stages: they cost every event a hop, and
// an open stream ~100 KB (web streams) (docs/performance.md).
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { CallDispatcher } from './host-dispatcher.js';
import { jsonOrUndefined } from '../bytes.js';
import { ByokitError, isByokitError } from '../errors.js';
import { onAbort, type Cancellation } from '../http/request-abort.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { holdsSecret } from '../keys/scrub-secrets.js';
import type { ProviderStreamEvent } from './provider-types.js';
import { transportError } from './transport-error.js';
import { compressedAnswerError } from './compressed-answer.js';

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

const CR = 13;

/** A media type short and plain enough to name in an error (`text/html`); anything else, or one holding a key, is not quoted. */
const NAMEABLE_MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,40}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,40}$/;

/**
 * Events received and not yet read beyond this many, or beyond {@link PAUSE_AT_CHARS} characters of them, the body
 * is paused until the reader catches up (below half of each).
 */
const PAUSE_AT_EVENTS = 64;
/**
 * A model's deltas are a few hundred characters, so 64 of them wait in a few dozen KB; events as large as byokit
 * reads (a gateway's, a tool call's long arguments, inline data) would have 64 MB waiting for a slow reader, per
 * stream. One largest event's worth is the bound instead.
 */
const PAUSE_AT_CHARS = MAX_EVENT_SIZE;

/** The body's end, queued behind its last events: the decoder then says how the answer closes. */
const BODY_END = Symbol('body end');

/**
 * The connection failed (reset, or silent past the timeout) behind the events received before it: the decoder then
 * says whether the answer was whole by then.
 */
class BrokeOff {
  constructor(readonly error: ByokitError) {}
}

/** What waits for the reader: an event's data, still to decode; an event made here (an error); the body's end, or its failure. */
type Received = string | ProviderStreamEvent | typeof BODY_END | BrokeOff;

/** What a streamed call's answer is once its head is in: its status and headers, its events, and how it ends. */
export interface StreamedAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** A 2xx answer's unified events; see {@link ServerSentEvents}. */
  events: ServerSentEvents;
}

/**
 * One streamed call through undici's `dispatch()`: `start()` sends it and resolves with the answer's head (it
 * rejects when the call fails before one). A 2xx body is split into server-sent events as it arrives, and each
 * event is decoded into unified events when the reader asks for it, so that the first reaches the caller without
 * waiting for the others that came with it; any other status's body is kept (up to {@link MAX_REFUSAL_BYTES})
 * for {@link ServerSentEvents.refusal}.
 *
 * Reading the events never throws for the provider's sake: a mid-stream error, a malformed or oversized event,
 * a timeout or a dropped connection each arrive as one last `error` event (the last two only when the answer was not
 * already whole by the decoder's word: then it ends as at the body's end). The one exception is the caller's
 * own abort, thrown as its signal's reason, so that an aborted answer is never mistaken for a finished one.
 * Leaving the loop early (even before the first event) aborts the upstream request: the provider stops
 * generating, and billing, tokens nobody will read.
 */
export class ServerSentEvents implements AsyncIterable<ProviderStreamEvent>, AsyncIterator<ProviderStreamEvent> {
  readonly #provider: Provider;
  readonly #decoder: StreamDecoder;
  readonly #signal: Cancellation | undefined;
  readonly #hostAsksCoding: boolean;
  #controller: Dispatcher.DispatchController | undefined;
  #stopListening = () => {};
  #head: ((answer: StreamedAnswer) => void) | undefined;
  #failedBeforeHead: ((error: unknown) => void) | undefined;
  #statusCode = 0;

  // A 2xx answer: the text decoder and parser, what was received and not yet read, and the reader.
  readonly #text = new TextDecoder();
  #parser: EventSourceParser | undefined;
  /** The text fed last ended in CR: a line's end, unless an LF follows (CRLF is one ending, not two). */
  #endsInCR = false;
  /**
   * The body's first bytes, kept (up to {@link MAX_REFUSAL_BYTES}) until its first event: a body that ends with none
   * is read for what it was instead (`#withoutEvents`). Undefined once an event came, or the body grew past that.
   */
  #lead: Buffer[] | undefined = [];
  #leadBytes = 0;
  #contentType: string | string[] | undefined;
  #oversized = false;
  readonly #received: Received[] = [];
  /** The characters of the events' data in `#received`. */
  #receivedChars = 0;
  /** Unified events of the last event decoded, not yet handed to the reader. */
  #decoded: ProviderStreamEvent[] = [];
  /** The reader's pending `next()`, when it asked before an event was there. */
  #waiting: { resolve: (result: IteratorResult<ProviderStreamEvent>) => void; reject: (error: unknown) => void } | undefined;
  /** Nothing more will be received: the body ended or broke off, or the stream was cut off. */
  #closed = false;
  /** Nothing more will be handed out: the body's end was read, an error event was, or the reader left. */
  #done = false;
  /** The caller's abort, thrown to the reader. */
  #aborted: { reason: unknown } | undefined;
  /** The upstream exchange is over (its body ended, or it failed): nothing is left to abort. */
  #ended = false;

  // Any other answer: its body, for the refusal.
  readonly #refusalChunks: Buffer[] = [];
  #refusalBytes = 0;
  #refusalBroken = false;
  #refusalEnded: ((body: unknown) => void) | undefined;
  #refusal: Promise<unknown> | undefined;

  /**
   * @param hostAsksCoding - The host's headers asked for a compressed answer (their own Accept-Encoding), which a
   * compressed answer's error then names as its cause.
   */
  constructor(provider: Provider, decoder: StreamDecoder, signal: Cancellation | undefined, hostAsksCoding = false) {
    this.#provider = provider;
    this.#decoder = decoder;
    this.#signal = signal;
    this.#hostAsksCoding = hostAsksCoding;
  }

  /** Sends the call; resolves with the answer's head, or rejects with why there is none. */
  start(dispatcher: CallDispatcher, options: Dispatcher.DispatchOptions): Promise<StreamedAnswer> {
    return new Promise((resolve, reject) => {
      this.#head = resolve;
      this.#failedBeforeHead = reject;
      // Heard from the dispatch on, not from the request's start: a request waits for a connection first (one being
      // opened, or a free one of a host's capped dispatcher), and its caller's abort must end the call at once.
      const signal = this.#signal;
      if (signal) {
        this.#stopListening = onAbort(signal, () => (this.#controller ? this.#controller.abort(signal.reason) : reject(signal.reason)));
        if (signal.aborted) return;
      }
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
    if (this.#aborted) return Promise.reject(this.#aborted.reason);
    const event = this.#take();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** The next event without taking it: the next `next()` answers it again. Undefined at the end. */
  async peek(): Promise<ProviderStreamEvent | undefined> {
    const next = await this.next();
    if (next.done) return undefined;
    this.#decoded.unshift(next.value);
    return next.value;
  }

  /** The reader left: the upstream request is aborted if it is still going. */
  return(): Promise<IteratorResult<ProviderStreamEvent>> {
    this.#finish();
    this.#answerWaiting();
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
      // Left while it waited for a connection: dropped here, before a byte of it is sent.
      if (this.#signal?.aborted) controller.abort(this.#signal.reason);
    },
    onResponseStart: (_controller, statusCode, headers) => {
      // 1xx answers are interim: the real one follows.
      if (statusCode < 200) return;
      this.#statusCode = statusCode;
      this.#contentType = headers['content-type'];
      if (statusCode < 300) this.#parser = this.#newParser();
      // A compressed stream would parse as no event at all: it ends at once, saying why, its body let go.
      const compressed = statusCode < 300 ? compressedAnswerError(this.#provider, headers, this.#hostAsksCoding) : undefined;
      if (compressed) this.#close({ type: 'error', error: compressed });
      this.#head?.({ statusCode, headers, events: this });
      if (compressed) this.#cancel();
    },
    onResponseData: (controller, chunk) => {
      if (this.#statusCode >= 300) return this.#keepRefusal(controller, chunk);
      if (this.#closed) return;
      if (this.#lead) this.#keepLead(chunk);
      const text = this.#text.decode(chunk, { stream: true });
      if (text !== '') this.#endsInCR = text.charCodeAt(text.length - 1) === CR;
      this.#parser!.feed(text);
      if (this.#oversized) {
        this.#close({ type: 'error', error: this.#oversizedError() });
        this.#cancel();
      } else if (this.#received.length >= PAUSE_AT_EVENTS || this.#receivedChars >= PAUSE_AT_CHARS) controller.pause();
      this.#answerWaiting();
    },
    onResponseEnd: () => {
      this.#ended = true;
      this.#stopListening();
      if (this.#statusCode >= 300)
        return this.#refused(this.#refusalBroken ? undefined : jsonOrUndefined(Buffer.concat(this.#refusalChunks)));
      if (this.#closed) return;
      // A CR as the body's last character ends its line, but the parser holds it back in case an LF follows. At the
      // end none will: an LF stands in for it, so that a stream whose lines end in a lone CR keeps its last event
      // (an LF after CR ends no second line). Without a CR before it, the event the body broke off in stays unsent.
      if (this.#endsInCR) this.#parser!.feed('\n');
      if (this.#oversized) this.#close({ type: 'error', error: this.#oversizedError() });
      else this.#close(this.#lead ? this.#withoutEvents(Buffer.concat(this.#lead)) : BODY_END);
      this.#answerWaiting();
    },
    onResponseError: (_controller, error) => {
      this.#ended = true;
      this.#stopListening();
      if (this.#statusCode === 0) return this.#failedBeforeHead?.(error);
      if (this.#statusCode >= 300) return this.#refused(undefined);
      if (this.#closed) return;
      const failure = transportError(error, this.#provider, this.#signal, 'broke off during the answer');
      if (isByokitError(failure)) this.#close(new BrokeOff(failure));
      else {
        this.#closed = true;
        this.#aborted = { reason: failure };
      }
      this.#answerWaiting();
    },
  };

  #keepLead(chunk: Buffer): void {
    this.#leadBytes += chunk.byteLength;
    if (this.#leadBytes > MAX_REFUSAL_BYTES) this.#lead = undefined;
    else this.#lead!.push(chunk);
  }

  /**
   * A 2xx body that ended without a single event is no stream; what closes it. A JSON error (an object with `error`,
   * each provider's shape) is read as the provider's one event, so that it is that error (as gateways answer a
   * streamed call's error, with 200), as in a plain answer, rather than a stream "cut off"; a `text/event-stream` body
   * is a stream cut off before its first event (the decoder's end says so); anything else (a whole answer, a proxy's
   * page, a website) is said to be what it is.
   */
  #withoutEvents(body: Buffer): Received {
    const json = jsonOrUndefined(body);
    // An error only: a whole answer (a gateway that ignores `stream: true`) would read as a chunk, OpenAI's without
    // its text (its `message` is no `delta`), and end as an answer, an empty one.
    if (json !== null && typeof json === 'object' && !Array.isArray(json) && 'error' in json) {
      this.#queue(JSON.stringify(json));
      return BODY_END;
    }
    const type = (Array.isArray(this.#contentType) ? this.#contentType[0] : this.#contentType)?.split(';')[0]?.trim().toLowerCase();
    // A stream of events all the same, that ended before its first event was whole (or sent only comments): cut off,
    // as the decoder says, like one cut after its first event; nothing points elsewhere.
    if (type === 'text/event-stream') return BODY_END;
    const named = type !== undefined && NAMEABLE_MEDIA_TYPE.test(type) && !holdsSecret(type) ? ` (content-type: ${type})` : '';
    return {
      type: 'error',
      error: new ByokitError(
        'provider_error',
        `The ${PROVIDER_LABELS[this.#provider]} API answered without a stream of events${named}: a gateway that does not stream, a proxy's page, or a base URL that points elsewhere.`,
        { provider: this.#provider },
      ),
    };
  }

  #oversizedError(): ByokitError {
    return new ByokitError(
      'provider_error',
      `The ${PROVIDER_LABELS[this.#provider]} API sent an event larger than ${MAX_EVENT_SIZE} characters; the stream was cut off.`,
      {
        provider: this.#provider,
      },
    );
  }

  #newParser(): EventSourceParser {
    return createParser({
      // maxBufferSize catches an event growing across reads; an event that arrives whole in one read is checked here.
      onEvent: (message) => {
        this.#lead = undefined;
        if (message.data.length > MAX_EVENT_SIZE) this.#oversized = true;
        else if (!this.#oversized) this.#queue(message.data);
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') this.#oversized = true;
      },
      maxBufferSize: MAX_EVENT_SIZE,
    });
  }

  /**
   * The next event for the reader, decoding what was received as it is asked for; undefined when there is
   * none yet, or none will come. An `error` event is the last: the upstream request is cancelled with it.
   */
  #take(): ProviderStreamEvent | undefined {
    while (this.#decoded.length === 0) {
      if (this.#done) return undefined;
      const received = this.#received.shift();
      if (received === undefined) {
        // All that was queued decoded to nothing (a run of pings past the pause): without the body flowing again,
        // nothing more would come, and the call would wait forever (undici's body timeout does not run while paused).
        // Resuming may hand over what undici holds at once, before this returns: it is looked at again.
        if (!this.#controller?.paused) return undefined;
        this.#controller.resume();
        continue;
      }
      if (typeof received === 'string') {
        this.#receivedChars -= received.length;
        this.#decoded = this.#decoder.event(received);
      } else if (received === BODY_END) {
        this.#decoded = this.#decoder.end();
        this.#done = this.#decoded.length === 0;
      } else if (received instanceof BrokeOff) {
        // An answer whole before the connection failed (OpenAI's finish, its usage chunk lost, as OpenAI warns an
        // interrupted stream may; Anthropic's message_stop) ends as at the body's end; one cut short, with the failure.
        const ending = this.#decoder.end();
        this.#decoded = ending.some((event) => event.type === 'error') ? [{ type: 'error', error: received.error }] : ending;
        this.#done = this.#decoded.length === 0;
      } else this.#decoded = [received];
    }
    const event = this.#decoded.shift()!;
    if (event.type === 'error') this.#finish();
    else if (this.#decoded.length === 0 && this.#closed && this.#received.length === 0) this.#done = true;
    else if (this.#controller?.paused && this.#received.length < PAUSE_AT_EVENTS / 2 && this.#receivedChars < PAUSE_AT_CHARS / 2)
      this.#controller.resume();
    return event;
  }

  /** Hands the waiting reader its next event, the end, or the caller's abort, if there is one now. */
  #answerWaiting(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    if (this.#aborted) {
      this.#waiting = undefined;
      return waiting.reject(this.#aborted.reason);
    }
    const event = this.#take();
    if (event === undefined && !this.#done) return;
    this.#waiting = undefined;
    waiting.resolve(event === undefined ? { value: undefined, done: true } : { value: event, done: false });
  }

  /** An event's data, received: queued for the reader, its characters counted toward the pause. */
  #queue(data: string): void {
    this.#received.push(data);
    this.#receivedChars += data.length;
  }

  /** Nothing more will be received: `last` is queued behind what was. */
  #close(last: Received): void {
    this.#closed = true;
    this.#received.push(last);
  }

  /** Nothing more is handed out, and the upstream request is cancelled if it is still going. */
  #finish(): void {
    this.#done = true;
    this.#closed = true;
    this.#received.length = 0;
    this.#receivedChars = 0;
    this.#decoded = [];
    this.#cancel();
  }

  #cancel(): void {
    this.#stopListening();
    const controller = this.#controller;
    // An ended exchange is not aborted: the reason's Error would cost its stack trace (~35 µs of CPU) for nothing.
    if (controller && !controller.aborted && !this.#ended) controller.abort(new Error('The stream was left before its end.'));
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
