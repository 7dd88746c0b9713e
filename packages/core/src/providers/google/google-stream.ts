import { ByokitError } from '../../errors.js';
import type { FinishReason, ProviderStreamEvent } from '../provider-types.js';
import { parseEventData, type StreamDecoder } from '../server-sent-events.js';
import { googleResponseSchema } from './google-api.js';
import { googleStreamError } from './google-error.js';
import { candidateText, responseFinishReason } from './google-response.js';
import { convertGoogleUsage } from './google-usage.js';

// `:streamGenerateContent?alt=sse` sends each `GenerateContentResponse` as one unnamed `data:` event, with
// no end marker such as OpenAI's [DONE] (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent).
// Each chunk may carry text, the running usage and, in the last one, the finishReason.
//
// Order of what byokit emits: within a chunk, usage then text; the finish is held back until the body ends,
// so it is always the last event and follows the last usage (Gemini sends the finishReason and the final
// usage in the same chunk today, but nothing in the API promises no chunk after it). A body that ends without
// a finishReason was cut off: an error event instead.

const failure = (what: string): ProviderStreamEvent => ({
  type: 'error',
  error: new ByokitError('provider_error', `The Google API ${what}.`, { provider: 'google' }),
});

/** Decodes a Gemini stream, one zod parse per event. */
export function googleStreamDecoder(): StreamDecoder {
  let finishReason: FinishReason | undefined;
  return {
    event(data) {
      const json = parseEventData(data);
      if (isRecord(json) && 'error' in json) return [{ type: 'error', error: googleStreamError(json) }];
      const chunk = googleResponseSchema.safeParse(json);
      if (!chunk.success) return [failure('sent a stream event byokit could not read')];
      const events: ProviderStreamEvent[] = [];
      // The running usage: each replaces the previous one (Gemini streams cumulative counts; never add them).
      // Before the chunk's text (ProviderStreamEvent): a consumer gone after that text still bills this usage.
      if (chunk.data.usageMetadata !== undefined) events.push({ type: 'usage', usage: convertGoogleUsage(chunk.data.usageMetadata) });
      // Each chunk's new text, as it comes; thought summaries and empty parts are skipped.
      const text = candidateText(chunk.data.candidates?.[0]);
      if (text !== '') events.push({ type: 'text', text });
      finishReason = responseFinishReason(chunk.data) ?? finishReason;
      return events;
    },
    end: () =>
      finishReason === undefined ? [failure('ended the stream before the answer was complete')] : [{ type: 'finish', finishReason }],
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
