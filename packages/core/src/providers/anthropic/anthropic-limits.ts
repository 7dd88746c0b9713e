import type { SamplingParameter } from '../../catalog/model.js';
import { anthropicConversationProblem } from './anthropic-conversation.js';

/**
 * Claude models that take `temperature` and `top_p`: those before Opus 4.7. Anthropic removed the sampling parameters
 * from Opus 4.7 on ("Sampling parameters removed", What's new in Claude 4.7; 400 "`temperature` is deprecated for this
 * model.", rocketride-org/rocketride-server#1194 for Opus 4.7 and 4.8), and the Claude 5 models refuse them too (their
 * model pages; the built-in ones say so as `ignoredParameters`). A name not listed here is taken to be one of those,
 * as for a prefill (anthropic-conversation.ts): leaving a setting out, named, costs less than a call that fails.
 */
const TAKES_SAMPLING = /^claude-(?:3-|(?:opus|sonnet|haiku)-4(?:-[0-6])?(?:-\d{8})?$)/;

/**
 * What an Anthropic model refuses of what the request sets, left out and named (chat-limits.ts): `temperature` and
 * `top_p` for a model that takes neither (an admin's `claude-opus-4-7`, a dated Claude 5 snapshot); otherwise `top_p`
 * beside `temperature`, which the models after Claude 3 refuse together: 400 "`temperature` and `top_p` cannot both be
 * specified for this model. Please use only one." (applied to every Anthropic model, as the client always did).
 * Temperature, the setting people mean, is kept and top_p left out, as vercel/ai does.
 */
export function anthropicLeftOut(set: ReadonlySet<SamplingParameter>, model: string): SamplingParameter[] {
  if (!TAKES_SAMPLING.test(model)) return [...set].filter((parameter) => parameter !== 'stop');
  return set.has('temperature') && set.has('top_p') ? ['top_p'] : [];
}

/**
 * Anthropic refuses a stop sequence that is only whitespace: 400 "stop_sequences: each stop sequence must contain
 * non-whitespace" (BerriAI/litellm#3286, for `stop: ["\n"]`). OpenAI and Gemini take one.
 */
export function anthropicStopSequenceProblem(sequence: string): string | undefined {
  if (sequence.trim() !== '') return undefined;
  return 'Anthropic refuses a stop sequence that is only whitespace (a newline, spaces): leave it out, or make it part of a longer one.';
}

/**
 * What the Anthropic Messages API accepts, for validating a chat request before it is sent (spec/http-api.md,
 * Chat: limits are a clear 422, not a failure at the provider). `temperature` and `top_p` are in [0, 1]
 * (https://docs.anthropic.com/en/api/messages). Anthropic's own reference gives no count for
 * `stop_sequences`; 8191 is the maximum AWS Bedrock documents for the same Messages API
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html,
 * quoted in boto/botocore#3354). Request size caps are the chat service's, and far below that. The
 * conversation's shape: anthropic-conversation.ts.
 */
export const ANTHROPIC_LIMITS = Object.freeze({
  temperature: Object.freeze({ min: 0, max: 1 }),
  topP: Object.freeze({ min: 0, max: 1 }),
  maxStopSequences: 8191,
  conversationProblem: anthropicConversationProblem,
  leftOut: anthropicLeftOut,
  stopSequenceProblem: anthropicStopSequenceProblem,
} as const);
