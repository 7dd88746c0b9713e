import type { FinishReason } from '../provider-types.js';

/**
 * Every `Candidate.FinishReason` the Gemini API documents
 * (https://ai.google.dev/api/generate-content#FinishReason).
 */
const GOOGLE_FINISH_REASONS = [
  'FINISH_REASON_UNSPECIFIED',
  'STOP',
  'MAX_TOKENS',
  'SAFETY',
  'RECITATION',
  'LANGUAGE',
  'OTHER',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'MALFORMED_FUNCTION_CALL',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_OTHER',
  'NO_IMAGE',
  'IMAGE_RECITATION',
  'UNEXPECTED_TOOL_CALL',
  'TOO_MANY_TOOL_CALLS',
  'MISSING_THOUGHT_SIGNATURE',
  'CONTINUATION',
] as const;

/** A finish reason the Gemini API documents. */
export type GoogleFinishReason = (typeof GOOGLE_FINISH_REASONS)[number];

function isGoogleFinishReason(value: string): value is GoogleFinishReason {
  return (GOOGLE_FINISH_REASONS as readonly string[]).includes(value);
}

/**
 * Gemini's finish reason in the contract's (OpenAI's) vocabulary:
 * - `STOP` (natural end or a stop sequence) → `stop`; `MAX_TOKENS` → `length`.
 * - `CONTINUATION` → `length`: Gemini 4 stopped at its output limit for one request (32,768 tokens in a non-streaming
 *   REST answer, 65,536 streamed) with `maxOutputTokens` left, and returned a `continuationToken` to resume from
 *   (https://ai.google.dev/gemini-api/docs/generate-content/long-decode). byokit does not resume it, so the answer is
 *   cut at an output limit, as with `MAX_TOKENS`; `error` would call a billed, well-formed answer a failure.
 * - Every reason that means "a policy check withheld or cut the answer" → `content_filter`: `SAFETY`,
 *   `RECITATION`, `LANGUAGE` (unsupported language), `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII` and the
 *   `IMAGE_*` policy reasons.
 * - Everything else → `error`, since the answer did not end normally and calling it `stop` would present a cut
 *   answer as complete: `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`, `TOO_MANY_TOOL_CALLS` (byokit sends
 *   no tools, so any tool call is unexpected), `MISSING_THOUGHT_SIGNATURE`, `NO_IMAGE`, `IMAGE_OTHER`, `OTHER`
 *   ("unknown reason"), `FINISH_REASON_UNSPECIFIED` ("unused") and any value Google adds later.
 */
export function mapGoogleFinishReason(finishReason: string): FinishReason {
  if (!isGoogleFinishReason(finishReason)) return 'error';
  switch (finishReason) {
    case 'STOP':
      return 'stop';
    case 'MAX_TOKENS':
    case 'CONTINUATION':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'LANGUAGE':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
    case 'IMAGE_PROHIBITED_CONTENT':
    case 'IMAGE_RECITATION':
      return 'content_filter';
    case 'MALFORMED_FUNCTION_CALL':
    case 'UNEXPECTED_TOOL_CALL':
    case 'TOO_MANY_TOOL_CALLS':
    case 'MISSING_THOUGHT_SIGNATURE':
    case 'NO_IMAGE':
    case 'IMAGE_OTHER':
    case 'OTHER':
    case 'FINISH_REASON_UNSPECIFIED':
      return 'error';
    default: {
      const _exhaustive: never = finishReason;
      return _exhaustive;
    }
  }
}
