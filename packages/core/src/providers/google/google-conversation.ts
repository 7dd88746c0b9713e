import type { ChatMessage } from '../provider-types.js';

/**
 * Gemini models that continue a conversation ending with an assistant (`model`) turn, as a prefill. Newer ones
 * answer 400 "Requests ending with a model turn are not supported." (Gemini 3.5 Flash-Lite and 3.6 Flash on,
 * tested against the API in LibreChat-AI/agents#323; 3.7 and 3.8 Flash in anomalyco/opencode#45359 and #47034);
 * Google's own pages say nothing of it. A name not listed here is taken to refuse, as pipecat does
 * (pipecat-ai/pipecat#5821): the newer the model, the likelier.
 */
const CONTINUES_PREFILL = /^gemini-(?:1\.|2\.|3-|3\.1-|3\.5-flash(?!-lite))/;

/**
 * What Gemini would refuse in a conversation's shape, for `model`, in words a person can act on; undefined when
 * it takes it: no content at all, a first turn that is the assistant's, or a last assistant turn for a model that
 * takes no prefill. Checked before any call (chat-limits.ts).
 *
 * The user first: Gemini answers a history whose first turn is the model's with 400 "Please ensure that multiturn
 * requests alternate between user and model" (NousResearch/hermes-agent#55427, 2026); Google's own SDK says a chat's
 * history "should start with a 'user' message" (@google/genai, `CreateChatParameters.history`). Refused, as for
 * Anthropic, rather than inventing a user turn or dropping the assistant's.
 */
export function googleConversationProblem(messages: readonly ChatMessage[], model: string): string | undefined {
  // The messages Gemini is sent: user and assistant ones that are not empty (an empty part is refused).
  let first: ChatMessage | undefined;
  let last: ChatMessage | undefined;
  for (const message of messages) {
    if (message.role === 'system' || message.content === '') continue;
    first ??= message;
    last = message;
  }
  if (first === undefined) return 'Google needs a message with text besides system messages (empty messages are left out).';
  if (first.role !== 'user') {
    return 'Google needs the conversation to start with a user message that has text (after any system messages; empty messages are left out), not an assistant one.';
  }
  if (last!.role === 'assistant' && !CONTINUES_PREFILL.test(model)) {
    return `${model} does not continue an assistant message (a prefill): end the conversation with a user message.`;
  }
  return undefined;
}
