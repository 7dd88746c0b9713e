import type { EventSourceMessage } from 'eventsource-parser/stream';
import { ByokitError, isByokitError } from '../../errors.js';
import type { FinishReason, ProviderStreamEvent } from '../provider-types.js';
import { parseEventData, serverSentEvents } from '../server-sent-events.js';
import { openaiChunkSchema, openaiErrorSchema, type OpenAIChunk, type OpenAIError } from './openai-api.js';
import { openaiErrorToByokitError } from './openai-error.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { convertOpenAIUsage } from './openai-usage.js';

type Controller = TransformStreamDefaultController<ProviderStreamEvent>;

/** What a stream remembers between events: the finish reason, held back until no usage can follow. */
interface StreamState {
  finishReason?: FinishReason;
}

/**
 * A Chat Completions stream as unified events: response body → server-sent events → each event parsed with its
 * zod schema → {@link openaiEventTransform}. Pulled one event at a time, nothing buffered beyond the current event.
 *
 * Iterating it never throws for the provider's sake: a mid-stream error object, a malformed event, an event
 * over the size cap or a dropped connection each arrive as one last `error` event. An `error` event is always
 * the last: the upstream request is cancelled, since the answer can no longer be completed. The one exception
 * is the caller's own abort, which is thrown as is (an `AbortError`, as fetch does), so that an aborted answer
 * is never mistaken for a finished one. Leaving the loop early cancels the body, which aborts the upstream request.
 */
export function openaiStreamEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncIterable<ProviderStreamEvent> {
  return failuresAsEvents(serverSentEvents(body, 'openai').pipeThrough(openaiEventTransform()), signal);
}

/**
 * Server-sent events of a Chat Completions stream → unified events. OpenAI sends the chunk carrying
 * `finish_reason` before the chunk carrying `usage`, then `data: [DONE]`
 * (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options). The finish is held
 * and sent at `[DONE]` (or when the body ends), so consumers always get `usage` before `finish`, and `finish` is
 * the last event of a complete answer.
 */
export function openaiEventTransform(): TransformStream<EventSourceMessage, ProviderStreamEvent> {
  const state: StreamState = {};
  return new TransformStream({
    transform(message, controller) {
      if (message.data === '[DONE]') return onDone(state, controller);
      const data = parseEventData(message.data);
      const error = openaiErrorSchema.safeParse(data);
      if (error.success) return onErrorObject(error.data.error, controller);
      const chunk = openaiChunkSchema.safeParse(data);
      if (!chunk.success) return onMalformedEvent(controller);
      onChunk(chunk.data, state, controller);
    },
    flush(controller) {
      onBodyEnd(state, controller);
    },
  });
}

/** One `chat.completion.chunk`: a text delta, the finish reason (held), and on the last chunk the usage. */
function onChunk(chunk: OpenAIChunk, state: StreamState, controller: Controller): void {
  // byokit never asks for `n` > 1, so the answer is choice 0; the usage chunk has no choices at all.
  const choice = chunk.choices.find((candidate) => candidate.index === 0);
  const text = choice?.delta?.content;
  // The first chunk carries `role` and an empty `content`: nothing to show.
  if (text) controller.enqueue({ type: 'text', text });
  if (choice?.finish_reason != null) state.finishReason = mapOpenAIFinishReason(choice.finish_reason);
  if (chunk.usage != null) controller.enqueue({ type: 'usage', usage: convertOpenAIUsage(chunk.usage) });
}

/** `data: [DONE]`: OpenAI's end of the stream. Nothing after it is read. */
function onDone(state: StreamState, controller: Controller): void {
  controller.enqueue({ type: 'finish', finishReason: state.finishReason ?? mapOpenAIFinishReason(undefined) });
  controller.terminate();
}

/** `data: {"error": {…}}` after HTTP 200: the answer failed mid-way. */
function onErrorObject(error: OpenAIError, controller: Controller): void {
  controller.enqueue({ type: 'error', error: openaiErrorToByokitError(error) });
  controller.terminate();
}

/** An event that is not JSON or not a chunk: the rest of the stream cannot be trusted. The data is not echoed. */
function onMalformedEvent(controller: Controller): void {
  const error = new ByokitError('provider_error', 'The OpenAI API sent a stream event byokit could not read.', { provider: 'openai' });
  controller.enqueue({ type: 'error', error });
  controller.terminate();
}

/**
 * The body ended without `[DONE]`. After a finish reason the answer is whole (only the usage chunk may be lost,
 * which OpenAI documents for interrupted streams); before one, the answer was cut off.
 */
function onBodyEnd(state: StreamState, controller: Controller): void {
  if (state.finishReason !== undefined) {
    controller.enqueue({ type: 'finish', finishReason: state.finishReason });
    return;
  }
  const error = new ByokitError('provider_error', 'The OpenAI API ended the stream before the answer was complete.', {
    provider: 'openai',
  });
  controller.enqueue({ type: 'error', error });
}

/**
 * Iterates `events`, turning a failure of the stream itself (a dropped connection, the size guard of
 * serverSentEvents) into a last `error` event instead of an exception, except the caller's abort, which is
 * rethrown. A hand-written iterator rather than an async generator, so that `return()` cancels the body even
 * when it comes before the first `next()`.
 */
function failuresAsEvents(events: ReadableStream<ProviderStreamEvent>, signal?: AbortSignal): AsyncIterable<ProviderStreamEvent> {
  const reader = events.getReader();
  let finished = false;
  const iterator: AsyncIterator<ProviderStreamEvent> = {
    async next() {
      if (finished) return { done: true, value: undefined };
      try {
        const result = await reader.read();
        if (result.done) finished = true;
        return result;
      } catch (error) {
        finished = true;
        if (signal?.aborted) throw error;
        return { done: false, value: { type: 'error', error: asStreamError(error) } };
      }
    },
    async return() {
      finished = true;
      // Cancelling the pipeline cancels the response body, which closes the connection: the upstream request is
      // aborted and stops generating (and billing) tokens nobody will read. It rejects once the stream failed.
      await reader.cancel().catch(() => undefined);
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

function asStreamError(error: unknown): ByokitError {
  if (isByokitError(error)) return error;
  return new ByokitError(
    'provider_unavailable',
    'The connection to the OpenAI API broke off mid-answer.',
    { provider: 'openai' },
    { cause: error },
  );
}
