import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS, USER_GUIDE_SONNET_4_5_ID } from '../catalog/built-in-models.js';
import { utf8Length } from '../bytes.js';
import { worstCaseCostUsd } from './budget-guard.js';

const sonnet = BUILT_IN_MODELS.find((model) => model.id === USER_GUIDE_SONNET_4_5_ID)!;

describe('worst case held against a budget', () => {
  it('counts the prompt in UTF-8 bytes, the most tokens any byte-level tokenizer can make of it', () => {
    for (const text of [
      '',
      'Hey!',
      'café',
      'こんにちは',
      '👋🏽 hi',
      'a\u{10FFFF}b',
      '\uD800 lone',
      'end \uDBFF',
      '\uDC00\uD800',
      'x'.repeat(10_000),
    ]) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(Buffer.byteLength(text, 'utf8'));
    }
  });

  it('holds max_tokens at the output price plus the prompt bytes and 8 per message at the input price', () => {
    // Sonnet 4.5: $3 per million input tokens, $15 per million output tokens.
    const request = {
      model: sonnet.model,
      messages: [
        { role: 'system' as const, content: 'Be brief.' }, // 9 bytes
        { role: 'user' as const, content: '👋 こんにちは' }, // 4 + 1 + 15 = 20 bytes
      ],
      maxTokens: 100,
    };
    // (9 + 8 + 20 + 8) × 3 + 100 × 15 = 135 + 1500 micro-dollars.
    expect(worstCaseCostUsd(sonnet, request)).toBe('0.001635');
  });

  it('holds nothing for a model without prices', () => {
    expect(
      worstCaseCostUsd({ ...sonnet, pricing: null }, { model: sonnet.model, messages: [{ role: 'user', content: 'hi' }], maxTokens: 10 }),
    ).toBe('0');
  });
});
