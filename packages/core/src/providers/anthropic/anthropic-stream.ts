// The streaming pipeline (style.md): response body → size guard → TextDecoderStream → EventSourceParserStream
// (server-sent-events.ts) → a TransformStream mapping each event with anthropic-stream-events.ts → an async
// iterable of unified events that yields each one as it arrives.
import type { EventSourceMessage } from 'eventsource-parser/stream';
import { ByokitError, isByokitError } from '../../errors.js';
import type { ProviderStreamEvent } from '../provider-types.js';
import { serverSentEvents } from '../server-sent-events.js';
import { mapAnthropicEventData, newAnthropicStreamState, truncatedStreamError } from './anthropic-stream-events.js';

/**
 * Unified events from Anthropic's server-sent events. The stream ends after the first `error` event
 * (terminating it cancels the body, so the upstream request is aborted), and a stream that closes before
 * `message_stop` ends with an `error` event, since the answer may be cut short.
 */
export function anthropicEvents(body: ReadableStream<Uint8Array>): ReadableStream<ProviderStreamEvent> {
  const state = newAnthropicStreamState();
  let ended = false;
  const toUnified = new TransformStream<EventSourceMessage, ProviderStreamEvent>({
    transform(message, controller) {
      if (ended) return;
      for (const event of mapAnthropicEventData(message.data, state)) {
        controller.enqueue(event);
        if (event.type === 'error') {
          ended = true;
          controller.terminate();
          return;
        }
      }
    },
    flush(controller) {
      if (!ended && !state.finished) controller.enqueue(truncatedStreamError());
    },
  });
  return serverSentEvents(body, 'anthropic').pipeThrough(toUnified);
}

/**
 * Iterates `events` one at a time, never buffering. A failure of the pipeline itself (the size guard, a
 * broken connection) becomes a final `error` event rather than an exception; only the caller's own abort
 * is thrown, as its `AbortSignal` reason, since that is not the provider's failure. Leaving the loop early
 * cancels the stream, which cancels the response body and so aborts the upstream request.
 */
export async function* iterateEvents(
  events: ReadableStream<ProviderStreamEvent>,
  signal?: AbortSignal,
): AsyncGenerator<ProviderStreamEvent> {
  const reader = events.getReader();
  try {
    for (;;) {
      let result: ReadableStreamReadResult<ProviderStreamEvent>;
      try {
        result = await reader.read();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        yield { type: 'error', error: pipelineError(error) };
        return;
      }
      if (result.done) return;
      yield result.value;
    }
  } finally {
    // On early exit this is what aborts the upstream request; after the end or an error it is a no-op.
    await reader.cancel().catch(() => {});
  }
}

function pipelineError(error: unknown): ByokitError {
  if (isByokitError(error)) return error;
  return new ByokitError(
    'provider_unavailable',
    'The connection to the Anthropic API broke off during the answer.',
    { provider: 'anthropic' },
    { cause: error },
  );
}
