import { invalidField } from '../../errors.js';
import type { MappedRequest, ProviderChatRequest } from '../provider-types.js';
import type { AnthropicMessage, AnthropicRequestBody } from './anthropic-api.js';
import { anthropicConversationProblem } from './anthropic-conversation.js';
import { ANTHROPIC_LIMITS } from './anthropic-limits.js';

/**
 * Maps a unified chat request to the body of `POST /v1/messages` (https://docs.anthropic.com/en/api/messages):
 * - system messages become the top-level `system`, their texts joined in order by a blank line (the API has
 *   no `system` role inside `messages`);
 * - user and assistant messages keep their order; consecutive messages of one role become one turn with a
 *   text block per message, since the API merges consecutive same-role turns anyway and blocks keep each
 *   message's boundaries exactly;
 * - `maxTokens`, `temperature`, `topP`, `stop` become `max_tokens`, `temperature`, `top_p`, `stop_sequences`.
 *
 * What Anthropic would refuse becomes a warning and is left out or adjusted, not a crash (style.md):
 * - `top_p` together with `temperature`: newer models answer 400 "temperature and top_p cannot both be
 *   specified"; temperature (the setting people mean) is kept and top_p dropped, as vercel/ai does (the chat
 *   service leaves it out before this, naming it to the caller: anthropic-limits.ts);
 * - an empty or whitespace-only message ("text content blocks must contain non-whitespace text");
 * - a stop sequence that is empty or only whitespace (Anthropic refuses it: BerriAI/litellm#3286; the chat service
 *   refuses it with a 422 before this), and any past {@link ANTHROPIC_LIMITS}.maxStopSequences;
 * - trailing whitespace at the end of a final assistant message, which the API refuses ("final assistant
 *   content cannot end with trailing whitespace") and which means nothing to a prefill.
 *
 * The conversation's shape cannot be fixed without changing what was said, so it is refused instead
 * (anthropic-conversation.ts: the user first, and last for models that take no prefill): a `ByokitError`
 * `validation_failed` (HTTP 422), rather than inventing a user turn or dropping the assistant's. The chat
 * service checks the same before any call; here it guards the client used on its own.
 */
export function convertToAnthropicRequest(request: ProviderChatRequest, stream: boolean): MappedRequest<AnthropicRequestBody> {
  const warnings: string[] = [];
  const systemTexts: string[] = [];
  const messages: AnthropicMessage[] = [];

  request.messages.forEach((message, index) => {
    if (message.role === 'system') {
      if (message.content.trim() !== '') systemTexts.push(message.content);
      return;
    }
    if (message.content.trim() === '') {
      warnings.push(`messages.${index}: Anthropic refuses empty or whitespace-only messages; this one was left out.`);
      return;
    }
    const previous = messages.at(-1);
    if (previous?.role === message.role) previous.content.push({ type: 'text', text: message.content });
    else messages.push({ role: message.role, content: [{ type: 'text', text: message.content }] });
  });

  const problem = anthropicConversationProblem(request.messages, request.model);
  if (problem !== undefined) {
    throw invalidField('messages', problem, { provider: 'anthropic' });
  }
  trimFinalAssistant(messages, warnings);

  const body: AnthropicRequestBody = { model: request.model, max_tokens: request.maxTokens, messages, stream };
  if (systemTexts.length > 0) body.system = systemTexts.join('\n\n');
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) {
    if (request.temperature !== undefined) {
      warnings.push('top_p: Anthropic models refuse temperature and top_p together; temperature was kept and top_p left out.');
    } else body.top_p = request.topP;
  }
  const stopSequences = usableStopSequences(request.stop ?? [], warnings);
  if (stopSequences.length > 0) body.stop_sequences = stopSequences;
  return { body, warnings };
}

function trimFinalAssistant(messages: AnthropicMessage[], warnings: string[]): void {
  const last = messages.at(-1);
  const block = last?.role === 'assistant' ? last.content.at(-1) : undefined;
  if (block === undefined || block.text.trimEnd() === block.text) return;
  block.text = block.text.trimEnd();
  warnings.push('messages: Anthropic refuses a final assistant message ending in whitespace; the whitespace was removed.');
}

function usableStopSequences(stop: string[], warnings: string[]): string[] {
  const usable = stop.filter((sequence) => sequence.trim() !== '');
  if (usable.length < stop.length) warnings.push('stop: Anthropic refuses empty or whitespace-only stop sequences; they were left out.');
  if (usable.length > ANTHROPIC_LIMITS.maxStopSequences) {
    warnings.push(`stop: Anthropic takes at most ${ANTHROPIC_LIMITS.maxStopSequences} stop sequences; the rest were left out.`);
    return usable.slice(0, ANTHROPIC_LIMITS.maxStopSequences);
  }
  return usable;
}
