/**
 * What the OpenAI Chat Completions API accepts, for validating a chat request before it is sent
 * (spec/http-api.md, Chat: limits are a clear 422, not a failure at the provider). From
 * https://platform.openai.com/docs/api-reference/chat/create: `temperature` from 0 to 2, `top_p` from 0 to 1,
 * `stop` up to 4 sequences.
 */
export const OPENAI_LIMITS = Object.freeze({
  temperature: Object.freeze({ min: 0, max: 2 }),
  topP: Object.freeze({ min: 0, max: 1 }),
  maxStopSequences: 4,
} as const);
