import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BUILT_IN_MODELS, USER_GUIDE_SONNET_4_5_ID } from '../catalog/built-in-models.js';
import { utf8Length } from '../bytes.js';
import { BudgetGuard, worstCaseCostUsd } from './budget-guard.js';
import { memoryStorage } from '../storage/memory-storage.js';
import { silentLogger } from '../logging/logger.js';
import { costOf } from './cost.js';
import { parseUsd, PICO_DECIMALS } from './usd.js';

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

  it('holds max_tokens at the output price plus the prompt bytes and 8 per message at the highest prompt price', () => {
    // Sonnet 4.5: $3 per million input tokens, $3.75 per million written to the cache, $15 per million output tokens.
    const request = {
      model: sonnet.model,
      messages: [
        { role: 'system' as const, content: 'Be brief.' }, // 9 bytes
        { role: 'user' as const, content: '👋 こんにちは' }, // 4 + 1 + 15 = 20 bytes
      ],
      maxTokens: 100,
    };
    // (9 + 8 + 20 + 8) × 3.75 + 100 × 15 = 168.75 + 1500 micro-dollars.
    expect(worstCaseCostUsd(sonnet, request)).toBe('0.00166875');
  });

  it('holds nothing for a model without prices', () => {
    expect(
      worstCaseCostUsd({ ...sonnet, pricing: null }, { model: sonnet.model, messages: [{ role: 'user', content: 'hi' }], maxTokens: 10 }),
    ).toBe('0');
  });

  it('holds at least what a prompt costs when the provider writes all of it to its cache, at a price above the input price', () => {
    // OpenAI caches long prompts on its own, without being asked, and bills the writes at 1.25× the input
    // price from GPT-5.6 on (cache_write_tokens); Anthropic's cache writes cost 1.25× too.
    const written = BUILT_IN_MODELS.filter((model) => {
      const pricing = model.pricing;
      return pricing?.cacheWritePerMTokUsd !== undefined && parseUsd(pricing.cacheWritePerMTokUsd) > parseUsd(pricing.inputPerMTokUsd);
    });
    expect(written.map((model) => model.provider)).toEqual(expect.arrayContaining(['anthropic', 'openai']));
    const content = 'x'.repeat(4096);
    for (const model of written) {
      const request = { model: model.model, messages: [{ role: 'user' as const, content }], maxTokens: 100 };
      const promptTokens = utf8Length(content) + 8;
      const billed = costOf({ inputTokens: promptTokens, cacheWriteTokens: promptTokens, outputTokens: 100 }, model.pricing)!;
      expect(parseUsd(worstCaseCostUsd(model, request), PICO_DECIMALS), model.model).toBeGreaterThanOrEqual(billed.costPico);
    }
  });

  it("holds a prompt past its provider's long-prompt threshold at the long-prompt prices (Haiku 5.5: 5× past 100,000 tokens)", () => {
    const haiku = BUILT_IN_MODELS.find((model) => model.model === 'claude-haiku-5-5')!;
    // 120,000 bytes of prompt, 120,008 tokens at most: the whole request at $0.625 (cache writes, the dearest
    // prompt class: 5 × $0.125) and $2.50 output per million, as Anthropic bills it.
    const request = { model: haiku.model, messages: [{ role: 'user' as const, content: 'x'.repeat(120_000) }], maxTokens: 1_000 };
    expect(worstCaseCostUsd(haiku, request)).toBe('0.077505');
  });
});

describe("a running call's hold", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }));
  afterEach(() => vi.useRealTimers());

  async function heldCall() {
    let clock = Date.UTC(2026, 10, 25, 12);
    const storage = memoryStorage();
    await storage.setBudget('alice', { monthlyLimitUsd: '1', appliesTo: 'all', updatedAt: new Date(clock) });
    const guard = new BudgetGuard(storage, () => new Date(clock), silentLogger);
    const request = { model: sonnet.model, messages: [{ role: 'user' as const, content: 'Hello!' }], maxTokens: 100 };
    const holdId = (await guard.hold('alice', sonnet, request, 'system'))!;
    const stop = guard.renewWhileRunning(holdId, 'request-1');
    const minutesLater = async (minutes: number) => {
      for (let minute = 0; minute < minutes; minute++) {
        clock += 60_000;
        await vi.advanceTimersByTimeAsync(60_000);
      }
    };
    const period = { start: new Date(Date.UTC(2026, 10, 1)), end: new Date(Date.UTC(2026, 11, 1)) };
    const held = async () => (await storage.budgetUse('alice', period, 'all', new Date(clock))).heldUsd;
    return { stop, minutesLater, held };
  }

  it('counts while the call runs, past the 15 minutes a hold lasts, and stops counting 15 minutes after renewal stops', async () => {
    const { stop, minutesLater, held } = await heldCall();
    await minutesLater(40);
    expect(await held()).toBe('0.0015525');
    stop();
    await minutesLater(14);
    expect(await held()).toBe('0.0015525');
    await minutesLater(2);
    expect(await held()).toBe('0');
  });

  it('is renewed for 3 hours at most: a call that never ends (a stream no one reads or cancels) holds no longer than 3 h 15 min', async () => {
    const { minutesLater, held } = await heldCall();
    await minutesLater(3 * 60 + 14);
    expect(await held()).toBe('0.0015525');
    await minutesLater(2);
    expect(await held()).toBe('0');
  });
});

describe("a running call's hold, on a host's storage whose renewHold is not a well-behaved async function", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }));
  afterEach(() => vi.useRealTimers());

  async function renewing(renewHold: (holdId: string, expiresAt: Date) => Promise<void>) {
    const clock = Date.UTC(2026, 10, 25, 12);
    const storage = { ...memoryStorage(), renewHold };
    const errors: Array<Record<string, unknown>> = [];
    const logger = { ...silentLogger, error: (object: Record<string, unknown>, message: string) => errors.push({ ...object, message }) };
    const guard = new BudgetGuard(storage, () => new Date(clock), logger);
    return { stop: guard.renewWhileRunning('hold-1', 'request-1'), errors };
  }

  it('logs a renewal that throws at once (a closed connection) and tries the next, rather than crashing the process from its timer', async () => {
    let tries = 0;
    const { stop, errors } = await renewing(() => {
      tries++;
      throw new Error('connection closed');
    });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    stop();
    expect(tries).toBe(2);
    expect(errors).toEqual([
      { requestId: 'request-1', err: expect.objectContaining({ message: 'connection closed' }), message: 'budget hold not renewed' },
      { requestId: 'request-1', err: expect.objectContaining({ message: 'connection closed' }), message: 'budget hold not renewed' },
    ]);
  });

  it('takes a renewHold that returns no promise (plain JavaScript) without an error from its timer', async () => {
    let tries = 0;
    const { stop, errors } = await renewing((() => {
      tries++;
    }) as unknown as () => Promise<void>);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    stop();
    expect(tries).toBe(2);
    expect(errors).toEqual([]);
  });
});

// Budgets protect money and fail closed: a host's holdBudget that answers none of the three outcomes (one that forgot
// to return, a status in its own words, its row) let every call through unlimited, its user over budget or not.
describe("a host's storage whose holdBudget answers no outcome", () => {
  it.each<[string, unknown]>([
    ['undefined (a function that forgot to return)', undefined],
    ["'HELD'", 'HELD'],
    ["{ outcome: 'exceeded' }", { outcome: 'exceeded' }],
  ])('refuses the call, and ends the hold it may have saved: %s', async (_what, outcome) => {
    const storage = memoryStorage();
    await storage.setBudget('alice', { monthlyLimitUsd: '0.000001', appliesTo: 'all', updatedAt: new Date() });
    const ended: string[] = [];
    const held: string[] = [];
    const guard = new BudgetGuard(
      {
        ...storage,
        holdBudget: async (hold) => {
          held.push(hold.id);
          return outcome as never;
        },
      },
      () => new Date(),
      silentLogger,
      (holdId) => ended.push(holdId),
    );
    const request = { model: sonnet.model, messages: [{ role: 'user' as const, content: 'Hello!' }], maxTokens: 100 };
    await expect(guard.hold('alice', sonnet, request, 'system')).rejects.toThrow(
      "the storage's holdBudget answered none of 'held', 'exceeded' or 'unlimited'",
    );
    expect(ended).toEqual(held);
  });
});
