import { ByokitError } from '../../errors.js';
import type { FinishReason, ProviderChatResponse } from '../provider-types.js';
import type { GoogleCandidate, GoogleResponse } from './google-api.js';
import { convertGoogleUsage } from './google-usage.js';
import { mapGoogleFinishReason } from './map-google-finish-reason.js';

/**
 * The answer's text in a candidate: its text parts in order, without thought summaries (`thought: true`,
 * https://ai.google.dev/gemini-api/docs/thinking#summaries) and without non-text parts.
 */
export function candidateText(candidate: GoogleCandidate | undefined): string {
  let text = '';
  for (const part of candidate?.content?.parts ?? []) {
    if (part.thought !== true && part.text !== undefined) text += part.text;
  }
  return text;
}

/**
 * Why a response (or stream chunk) ended, if it says: the first candidate's `finishReason`, or `content_filter`
 * for a prompt Google blocked before generating (`promptFeedback.blockReason` with no candidates:
 * https://ai.google.dev/api/generate-content#PromptFeedback). Undefined while a stream is still going.
 */
export function responseFinishReason(response: GoogleResponse): FinishReason | undefined {
  const candidate = response.candidates?.[0];
  if (candidate?.finishReason !== undefined) return mapGoogleFinishReason(candidate.finishReason);
  if (candidate === undefined && response.promptFeedback?.blockReason !== undefined) return 'content_filter';
  return undefined;
}

/**
 * A `:generateContent` answer, unified. byokit asks for one candidate (the default), so it reads the first.
 * A candidate with no `finishReason` did not end normally as far as Google said: `error`, not `stop`.
 */
export function convertGoogleResponse(response: GoogleResponse, requestedModel: string): ProviderChatResponse {
  const finishReason = responseFinishReason(response);
  if (finishReason === undefined && response.candidates?.[0] === undefined) {
    throw new ByokitError('provider_error', 'The Google API answered without a candidate or a reason.', { provider: 'google' });
  }
  return {
    id: response.responseId ?? '',
    model: response.modelVersion ?? requestedModel,
    content: candidateText(response.candidates?.[0]),
    finishReason: finishReason ?? 'error',
    usage: convertGoogleUsage(response.usageMetadata),
  };
}
