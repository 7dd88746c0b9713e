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

/**
 * The GPT-6 family (gpt-6-astra, gpt-6.1-sol, gpt-6.2-sol…, and their dated snapshots): every one reasons, none can
 * be set not to, and each refuses temperature and top_p ("Unsupported parameter: 'temperature' is not supported with
 * this model."; OpenAI's latest-model guide: "When reasoning effort is not none, remove temperature, top_p, and
 * top_logprobs"; OpenGradient/tee-gateway#154 for gpt-6-astra, yologdev/yoagent v0.27.4). They take `stop`, which the
 * built-in GPT-6 models (whose `ignoredParameters` are temperature and top_p) are sent.
 */
const GPT_6_MODEL = /^gpt-6/;

/** Whether an OpenAI model name is of the GPT-6 family (see {@link GPT_6_MODEL}), built in or added by an admin. */
export const isGpt6Model = (model: string): boolean => GPT_6_MODEL.test(model);

/**
 * What an OpenAI model refuses of what the request sets, left out and named (chat-limits.ts): all of it for a
 * reasoning model of the o-series or the GPT-5 family, temperature and top_p for a GPT-6 model.
 */
export function openAILeftOut(set: ReadonlySet<SamplingParameter>, model: string): SamplingParameter[] {
  if (REASONING_MODEL.test(model)) return [...set];
  if (isGpt6Model(model)) return [...set].filter((parameter) => parameter !== 'stop');
  return [];
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
