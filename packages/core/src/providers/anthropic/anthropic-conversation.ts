import type { ChatMessage } from '../provider-types.js';

/**
 * Claude models that continue a conversation ending with an assistant message (a prefill): those before 4.6.
 * From 4.6 on the API answers 400 ("Prefilling assistant messages returns a 400 error on Claude 4.6 models",
 * https://platform.claude.com/docs/en/about-claude/models/migration-guide; "This model does not support assistant
 * message prefill. The conversation must end with a user message."), and so do the models since; a name not
 * listed here is taken to be one of those.
 */
const CONTINUES_PREFILL = /^claude-(?:3-|(?:opus|sonnet|haiku)-4(?:-[0-5])?(?:-\d{8})?$)/;

/**
 * What Anthropic would refuse in a conversation's shape, for `model`, in words a person can act on; undefined
 * when it takes it. The API wants the user to speak first, and newer models the user to speak last. Checked
 * before any call (chat-limits.ts), as what cannot be fixed without changing what was said is refused rather
 * than fixed.
 */
export function anthropicConversationProblem(messages: readonly ChatMessage[], model: string): string | undefined {
  // The messages Anthropic is sent: user and assistant ones with text (it refuses whitespace-only ones).
  let first: ChatMessage | undefined;
  let last: ChatMessage | undefined;
  for (const message of messages) {
    if (message.role === 'system' || message.content.trim() === '') continue;
    first ??= message;
    last = message;
  }
  if (first === undefined) {
    return 'Anthropic needs a user message with text besides system messages (empty and whitespace-only messages are left out).';
  }
  if (first.role !== 'user') {
    return 'Anthropic needs the conversation to start with a user message that has text (after any system messages; empty and whitespace-only messages are left out), not an assistant one.';
  }
  if (last!.role === 'assistant' && !CONTINUES_PREFILL.test(model)) {
    return `${model} does not continue an assistant message (a prefill): end the conversation with a user message.`;
  }
  return undefined;
}
