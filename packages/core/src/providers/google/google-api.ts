// The Gemini API's wire format, as far as byokit reads it (https://ai.google.dev/api/generate-content).
// zod objects drop keys they do not name, so fields we do not use (thoughtSignature, safetyRatings,
// citationMetadata, promptTokensDetails, functionCall parts, …) pass without breaking a parse; the fields we do
// use are checked for their type. Internal: no zod type leaves this folder (style.md, zod in public APIs).
import { z } from 'zod';
import { tokenCount } from '../token-count.js';

/**
 * One part of a candidate's content. Only text parts are read; `thought: true` marks a thought summary
 * (https://ai.google.dev/gemini-api/docs/thinking), which is not part of the answer.
 */
const googlePartSchema = z.object({
  text: z.string().optional(),
  thought: z.boolean().optional(),
});

/** A candidate answer. `finishReason` is absent until the model stops (streamed chunks before the last). */
const googleCandidateSchema = z.object({
  content: z
    .object({
      role: z.string().optional(),
      parts: z.array(googlePartSchema).optional(),
    })
    .optional(),
  // A string, not an enum: Google adds values (IMAGE_*, tool-call reasons) and a new one must not fail the
  // whole answer. map-google-finish-reason.ts maps the known ones exhaustively.
  finishReason: z.string().optional(),
});

/**
 * `usageMetadata` (https://ai.google.dev/api/generate-content#UsageMetadata). `promptTokenCount` includes
 * `cachedContentTokenCount`; `candidatesTokenCount` excludes `thoughtsTokenCount`.
 */
export const googleUsageMetadataSchema = z.object({
  promptTokenCount: tokenCount.optional(),
  candidatesTokenCount: tokenCount.optional(),
  thoughtsTokenCount: tokenCount.optional(),
  cachedContentTokenCount: tokenCount.optional(),
  totalTokenCount: tokenCount.optional(),
});

/**
 * A `GenerateContentResponse`: the body of `:generateContent` and, with the same shape, each event of
 * `:streamGenerateContent?alt=sse`. A prompt blocked before generation has no candidates and a
 * `promptFeedback.blockReason`.
 */
export const googleResponseSchema = z.object({
  candidates: z.array(googleCandidateSchema).optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: googleUsageMetadataSchema.optional(),
  modelVersion: z.string().optional(),
  responseId: z.string().optional(),
});

/**
 * One `details` entry of an error (a `google.rpc` message in JSON: https://cloud.google.com/apis/design/errors).
 * `ErrorInfo` carries `reason` (e.g. `API_KEY_INVALID`), `RetryInfo` carries `retryDelay` (e.g. `"34.4s"`).
 */
const googleErrorDetailSchema = z.object({
  '@type': z.string().optional(),
  reason: z.string().optional(),
  retryDelay: z.string().optional(),
});

/** Google's error body: `{ error: { code, message, status, details } }` (https://ai.google.dev/gemini-api/docs/troubleshooting). */
export const googleErrorSchema = z.object({
  error: z.object({
    code: z.number().int().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(googleErrorDetailSchema).optional(),
  }),
});

/** A parsed `GenerateContentResponse` (or stream chunk). */
export type GoogleResponse = z.infer<typeof googleResponseSchema>;
/** A parsed candidate. */
export type GoogleCandidate = z.infer<typeof googleCandidateSchema>;
/** A parsed `usageMetadata`. */
export type GoogleUsageMetadata = z.infer<typeof googleUsageMetadataSchema>;
/** A parsed error body. */
export type GoogleErrorBody = z.infer<typeof googleErrorSchema>;

/** One turn of `contents`: Gemini names the assistant `model`. */
export interface GoogleContent {
  role: 'user' | 'model';
  parts: { text: string }[];
}

/** The body byokit sends to `:generateContent` and `:streamGenerateContent` (https://ai.google.dev/api/generate-content#request-body). */
export interface GoogleRequestBody {
  contents: GoogleContent[];
  systemInstruction?: { parts: [{ text: string }] };
  generationConfig: {
    maxOutputTokens: number;
    temperature?: number;
    topP?: number;
    stopSequences?: string[];
  };
}
