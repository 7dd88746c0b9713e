import { describe, expect, it } from 'vitest';
import { costOf } from '../metering/cost.js';
import { BUILT_IN_MODELS } from './built-in-models.js';
import { LONG_PROMPT_RULES, pricesFor } from './long-prompt-prices.js';
import type { CatalogModel } from './model.js';

const builtIn = (name: string): CatalogModel => BUILT_IN_MODELS.find((model) => model.model === name)!;

describe('long-prompt prices', () => {
  it('are for built-in models only, each named as its provider names it', () => {
    const names = new Set(BUILT_IN_MODELS.map((model) => `${model.provider}/${model.model}`));
    for (const key of LONG_PROMPT_RULES.keys()) expect(names.has(key), key).toBe(true);
  });

  it('bill Claude Haiku 5.5 at 5× past 100,000 prompt tokens, cache reads and writes counted in the prompt', () => {
    const haiku = builtIn('claude-haiku-5-5');
    expect(pricesFor(haiku, { inputTokens: 100_000, outputTokens: 10 })).toBe(haiku.pricing);
    // 1,000 uncached, 90,000 read from the cache and 9,001 written: 100,001 prompt tokens (Anthropic's
    // input_tokens + cache_read_input_tokens + cache_creation_input_tokens).
    const usage = { inputTokens: 100_001, cachedInputTokens: 90_000, cacheWriteTokens: 9_001, outputTokens: 2_000 };
    expect(pricesFor(haiku, usage)).toEqual({
      inputPerMTokUsd: '0.5',
      outputPerMTokUsd: '2.5',
      cachedInputPerMTokUsd: '0.05',
      cacheWritePerMTokUsd: '0.625',
    });
    // 1,000 × 0.5 + 90,000 × 0.05 + 9,001 × 0.625 + 2,000 × 2.5 = 500 + 4,500 + 5,625.625 + 5,000 millionths.
    expect(costOf(usage, pricesFor(haiku, usage))!.costUsd).toBe('0.015625625');
  });

  it('bill GPT-6 models at 2× prompt and 1.5× output prices past 272,000 prompt tokens', () => {
    for (const name of ['gpt-6.2-sol', 'gpt-6.1-terra', 'gpt-6-luna']) {
      const model = builtIn(name);
      expect(pricesFor(model, { inputTokens: 272_000 }), name).toBe(model.pricing);
    }
    expect(pricesFor(builtIn('gpt-6-luna'), { inputTokens: 272_001 })).toEqual({
      inputPerMTokUsd: '0.2',
      outputPerMTokUsd: '0.75',
      cachedInputPerMTokUsd: '0.02',
      cacheWritePerMTokUsd: '0.25',
    });
  });

  it('bill a GPT-6 model an admin adds (gpt-6-astra, a dated snapshot) at the same multiples past 272,000 prompt tokens', () => {
    // OpenAI's rule is the GPT-6 family's, on each model's page: GPT-6 Astra at $10 / $50 / $1 / $12.50 bills a longer
    // prompt at $20 / $75 / $2 / $25 (BerriAI/litellm discussion #39633, "Day 0 Support for GPT-6 Astra").
    const astra: CatalogModel = {
      ...builtIn('gpt-6.2-sol'),
      id: '4b0a1f6e-2d7c-4e8a-9b3f-5c6d7e8f9a01',
      model: 'gpt-6-astra',
      displayName: 'GPT-6 Astra',
      pricing: { inputPerMTokUsd: '10', outputPerMTokUsd: '50', cachedInputPerMTokUsd: '1', cacheWritePerMTokUsd: '12.5' },
    };
    expect(pricesFor(astra, { inputTokens: 272_000 })).toBe(astra.pricing);
    expect(pricesFor(astra, { inputTokens: 272_001 })).toEqual({
      inputPerMTokUsd: '20',
      outputPerMTokUsd: '75',
      cachedInputPerMTokUsd: '2',
      cacheWritePerMTokUsd: '25',
    });
    const snapshot: CatalogModel = { ...builtIn('gpt-6.2-sol'), model: 'gpt-6.2-sol-2026-11-20' };
    expect(pricesFor(snapshot, { inputTokens: 300_000 })).toEqual(pricesFor(builtIn('gpt-6.2-sol'), { inputTokens: 300_000 }));
    // A model of another family keeps its own prices: no rule byokit knows of is its provider's.
    const older: CatalogModel = { ...builtIn('gpt-6.2-sol'), model: 'gpt-4.1' };
    expect(pricesFor(older, { inputTokens: 900_000 })).toBe(older.pricing);
  });

  it("keep the provider's factors when an admin re-prices the model, rounding a price up to the micro-dollar", () => {
    const repriced: CatalogModel = { ...builtIn('gpt-6.2-sol'), pricing: { inputPerMTokUsd: '1', outputPerMTokUsd: '0.000001' } };
    expect(pricesFor(repriced, { inputTokens: 300_000 })).toEqual({ inputPerMTokUsd: '2', outputPerMTokUsd: '0.000002' });
  });

  it('leave every other model, and an unpriced one, at its own prices', () => {
    const sonnet = builtIn('claude-sonnet-5-5');
    expect(pricesFor(sonnet, { inputTokens: 900_000 })).toBe(sonnet.pricing);
    expect(pricesFor({ ...builtIn('claude-haiku-5-5'), pricing: null }, { inputTokens: 900_000 })).toBeNull();
  });
});
