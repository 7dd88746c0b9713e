import { describe, expect, it } from 'vitest';
import type { ModelPricing } from '../catalog/model.js';
import type { TokenUsage } from '../providers/provider-types.js';
import { billableTokens, costOf } from './cost.js';
import { formatUsd, parseUsd, usdToPico } from './usd.js';
import { seededRandom as random } from '../testing/seeded-random.js';
import { attoOf, dollarsOf, randomMoney, referenceCost } from '../testing/reference-money.js';

// Prices as the built-in catalog lists them (built-in-models.ts), frozen like the catalog's.
const CONTRACT: ModelPricing = Object.freeze({ inputPerMTokUsd: '3', outputPerMTokUsd: '15' });
const SONNET_4_5: ModelPricing = Object.freeze({
  inputPerMTokUsd: '3',
  outputPerMTokUsd: '15',
  cachedInputPerMTokUsd: '0.3',
  cacheWritePerMTokUsd: '3.75',
});
const GPT_6_2_SOL: ModelPricing = Object.freeze({
  inputPerMTokUsd: '2',
  outputPerMTokUsd: '10',
  cachedInputPerMTokUsd: '0.1',
  cacheWritePerMTokUsd: '2.5',
});
const GEMINI_3_5_FLASH_LITE: ModelPricing = Object.freeze({ inputPerMTokUsd: '0.3', outputPerMTokUsd: '2.5' });

describe('costOf', () => {
  // Each expected value is worked out by hand in the comment: tokens × USD per MTok / 1,000,000.
  it.each<[string, TokenUsage, ModelPricing, string]>([
    // 12 × 3 / 1e6 + 5 × 15 / 1e6 = 0.000036 + 0.000075
    ["the contract's example (spec/http-api.md, Chat)", { inputTokens: 12, outputTokens: 5 }, CONTRACT, '0.000111'],
    // uncached 10,000 − 6,000 − 2,000 = 2,000 × 3 = 0.006; cached 6,000 × 0.3 = 0.0018;
    // writes 2,000 × 3.75 = 0.0075; output 500 × 15 = 0.0075
    [
      'Anthropic cache reads and 5-minute cache writes',
      { inputTokens: 10_000, cachedInputTokens: 6_000, cacheWriteTokens: 2_000, outputTokens: 500 },
      SONNET_4_5,
      '0.0228',
    ],
    // uncached 176 × 2 = 0.000352; cached 1,024 × 0.1 = 0.0001024; output 3,000 (2,500 of them reasoning) × 10 = 0.03
    [
      'OpenAI cached input, with reasoning billed as output',
      { inputTokens: 1_200, cachedInputTokens: 1_024, outputTokens: 3_000, reasoningTokens: 2_500 },
      GPT_6_2_SOL,
      '0.0304544',
    ],
    // no cached price: all 5,000 input × 0.3 = 0.0015; output 800 (600 thoughts) × 2.5 = 0.002
    [
      'Gemini thinking tokens at the output price, cache hits at the input price when none is set',
      { inputTokens: 5_000, cachedInputTokens: 4_000, outputTokens: 800, reasoningTokens: 600 },
      GEMINI_3_5_FLASH_LITE,
      '0.0035',
    ],
    // 1e9 × 3 = 3,000; 1e9 × 15 = 15,000
    ['a billion tokens each way', { inputTokens: 1e9, outputTokens: 1e9 }, CONTRACT, '18000'],
    // 1,234,567,891 × 0.075 = 92.592591825; 987,654,321 × 0.000001 = 0.000987654321
    [
      'odd counts at a 6-decimal price, to the last pico-dollar',
      { inputTokens: 1_234_567_891, outputTokens: 987_654_321 },
      { inputPerMTokUsd: '0.075', outputPerMTokUsd: '0.000001' },
      '92.593579479321',
    ],
    // 10 × 15 = 0.00015, input not reported
    ['only the output reported', { outputTokens: 10 }, CONTRACT, '0.00015'],
    ['nothing reported', {}, CONTRACT, '0'],
  ])('%s', (_name, usage, pricing, costUsd) => {
    const cost = costOf(usage, pricing);
    expect(cost?.costUsd).toBe(costUsd);
    expect(cost?.costPico).toBe(usdToPico(costUsd));
  });

  it('is null when the model has no prices', () => {
    expect(costOf({ inputTokens: 12, outputTokens: 5 }, null)).toBeNull();
  });

  it('says whether both the input and output counts were reported', () => {
    expect(costOf({ inputTokens: 1, outputTokens: 1 }, CONTRACT)?.complete).toBe(true);
    expect(costOf({ inputTokens: 0, outputTokens: 0 }, CONTRACT)?.complete).toBe(true);
    expect(costOf({ outputTokens: 10 }, CONTRACT)?.complete).toBe(false);
    expect(costOf({ inputTokens: 10, reasoningTokens: 4 }, CONTRACT)?.complete).toBe(false);
  });

  it('bills every reported cache token when the cache counts exceed the input count', () => {
    // input taken as 80 + 50 = 130, none uncached: 80 × 0.3 = 0.000024; 50 × 3.75 = 0.0001875
    const usage = { inputTokens: 100, cachedInputTokens: 80, cacheWriteTokens: 50 };
    expect(billableTokens(usage)).toEqual({ uncachedInput: 0, cachedInput: 80, cacheWrite: 50, output: 0 });
    expect(costOf(usage, SONNET_4_5)?.costUsd).toBe('0.0002115');
    expect(costOf({ cachedInputTokens: 80, cacheWriteTokens: 50 }, SONNET_4_5)?.costUsd).toBe('0.0002115');
  });

  it('bills every reported reasoning token when they exceed the output count', () => {
    expect(billableTokens({ outputTokens: 10, reasoningTokens: 50 }).output).toBe(50);
    expect(costOf({ outputTokens: 10, reasoningTokens: 50 }, CONTRACT)?.costUsd).toBe('0.00075');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('refuses the token count %s', (bad) => {
    expect(() => costOf({ inputTokens: bad }, CONTRACT)).toThrow(TypeError);
    expect(() => costOf({ cachedInputTokens: bad }, CONTRACT)).toThrow(/usage\.cachedInputTokens must be a whole number/);
  });

  it('refuses a malformed price', () => {
    expect(() => costOf({ inputTokens: 1 }, { inputPerMTokUsd: '3', outputPerMTokUsd: '1e1' })).toThrow(TypeError);
  });

  it('reads prices anew from a pricing object that may change', () => {
    const pricing: ModelPricing = { inputPerMTokUsd: '3', outputPerMTokUsd: '15' };
    expect(costOf({ inputTokens: 1_000_000 }, pricing)?.costUsd).toBe('3');
    pricing.inputPerMTokUsd = '4';
    expect(costOf({ inputTokens: 1_000_000 }, pricing)?.costUsd).toBe('4');
  });
});

describe('costOf, on random usage and prices', () => {
  const next = random(20261125);
  const picoOf = (usage: TokenUsage, pricing: ModelPricing): bigint => {
    const cost = costOf(usage, pricing);
    if (!cost) throw new Error('expected a cost');
    return cost.costPico;
  };
  const upTo = (max: number) => Math.floor(next() * (max + 1));
  // A price with up to 6 decimals, from 0 to $1,000 per MTok, written as the catalog writes prices.
  const randomPrice = () => formatUsd(BigInt(upTo(1_000_000_000)) * 1_000_000n);
  const randomPricing = (): ModelPricing => ({
    inputPerMTokUsd: randomPrice(),
    outputPerMTokUsd: randomPrice(),
    ...(next() < 0.7 && { cachedInputPerMTokUsd: randomPrice() }),
    ...(next() < 0.7 && { cacheWritePerMTokUsd: randomPrice() }),
  });
  // Consistent counts (cached + writes ≤ input, reasoning ≤ output), where cost is linear in the usage.
  const randomUsage = (): Required<TokenUsage> => {
    const cachedInputTokens = upTo(1e11);
    const cacheWriteTokens = upTo(1e11);
    const reasoningTokens = upTo(1e11);
    return {
      inputTokens: cachedInputTokens + cacheWriteTokens + upTo(1e11),
      cachedInputTokens,
      cacheWriteTokens,
      outputTokens: reasoningTokens + upTo(1e11),
      reasoningTokens,
    };
  };

  it('the cost of a sum of usages is the sum of their costs', () => {
    for (let round = 0; round < 500; round++) {
      const pricing = randomPricing();
      const a = randomUsage();
      const b = randomUsage();
      const sum: TokenUsage = {
        inputTokens: a.inputTokens + b.inputTokens,
        cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
        cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
        outputTokens: a.outputTokens + b.outputTokens,
        reasoningTokens: a.reasoningTokens + b.reasoningTokens,
      };
      const parts = picoOf(a, pricing) + picoOf(b, pricing);
      expect(picoOf(sum, pricing)).toBe(parts);
    }
  });

  it('the cost of the parts of one usage is the cost of the whole', () => {
    for (let round = 0; round < 500; round++) {
      const pricing = randomPricing();
      const usage = randomUsage();
      const uncached = usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens;
      const parts =
        picoOf({ inputTokens: uncached }, pricing) +
        picoOf({ inputTokens: usage.cachedInputTokens, cachedInputTokens: usage.cachedInputTokens }, pricing) +
        picoOf({ inputTokens: usage.cacheWriteTokens, cacheWriteTokens: usage.cacheWriteTokens }, pricing) +
        picoOf({ outputTokens: usage.outputTokens }, pricing);
      expect(picoOf(usage, pricing)).toBe(parts);
    }
  });

  it('scales exactly with the token count', () => {
    for (let round = 0; round < 500; round++) {
      const pricing = randomPricing();
      const tokens = upTo(Number.MAX_SAFE_INTEGER);
      const cost = costOf({ outputTokens: tokens }, pricing);
      expect(cost?.costPico).toBe(BigInt(tokens) * parseUsd(pricing.outputPerMTokUsd));
      expect(cost && usdToPico(cost.costUsd)).toBe(cost?.costPico);
    }
  });

  it('formatUsd and parseUsd round-trip random prices and costs', () => {
    for (let round = 0; round < 1_000; round++) {
      const price = randomPrice();
      expect(formatUsd(parseUsd(price) * 1_000_000n)).toBe(price);
      const pico = BigInt(upTo(Number.MAX_SAFE_INTEGER)) * BigInt(upTo(1_000_000));
      expect(usdToPico(formatUsd(pico))).toBe(pico);
    }
  });
});

describe('costOf, against an independent reference (BigInt atto-dollars)', () => {
  it('is exact to the last digit for any catalog price (0.000001 to 999999.999999, and 0) and any count a provider client takes', () => {
    const money = randomMoney(random(20261207));
    for (let round = 0; round < 5_000; round++) {
      const prices = money.prices();
      const tokens = money.tokens();
      const reasoningTokens = Math.min(money.count(), tokens.output);
      const usage: TokenUsage = {
        inputTokens: tokens.uncachedInput + tokens.cachedInput + tokens.cacheWrite,
        cachedInputTokens: tokens.cachedInput,
        cacheWriteTokens: tokens.cacheWrite,
        outputTokens: tokens.output,
        reasoningTokens,
      };
      const pricing: ModelPricing = {
        inputPerMTokUsd: prices.input,
        outputPerMTokUsd: prices.output,
        ...(prices.cachedInput !== undefined && { cachedInputPerMTokUsd: prices.cachedInput }),
        ...(prices.cacheWrite !== undefined && { cacheWritePerMTokUsd: prices.cacheWrite }),
      };
      const expected = referenceCost(tokens, prices);
      const cost = costOf(usage, pricing);
      expect({ round, costUsd: cost?.costUsd, atto: cost && cost.costPico * 1_000_000n }).toEqual({
        round,
        costUsd: dollarsOf(expected),
        atto: expected,
      });
      expect(attoOf(cost!.costUsd)).toBe(expected);
    }
  });
});
