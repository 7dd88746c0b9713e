import type { TokenUsage } from '../provider-types.js';
import type { OpenAIUsage } from './openai-api.js';

/**
 * OpenAI's `usage` as byokit's {@link TokenUsage} (provider-types.ts). OpenAI's counts already have the unified
 * meaning, so they map one to one: `prompt_tokens` includes `prompt_tokens_details.cached_tokens` (cache
 * reads) and `cache_write_tokens` (cache writes: "For GPT-5.6 models and later model families, cache writes cost
 * 1.25× the uncached input token rate … OpenAI reports writes in cache_write_tokens and reads in cached_tokens",
 * https://developers.openai.com/api/docs/guides/prompt-caching), and `completion_tokens` includes
 * `completion_tokens_details.reasoning_tokens`
 * (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage). Adding the details to the
 * totals would bill them twice. A count OpenAI did not send (absent or `null`) stays `undefined`, never 0.
 */
export function convertOpenAIUsage(usage: OpenAIUsage | null | undefined): TokenUsage {
  if (usage == null) return {};
  const result: TokenUsage = {};
  setCount(result, 'inputTokens', usage.prompt_tokens);
  setCount(result, 'outputTokens', usage.completion_tokens);
  setCount(result, 'cachedInputTokens', usage.prompt_tokens_details?.cached_tokens);
  setCount(result, 'cacheWriteTokens', usage.prompt_tokens_details?.cache_write_tokens);
  setCount(result, 'reasoningTokens', usage.completion_tokens_details?.reasoning_tokens);
  return result;
}

// Only reported counts become keys, so `{}` means "nothing reported" and spreading never writes `undefined`.
function setCount(usage: TokenUsage, field: keyof TokenUsage, value: number | null | undefined): void {
  if (value != null) usage[field] = value;
}
