import type { EventSourceMessage } from 'eventsource-parser/stream';
import { ByokitError, isByokitError } from '../../errors.js';
import type { FinishReason, ProviderStreamEvent } from '../provider-types.js';
import { parseEventData, serverSentEvents } from '../server-sent-events.js';
import { googleResponseSchema, type GoogleResponse } from './google-api.js';
import { googleStreamError } from './google-error.js';
import { candidateText, responseFinishReason } from './google-response.js';
import { convertGoogleUsage } from './google-usage.js';

// `:streamGenerateContent?alt=sse` sends each `GenerateContentResponse` as one unnamed `data:` event, with
// no end marker such as OpenAI's [DONE] (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).
// Each chunk may carry text, the running usage and, in the last one, the finishReason.
//
// Order of what byokit emits: within a chunk, text then usage; the finish is held back until the body ends,
// so it is always the last event and follows the last usage (Gemini sends the finishReason and the final
// usage in the same chunk today, but nothing in the API promises no chunk after it). A body that ends without
// a finishReason was cut off: an error event instead.

type Controller = TransformStreamDefaultController<ProviderStreamEvent>;

const malformed = () =>
  new ByokitError('provider_error', 'The Google API sent a stream event byokit could not read.', { provider: 'google' });

/** The unified events of one Gemini stream, event by event. An error event ends the stream (and cancels the body). */
function googleEventTransform(): TransformStream<EventSourceMessage, ProviderStreamEvent> {
  let finishReason: FinishReason | undefined;
  const fail = (controller: Controller, error: ByokitError) => {
    controller.enqueue({ type: 'error', error });
    controller.terminate();
  };
  return new TransformStream({
    transform(message, controller) {
      const data = parseEventData(message.data);
      if (isRecord(data) && 'error' in data) return fail(controller, googleStreamError(data));
      const chunk = googleResponseSchema.safeParse(data);
      if (!chunk.success) return fail(controller, malformed());
      emitText(chunk.data, controller);
      emitUsage(chunk.data, controller);
      finishReason = responseFinishReason(chunk.data) ?? finishReason;
    },
    flush(controller) {
      controller.enqueue(
        finishReason === undefined
          ? {
              type: 'error',
              error: new ByokitError('provider_error', 'The Google API stream ended before the answer finished.', { provider: 'google' }),
            }
          : { type: 'finish', finishReason },
      );
    },
  });
}

/** Each chunk's new text, as it comes (no buffering); thought summaries and empty parts are skipped. */
function emitText(chunk: GoogleResponse, controller: Controller): void {
  const text = candidateText(chunk.candidates?.[0]);
  if (text !== '') controller.enqueue({ type: 'text', text });
}

/** The running usage: each replaces the previous one (Gemini streams cumulative counts; never add them). */
function emitUsage(chunk: GoogleResponse, controller: Controller): void {
  if (chunk.usageMetadata !== undefined) controller.enqueue({ type: 'usage', usage: convertGoogleUsage(chunk.usageMetadata) });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Iterates the events and never throws: a broken connection or an oversized event becomes an error event;
 * the caller's own abort ends the iteration quietly (it is not the provider's failure, and the caller knows).
 * Leaving the loop early cancels the pipeline, and with it the response body and the upstream request.
 */
async function* iterateSafely(
  events: ReadableStream<ProviderStreamEvent>,
  signal: AbortSignal | undefined,
): AsyncGenerator<ProviderStreamEvent> {
  const reader = events.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } catch (error) {
    if (signal?.aborted) return;
    yield {
      type: 'error',
      error: isByokitError(error)
        ? error
        : new ByokitError(
            'provider_unavailable',
            'The connection to the Google API broke mid-answer.',
            { provider: 'google' },
            { cause: error },
          ),
    };
  } finally {
    // A no-op once the stream ended; on an early exit it cancels every stage up to the response body.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * A Gemini SSE body as byokit stream events: body → size guard → TextDecoderStream → EventSourceParserStream
 * → one zod parse per event → unified events, each passed on as soon as it is parsed.
 */
export function googleStreamEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncIterable<ProviderStreamEvent> {
  return iterateSafely(serverSentEvents(body, 'google').pipeThrough(googleEventTransform()), signal);
}
