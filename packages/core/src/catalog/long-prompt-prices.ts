import { billableTokens } from '../metering/cost.js';
import { formatUsd, parseUsd } from '../metering/usd.js';
import { isGpt6Model } from '../providers/openai/openai-limits.js';
import type { TokenUsage } from '../providers/provider-types.js';
import type { CatalogModel, ModelPricing } from './model.js';

/**
 * A provider's price rule for long prompts: a request whose prompt (every prompt token, cache reads and writes
 * included: byokit's `inputTokens`) is longer than `aboveTokens` is billed whole, output included, at its
 * model's prices times these factors. Factors, not prices, so that the rule keeps holding when an admin re-prices
 * the model (`PATCH /llm-models/{id}`): the provider bills a long prompt at a multiple of whatever its base
 * price is.
 */
export interface LongPromptRule {
  /** The longest prompt billed at the base prices; one token more is billed at the long-prompt prices. */
  aboveTokens: number;
  /** Factor of the input, cached-input and cache-write prices. */
  prompt: Factor;
  /** Factor of the output price. */
  output: Factor;
}

/** An exact factor, `numerator / denominator` (1.5 is 3 / 2): prices stay exact decimals. */
interface Factor {
  numerator: bigint;
  denominator: bigint;
}

const times = (numerator: number, denominator = 1): Factor => ({ numerator: BigInt(numerator), denominator: BigInt(denominator) });

// OpenAI's rule for GPT-6 models, the same on each model page: "For requests with more than 272K input tokens,
// input and cache rates double and output costs 1.5 times the short-context rate for the full request"
// (https://developers.openai.com/api/docs/models/gpt-6.2-sol; gpt-6.1-terra and gpt-6-luna say the same, and so
// do the pages of the GPT-6 models byokit does not build in, gpt-6-astra and gpt-6.1-sol among them).
const OPENAI_GPT_6: LongPromptRule = Object.freeze({ aboveTokens: 272_000, prompt: times(2), output: times(3, 2) });

/**
 * The built-in models priced by prompt length, by `"<provider>/<model>"` (the provider's rule is for its model,
 * whatever its id or prices here). Sources are in each model's comment in built-in-models.ts.
 */
export const LONG_PROMPT_RULES: ReadonlyMap<string, LongPromptRule> = new Map([
  // Claude Haiku 5.5: a prompt over 100,000 tokens bills the whole request at 5× ($0.50 / $2.50 / $0.625 / $0.05),
  // https://platform.claude.com/docs/en/models/haiku-5-5/overview ("Input pricing: From $0.10 / MTok").
  ['anthropic/claude-haiku-5-5', Object.freeze({ aboveTokens: 100_000, prompt: times(5), output: times(5) })],
  ['openai/gpt-6.2-sol', OPENAI_GPT_6],
  ['openai/gpt-6.1-terra', OPENAI_GPT_6],
  ['openai/gpt-6-luna', OPENAI_GPT_6],
]);

/**
 * The long-prompt rule of a model, if its provider prices it by prompt length: a built-in model's, or OpenAI's for
 * any GPT-6 model, which is the family's (one an admin adds, such as gpt-6-astra or a dated snapshot, included).
 */
export function longPromptRule(model: Pick<CatalogModel, 'provider' | 'model'>): LongPromptRule | undefined {
  const builtIn = LONG_PROMPT_RULES.get(`${model.provider}/${model.model}`);
  if (builtIn !== undefined) return builtIn;
  return model.provider === 'openai' && isGpt6Model(model.model) ? OPENAI_GPT_6 : undefined;
}

/**
 * The prices a call to `model` is billed at, given its usage: the model's own, or, for a prompt longer than its
 * provider's long-prompt threshold, those times the provider's factors (the whole request, as the provider bills
 * it). `null` for an unpriced model. The prompt's length is every prompt token reported (cost.ts,
 * `billableTokens`), so a prompt whose total was not reported is measured by its cache parts.
 *
 * @param model - The model as the call looked it up (its prices in force when the call started).
 * @param usage - The call's usage, or for a worst case its largest possible prompt.
 */
export function pricesFor(model: Pick<CatalogModel, 'provider' | 'model' | 'pricing'>, usage: TokenUsage): ModelPricing | null {
  const pricing = model.pricing;
  if (pricing === null) return null;
  const rule = longPromptRule(model);
  if (rule === undefined) return pricing;
  const tokens = billableTokens(usage);
  if (tokens.uncachedInput + tokens.cachedInput + tokens.cacheWrite <= rule.aboveTokens) return pricing;
  return longPromptPricing(pricing, rule);
}

// One frozen long-prompt pricing per base pricing and rule: cost.ts keeps the parse of a frozen pricing object.
const derived = new WeakMap<ModelPricing, WeakMap<LongPromptRule, ModelPricing>>();

function longPromptPricing(pricing: ModelPricing, rule: LongPromptRule): ModelPricing {
  const known = Object.isFrozen(pricing) ? derived.get(pricing)?.get(rule) : undefined;
  if (known) return known;
  const long: ModelPricing = {
    inputPerMTokUsd: scaled(pricing.inputPerMTokUsd, rule.prompt),
    outputPerMTokUsd: scaled(pricing.outputPerMTokUsd, rule.output),
  };
  if (pricing.cachedInputPerMTokUsd !== undefined) long.cachedInputPerMTokUsd = scaled(pricing.cachedInputPerMTokUsd, rule.prompt);
  if (pricing.cacheWritePerMTokUsd !== undefined) long.cacheWritePerMTokUsd = scaled(pricing.cacheWritePerMTokUsd, rule.prompt);
  Object.freeze(long);
  if (Object.isFrozen(pricing)) {
    const byRule = derived.get(pricing) ?? new WeakMap<LongPromptRule, ModelPricing>();
    byRule.set(rule, long);
    derived.set(pricing, byRule);
  }
  return long;
}

/** A price times a factor, as a price (at most 6 decimals), rounded up: never below what the provider charges. */
function scaled(price: string, factor: Factor): string {
  const micro = parseUsd(price) * factor.numerator;
  const rounded = (micro + factor.denominator - 1n) / factor.denominator;
  // formatUsd takes pico-USD: a price in micro-USD per MTok is 10^6 times that many pico-USD per MTok.
  return formatUsd(rounded * 1_000_000n);
}
