import type { ModelPricing } from '../catalog/model.js';
import type { TokenUsage } from '../providers/provider-types.js';
import { formatUsd, parseUsd } from './usd.js';

/** The cost of one request. */
export interface Cost {
  /** The shortest exact decimal string of US dollars, e.g. "0.000111" (the contract's `cost_usd`). */
  costUsd: string;
  /** The same amount in pico-USD (10^-12 USD): sum these, never the strings or floats. */
  costPico: bigint;
  /**
   * False when the provider did not report the input or the output count: the cost then counts only the
   * tokens that were reported, so it is a lower bound (e.g. a stream aborted before its usage arrived).
   */
  complete: boolean;
}

/** The tokens of a request split into the classes providers price differently; they sum to every token billed. */
export interface BillableTokens {
  /** Prompt tokens neither read from nor written to the cache, billed at the input price. */
  uncachedInput: number;
  /** Prompt tokens read from the cache. */
  cachedInput: number;
  /** Prompt tokens written to the cache. */
  cacheWrite: number;
  /** Generated tokens, reasoning included, billed at the output price. */
  output: number;
}

/**
 * Splits reported usage into the classes that are billed differently (provider-types.ts: `inputTokens`
 * includes the cached and cache-write tokens; `outputTokens` includes the reasoning tokens).
 *
 * A count the provider did not report counts as 0. Inconsistent counts are resolved so that no reported
 * token goes unbilled: when cached + cache-write tokens exceed `inputTokens` (or it is missing), the input
 * is taken to be exactly those parts, with no uncached tokens; when `reasoningTokens` exceeds
 * `outputTokens`, the output is taken to be the reasoning tokens. Trusting the larger, more specific
 * counts over-bills a provider's bookkeeping error rather than hiding tokens it said it served.
 *
 * @param usage - Counts as a provider client mapped them.
 * @returns The billable split.
 * @throws TypeError when a count is not a whole number from 0 to `Number.MAX_SAFE_INTEGER` (a bug in a
 *   provider client, never user input).
 */
export function billableTokens(usage: TokenUsage): BillableTokens {
  const input = count(usage, 'inputTokens');
  const cachedInput = count(usage, 'cachedInputTokens');
  const cacheWrite = count(usage, 'cacheWriteTokens');
  const output = count(usage, 'outputTokens');
  const reasoning = count(usage, 'reasoningTokens');
  return {
    uncachedInput: Math.max(input - cachedInput - cacheWrite, 0),
    cachedInput,
    cacheWrite,
    output: Math.max(output, reasoning),
  };
}

/**
 * The exact cost of a request from its token usage and the model's prices (spec/http-api.md, "Usage and
 * billing": exact integer arithmetic):
 *
 *   uncached input × input price + cached × cached price + cache writes × cache-write price + output × output price
 *
 * A missing cached or cache-write price falls back to the input price. Reasoning tokens are part of the
 * output and billed at the output price (Anthropic, OpenAI and Gemini all bill thinking as output). Counts
 * are split and reconciled by {@link billableTokens}; a count that was not reported counts as 0 and makes
 * the result `complete: false`.
 *
 * @param usage - Counts as a provider client mapped them.
 * @param pricing - The model's prices; `null` when the catalog has none.
 * @returns The cost, or `null` when there are no prices to bill at.
 * @throws TypeError for a malformed count (see {@link billableTokens}) or price (see `parseUsd`).
 */
export function costOf(usage: TokenUsage, pricing: ModelPricing | null): Cost | null {
  if (pricing === null) return null;
  const prices = microPrices(pricing);
  const tokens = billableTokens(usage);
  const costPico =
    BigInt(tokens.uncachedInput) * prices.input +
    BigInt(tokens.cachedInput) * prices.cachedInput +
    BigInt(tokens.cacheWrite) * prices.cacheWrite +
    BigInt(tokens.output) * prices.output;
  return {
    costUsd: formatUsd(costPico),
    costPico,
    complete: usage.inputTokens !== undefined && usage.outputTokens !== undefined,
  };
}

/**
 * The prompt token class `pricing` bills highest: cache writes where their price is above the input price (and
 * not below the cached price), else cache reads where theirs is, else plain input. For a worst case that never
 * under-counts (budget-guard.ts).
 */
export function dearestPromptClass(pricing: ModelPricing): 'inputTokens' | 'cachedInputTokens' | 'cacheWriteTokens' {
  const prices = microPrices(pricing);
  if (prices.cacheWrite > prices.input && prices.cacheWrite >= prices.cachedInput) return 'cacheWriteTokens';
  return prices.cachedInput > prices.input ? 'cachedInputTokens' : 'inputTokens';
}

/** Prices in micro-USD per million tokens, so that tokens × price is pico-USD (see usd.ts). */
interface MicroPrices {
  input: bigint;
  output: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
}

// The catalog freezes its pricing objects, so their parse can be kept: costs on the hot path then parse
// nothing. A pricing object that is not frozen could change, so it is parsed on every call.
const parsedPrices = new WeakMap<ModelPricing, MicroPrices>();

function microPrices(pricing: ModelPricing): MicroPrices {
  const known = parsedPrices.get(pricing);
  if (known) return known;
  const input = parseUsd(pricing.inputPerMTokUsd);
  const prices: MicroPrices = {
    input,
    output: parseUsd(pricing.outputPerMTokUsd),
    cachedInput: pricing.cachedInputPerMTokUsd === undefined ? input : parseUsd(pricing.cachedInputPerMTokUsd),
    cacheWrite: pricing.cacheWritePerMTokUsd === undefined ? input : parseUsd(pricing.cacheWritePerMTokUsd),
  };
  if (Object.isFrozen(pricing)) parsedPrices.set(pricing, prices);
  return prices;
}

function count(usage: TokenUsage, field: keyof TokenUsage): number {
  const value = usage[field];
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`usage.${field} must be a whole number of tokens from 0 up, got ${String(value)}`);
  }
  return value;
}
