// The streaming pipeline (style.md): response body → eventsource-parser → the provider's StreamDecoder →
// unified events, each passed on as soon as it is decoded, in one async generator. No web streams: they
// cost about 100 KB per open stream and a hop per stage for every event (docs/performance.md).
import type { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';
import { ByokitError, isByokitError } from '../errors.js';
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

/**
 * A response body as unified events, through `decoder`. Iterating it never throws for the provider's sake: a
 * mid-stream error, a malformed or oversized event, or a dropped connection each arrive as one last `error`
 * event. The one exception is the caller's own abort, thrown as its signal's reason, so that an aborted answer
 * is never mistaken for a finished one. Leaving the loop early (even before the first event) closes the body,
 * which aborts the upstream request: the provider stops generating, and billing, tokens nobody will read.
 */
export function streamEvents(
  body: Readable & AsyncIterable<Uint8Array>,
  provider: Provider,
  decoder: StreamDecoder,
  signal?: AbortSignal,
): AsyncIterable<ProviderStreamEvent> {
  const events = decode(body, provider, decoder, signal);
  const iterator: AsyncIterator<ProviderStreamEvent> = {
    next: () => events.next(),
    // A generator that never started skips its cleanup on return(): close the body here in any case.
    return: () => {
      if (!body.readableEnded) body.destroy();
      return events.return(undefined);
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** One generator from body bytes to unified events: each layer of async iteration costs every event a hop. */
async function* decode(
  body: AsyncIterable<Uint8Array>,
  provider: Provider,
  decoder: StreamDecoder,
  signal: AbortSignal | undefined,
): AsyncGenerator<ProviderStreamEvent, undefined> {
  const pending: string[] = [];
  let oversized = false;
  const parser = createParser({
    // maxBufferSize catches an event growing across reads; an event that arrives whole in one read is checked here.
    onEvent: (message) => {
      if (message.data.length > MAX_EVENT_SIZE) oversized = true;
      else pending.push(message.data);
    },
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') oversized = true;
    },
    maxBufferSize: MAX_EVENT_SIZE,
  });
  const text = new TextDecoder();
  try {
    for await (const chunk of body) {
      parser.feed(text.decode(chunk, { stream: true }));
      if (oversized) {
        throw new ByokitError(
          'provider_error',
          `The provider sent an event larger than ${MAX_EVENT_SIZE} characters; the stream was cut off.`,
          {
            provider,
          },
        );
      }
      for (let index = 0; index < pending.length; index++) {
        for (const event of decoder.event(pending[index]!)) {
          yield event;
          if (event.type === 'error') return undefined;
        }
      }
      pending.length = 0;
    }
    yield* decoder.end();
  } catch (error) {
    const failure = isByokitError(error) ? error : transportError(error, provider, signal, 'broke off during the answer');
    if (!isByokitError(failure)) throw failure; // the caller's abort
    yield { type: 'error', error: failure };
  }
  return undefined;
}

/** Parses an event's JSON; undefined when it is not JSON (the caller turns that into an error event). */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
