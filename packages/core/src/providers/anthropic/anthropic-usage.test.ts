import { describe, expect, it } from 'vitest';
import { convertAnthropicUsage, mergeAnthropicUsage } from './anthropic-usage.js';

describe('convertAnthropicUsage', () => {
  it('counts cache reads and writes into the prompt total, and reports each', () => {
    expect(
      convertAnthropicUsage({
        input_tokens: 6,
        cache_read_input_tokens: 6289,
        cache_creation_input_tokens: 3337,
        output_tokens: 198,
        output_tokens_details: { thinking_tokens: 40 },
      }),
    ).toEqual({ inputTokens: 9632, cachedInputTokens: 6289, cacheWriteTokens: 3337, outputTokens: 198, reasoningTokens: 40 });
  });

  it('leaves what was not reported undefined, never 0 (missing or null)', () => {
    const usage = convertAnthropicUsage({ input_tokens: 43, output_tokens: 1, cache_read_input_tokens: null });
    expect(usage).toStrictEqual({ inputTokens: 43, outputTokens: 1 });
    expect(convertAnthropicUsage({})).toStrictEqual({});
  });

  it('does not guess a prompt total without input_tokens', () => {
    expect(convertAnthropicUsage({ cache_read_input_tokens: 10, output_tokens: 2 })).toStrictEqual({
      cachedInputTokens: 10,
      outputTokens: 2,
    });
  });
});

describe('mergeAnthropicUsage', () => {
  it('replaces field by field and never adds', () => {
    const start = { input_tokens: 17, output_tokens: 1, cache_read_input_tokens: 5 };
    const merged = mergeAnthropicUsage(start, { output_tokens: 227, input_tokens: null });
    expect(convertAnthropicUsage(merged)).toEqual({ inputTokens: 22, outputTokens: 227, cachedInputTokens: 5 });
  });

  it('keeps the thinking count reported earlier when a later event sends output_tokens_details without one', () => {
    const earlier = { input_tokens: 17, output_tokens: 120, output_tokens_details: { thinking_tokens: 100 } };
    const merged = mergeAnthropicUsage(earlier, { output_tokens: 227, output_tokens_details: { thinking_tokens: null } });
    expect(convertAnthropicUsage(merged)).toEqual({ inputTokens: 17, outputTokens: 227, reasoningTokens: 100 });
  });
});
