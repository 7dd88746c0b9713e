import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { ByokitError } from '../errors.js';
import type { Provider } from '../keys/providers.js';

/** No provider event comes near this; a line this long without a newline is a broken or hostile upstream. */
export const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Refuses an event that grows past `maxBytes` without ending (spec/security.md: "an upstream SSE line of
 * 50 MB with no newline: capped, aborted, clean error"); eventsource-parser would buffer it whole.
 */
function eventSizeGuard(provider: Provider, maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let sinceBlankLine = 0;
  let previous = -1;
  return new TransformStream({
    transform(chunk, controller) {
      for (let index = 0; index < chunk.length; index++) {
        const byte = chunk[index]!;
        // An event ends at a blank line: two line breaks in a row (CR, LF, or CRLF pairs).
        if (byte === 0x0a && (previous === 0x0a || previous === 0x0d)) sinceBlankLine = 0;
        else if (++sinceBlankLine > maxBytes) {
          controller.error(
            new ByokitError('provider_error', `The provider sent an event larger than ${maxBytes} bytes; the stream was cut off.`, {
              provider,
            }),
          );
          return;
        }
        if (byte !== 0x0d) previous = byte;
      }
      controller.enqueue(chunk);
    },
  });
}

/**
 * A response body as server-sent events: body → size guard → TextDecoderStream → EventSourceParserStream
 * (eventsource-parser). Iterate it with `for await`; leaving the loop cancels the body, which aborts the
 * upstream request.
 */
export function serverSentEvents(
  body: ReadableStream<Uint8Array>,
  provider: Provider,
  maxEventBytes = MAX_EVENT_BYTES,
): ReadableStream<EventSourceMessage> {
  return body
    .pipeThrough(eventSizeGuard(provider, maxEventBytes))
    .pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
    .pipeThrough(new EventSourceParserStream());
}

/** Parses an event's JSON; undefined when it is not JSON (the caller turns that into an error event). */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
