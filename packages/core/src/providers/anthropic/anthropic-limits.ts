import type { SamplingParameter } from '../../catalog/model.js';
import { anthropicConversationProblem } from './anthropic-conversation.js';

/**
 * What Anthropic refuses together: 400 "`temperature` and `top_p` cannot both be specified for this model. Please use
 * only one." (the models after Claude 3; applied to every Anthropic model, as the client always did). Temperature,
 * the setting people mean, is kept and top_p left out, as vercel/ai does; the chat service names it in
 * `x-byok-ignored-parameters`.
 */
export function anthropicLeftOut(set: ReadonlySet<SamplingParameter>): SamplingParameter[] {
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
