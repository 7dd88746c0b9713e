import { ByokitError } from '../../errors.js';
import type { FinishReason, ProviderStreamEvent } from '../provider-types.js';
import { parseEventData, type StreamDecoder } from '../server-sent-events.js';
import { openaiChunkSchema, openaiErrorSchema, type OpenAIChunk } from './openai-api.js';
import { openaiErrorToByokitError } from './openai-error.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { convertOpenAIUsage } from './openai-usage.js';

/**
 * Decodes a Chat Completions stream, each event parsed with its zod schema. OpenAI sends the chunk carrying
 * `finish_reason` before the chunk carrying `usage`, then `data: [DONE]`
 * (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options). The finish is held
 * and sent at `[DONE]` (or when the body ends), so consumers always get `usage` before `finish`, and `finish` is
 * the last event of a complete answer. Nothing after `[DONE]` is read.
 */
export function openaiStreamDecoder(): StreamDecoder {
  let finishReason: FinishReason | undefined;
  // A refusal streams its words in `delta.refusal` and ends with `finish_reason: "stop"`: it finishes as
  // `content_filter` (openai-client.ts, complete).
  let refused = false;
  let done = false;
  const finish = (reason: FinishReason): ProviderStreamEvent => ({ type: 'finish', finishReason: refused ? 'content_filter' : reason });
  return {
    event(data) {
      if (done) return [];
      if (data === '[DONE]') {
        done = true;
        return [finish(finishReason ?? mapOpenAIFinishReason(undefined))];
      }
      const json = parseEventData(data);
      // `data: {"error": {…}}` after HTTP 200: the answer failed mid-way.
      const error = openaiErrorSchema.safeParse(json);
      if (error.success) return [{ type: 'error', error: openaiErrorToByokitError(error.data.error) }];
      const chunk = openaiChunkSchema.safeParse(json);
      // Not JSON or not a chunk: the rest of the stream cannot be trusted. The data is not echoed.
      if (!chunk.success) return [failure('sent a stream event byokit could not read')];
      const events = chunkEvents(chunk.data);
      const choice = chunk.data.choices.find((candidate) => candidate.index === 0);
      if (choice?.delta?.refusal) refused = true;
      if (choice?.finish_reason != null) finishReason = mapOpenAIFinishReason(choice.finish_reason);
      return events;
    },
    // The body ended without `[DONE]`. After a finish reason the answer is whole (only the usage chunk may be
    // lost, which OpenAI documents for interrupted streams); before one, the answer was cut off.
    end() {
      if (done) return [];
      if (finishReason !== undefined) return [finish(finishReason)];
      return [failure('ended the stream before the answer was complete')];
    },
  };
}

/** One `chat.completion.chunk`: a text delta (the answer's or a refusal's words), and on the last chunk the usage. */
function chunkEvents(chunk: OpenAIChunk): ProviderStreamEvent[] {
  const events: ProviderStreamEvent[] = [];
  // The usage before the text (ProviderStreamEvent), should a chunk carry both.
  if (chunk.usage != null) events.push({ type: 'usage', usage: convertOpenAIUsage(chunk.usage) });
  // byokit never asks for `n` > 1, so the answer is choice 0; the usage chunk has no choices at all.
  const delta = chunk.choices.find((candidate) => candidate.index === 0)?.delta;
  // The first chunk carries `role`, an empty `content` and `refusal: null`: nothing to show.
  const text = (delta?.content ?? '') + (delta?.refusal ?? '');
  if (text) events.push({ type: 'text', text });
  return events;
}

function failure(what: string): ProviderStreamEvent {
  return { type: 'error', error: new ByokitError('provider_error', `The OpenAI API ${what}.`, { provider: 'openai' }) };
}
