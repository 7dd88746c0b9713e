// OpenAI's Chat Completions wire format, as far as byokit reads it
// (https://platform.openai.com/docs/api-reference/chat). zod objects drop keys they do not name, so fields we do
// not use (annotations, logprobs, service_tier, system_fingerprint, obfuscation, audio_tokens, …) pass
// without breaking a parse; the fields we do use are checked for their type. OpenAI sends `null` for an absent
// value (`usage: null` on every chunk but the last, `content: null`), so optional fields are `nullish`.
// Internal: no zod type leaves this folder (style.md, zod in public APIs).
import { z } from 'zod';
import { tokenCount } from '../token-count.js';

/**
 * `usage` (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage). `prompt_tokens`
 * includes `prompt_tokens_details.cached_tokens` (cache reads) and `cache_write_tokens` (cache writes, reported
 * from GPT-5.6 on, which bill them above the input price); `completion_tokens` includes
 * `completion_tokens_details.reasoning_tokens`.
 */
export const openaiUsageSchema = z.object({
  prompt_tokens: tokenCount.nullish(),
  completion_tokens: tokenCount.nullish(),
  total_tokens: tokenCount.nullish(),
  prompt_tokens_details: z.object({ cached_tokens: tokenCount.nullish(), cache_write_tokens: tokenCount.nullish() }).nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: tokenCount.nullish() }).nullish(),
});

/** The wire usage, as parsed. */
export type OpenAIUsage = z.infer<typeof openaiUsageSchema>;

// `finish_reason` is a string, not an enum: OpenAI adds values, and a new one must not fail a whole answer.
// map-openai-finish-reason.ts maps the known ones exhaustively.
const finishReason = z.string().nullish();

/** A `chat.completion` object: the body of a non-streaming answer. */
export const openaiCompletionSchema = z.object({
  id: z.string(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      // `content` is null when the model answered only with a refusal (its words in `refusal`) or tool calls.
      message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
      finish_reason: finishReason,
    }),
  ),
  usage: openaiUsageSchema.nullish(),
});

/**
 * A `chat.completion.chunk` (https://platform.openai.com/docs/api-reference/chat-streaming). With
 * `stream_options.include_usage`, every chunk has `usage: null` except one last chunk whose `choices` is empty
 * and whose `usage` covers the whole request; it comes after the chunk carrying `finish_reason`.
 */
export const openaiChunkSchema = z.object({
  choices: z.array(
    z.object({
      index: z.number().int(),
      // Absent or empty on the chunk that only carries the finish reason. A refusal streams in `refusal`.
      delta: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }).nullish(),
      finish_reason: finishReason,
    }),
  ),
  usage: openaiUsageSchema.nullish(),
});

/** A parsed `chat.completion.chunk`. */
export type OpenAIChunk = z.infer<typeof openaiChunkSchema>;

/**
 * OpenAI's error body (https://platform.openai.com/docs/guides/error-codes), also sent as a `data:` event inside
 * a stream that already began. Read loosely: OpenAI-compatible gateways send numeric codes, and `message` is the
 * one field byokit passes on (scrubbed).
 */
export const openaiErrorSchema = z.object({
  error: z.object({
    message: z.string().nullish(),
    type: z.string().nullish(),
    code: z.union([z.string(), z.number()]).nullish(),
  }),
});

/** The `error` object of an OpenAI error body. */
export type OpenAIError = z.infer<typeof openaiErrorSchema>['error'];
