import { pricesFor } from '../catalog/long-prompt-prices.js';
import type { CatalogModel } from '../catalog/model.js';
import { costOf } from '../metering/cost.js';
import type { TokenUsage } from '../providers/provider-types.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { ChatUsage } from './chat-schemas.js';

/** The contract's `usage`: the provider's own counts, mapped; `null` where the provider did not report one. */
export function usageBody(usage: TokenUsage, model: CatalogModel, keySource: KeySource): ChatUsage {
  const prompt = usage.inputTokens ?? null;
  const completion = usage.outputTokens ?? null;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt !== null && completion !== null ? prompt + completion : null,
    cached_tokens: usage.cachedInputTokens ?? null,
    cache_write_tokens: usage.cacheWriteTokens ?? null,
    reasoning_tokens: usage.reasoningTokens ?? null,
    // At the long-prompt prices where the provider bills this prompt's length so (catalog/long-prompt-prices.ts).
    cost_usd: costOf(usage, pricesFor(model, usage))?.costUsd ?? null,
    key_source: keySource,
  };
}

/** Streams report cumulative counts: a later report replaces earlier values field by field, never adds. */
export function latestUsage(previous: TokenUsage, next: TokenUsage): TokenUsage {
  const merged: TokenUsage = { ...previous };
  for (const [field, value] of Object.entries(next) as Array<[keyof TokenUsage, number | undefined]>) {
    if (value !== undefined) merged[field] = value;
  }
  return merged;
}
