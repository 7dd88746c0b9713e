import type { SamplingParameter } from '../../catalog/model.js';

/**
 * OpenAI's reasoning models: the o-series and the GPT-5 family (gpt-5, -mini, -nano, gpt-5.1, gpt-5.2…), not
 * gpt-5-chat-latest, a chat model. They refuse a temperature or top_p other than the default ("Unsupported value:
 * 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.") and any `stop`
 * ("Unsupported parameter: 'stop' is not supported with this model.", met by gpt-5, gpt-5-mini, gpt-5.1 and gpt-5.2
 * users: huggingface/smolagents#1662, #1868, #1893). The built-in catalog says so of its own models
 * (`ignoredParameters`); this covers the ones an admin adds by their API name, which cannot say it.
 */
const REASONING_MODEL = /^(?:o\d|gpt-5(?!-chat))/;

/** What a reasoning model refuses of what the request sets: all of it, left out and named (chat-limits.ts). */
export function openAILeftOut(set: ReadonlySet<SamplingParameter>, model: string): SamplingParameter[] {
  return REASONING_MODEL.test(model) ? [...set] : [];
}

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
  leftOut: openAILeftOut,
} as const);
