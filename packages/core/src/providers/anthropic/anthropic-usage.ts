import type { TokenUsage } from '../provider-types.js';
import type { AnthropicUsage } from './anthropic-api.js';

/**
 * Anthropic's usage in byokit's meaning (provider-types.ts, TokenUsage). Anthropic's `input_tokens` counts
 * only the prompt tokens after the last cache breakpoint, so the whole prompt is `input_tokens +
 * cache_read_input_tokens + cache_creation_input_tokens`
 * (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance).
 * A count Anthropic did not report stays `undefined`, never 0; when `input_tokens` itself is missing the
 * prompt total is unknown, whatever the cache fields say. Cache fields that are missing add nothing.
 */
export function convertAnthropicUsage(usage: AnthropicUsage): TokenUsage {
  const input = reported(usage.input_tokens);
  const cacheRead = reported(usage.cache_read_input_tokens);
  const cacheWrite = reported(usage.cache_creation_input_tokens);
  const result: TokenUsage = {};
  if (input !== undefined) result.inputTokens = input + (cacheRead ?? 0) + (cacheWrite ?? 0);
  const output = reported(usage.output_tokens);
  if (output !== undefined) result.outputTokens = output;
  if (cacheRead !== undefined) result.cachedInputTokens = cacheRead;
  if (cacheWrite !== undefined) result.cacheWriteTokens = cacheWrite;
  // `output_tokens` already includes thinking; the detail is reported by newer models only.
  const reasoning = reported(usage.output_tokens_details?.thinking_tokens);
  if (reasoning !== undefined) result.reasoningTokens = reasoning;
  return result;
}

/**
 * The usage so far after a later stream event. Anthropic streams cumulative counts: `message_start` has
 * the prompt, each `message_delta` the totals so far, and a `message_delta` may leave fields out
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types: "the token counts shown in
 * the usage field of the message_delta event are cumulative"; fixture duplicate-message-start has only
 * `output_tokens` there). So a later value replaces the earlier one field by field; nothing is ever added up, and a
 * field the later event does not carry keeps its earlier value.
 */
export function mergeAnthropicUsage(previous: AnthropicUsage, next: AnthropicUsage): AnthropicUsage {
  return {
    input_tokens: next.input_tokens ?? previous.input_tokens,
    output_tokens: next.output_tokens ?? previous.output_tokens,
    cache_creation_input_tokens: next.cache_creation_input_tokens ?? previous.cache_creation_input_tokens,
    cache_read_input_tokens: next.cache_read_input_tokens ?? previous.cache_read_input_tokens,
    output_tokens_details:
      next.output_tokens_details?.thinking_tokens != null ? next.output_tokens_details : previous.output_tokens_details,
  };
}

/** `null` (sent for some cache fields) means not reported, like a missing field. */
const reported = (count: number | null | undefined): number | undefined => count ?? undefined;
