import type { ChatMessage, MappedRequest, ProviderChatRequest } from '../provider-types.js';
import { OPENAI_LIMITS } from './openai-limits.js';

/** The Chat Completions request body byokit sends (https://platform.openai.com/docs/api-reference/chat/create). */
export interface OpenAIRequestBody {
  model: string;
  messages: ChatMessage[];
  max_completion_tokens: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  stream: boolean;
  stream_options?: { include_usage: boolean };
}

/**
 * Maps a unified chat request to a Chat Completions body:
 * - messages as they are: OpenAI takes the same roles, `system` included (reasoning models read it as a
 *   `developer` message themselves);
 * - `maxTokens` as `max_completion_tokens`, not the deprecated `max_tokens`, which reasoning models refuse with
 *   HTTP 400 "Unsupported parameter: 'max_tokens' … Use 'max_completion_tokens' instead"
 *   (fixtures/openai/reasoning-model-legacy-parameter-error.json);
 * - with `stream`, `stream_options: { include_usage: true }`, without which a stream reports no usage at all: one
 *   last chunk then carries the usage of the whole request
 *   (https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options).
 *
 * What OpenAI would refuse becomes a warning and is left out, not a crash (style.md): stop sequences past the
 * fourth. The chat route already refuses those with a 422; this guards other callers.
 */
export function convertToOpenAIRequest(request: ProviderChatRequest, stream: boolean): MappedRequest<OpenAIRequestBody> {
  const warnings: string[] = [];
  const body: OpenAIRequestBody = {
    model: request.model,
    // Copied field by field, so nothing but role and content ever reaches the provider.
    messages: request.messages.map(({ role, content }) => ({ role, content })),
    max_completion_tokens: request.maxTokens,
    ...(request.temperature !== undefined && { temperature: request.temperature }),
    ...(request.topP !== undefined && { top_p: request.topP }),
    ...(request.stop !== undefined && request.stop.length > 0 && { stop: stopSequences(request.stop, warnings) }),
    stream,
    ...(stream && { stream_options: { include_usage: true } }),
  };
  return { body, warnings };
}

function stopSequences(stop: string[], warnings: string[]): string[] {
  if (stop.length <= OPENAI_LIMITS.maxStopSequences) return stop;
  warnings.push(`stop: OpenAI takes at most ${OPENAI_LIMITS.maxStopSequences} stop sequences; the rest were left out.`);
  return stop.slice(0, OPENAI_LIMITS.maxStopSequences);
}
