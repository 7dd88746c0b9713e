import type { Provider } from '../keys/providers.js';

/**
 * A model's list prices, as exact decimal strings of USD per million tokens ("3", "0.3", "0.075"), never
 * floating point: cost arithmetic parses them into integers. At most 6 decimals.
 *
 * Providers price one token class differently from another; each optional price that is missing falls back
 * to the input price, which never bills a token for less than the provider charges for it.
 */
export interface ModelPricing {
  /** Uncached prompt tokens. */
  inputPerMTokUsd: string;
  /** Generated tokens, reasoning ("thinking") tokens included: every provider bills those as output. */
  outputPerMTokUsd: string;
  /** Prompt tokens read from the provider's cache (Anthropic "cache hits", OpenAI and Gemini "cached input"). */
  cachedInputPerMTokUsd?: string;
  /** Prompt tokens written to the cache (Anthropic's 5-minute cache write; OpenAI's 30-minute one). */
  cacheWritePerMTokUsd?: string;
}

/** One model of the catalog: which provider model a catalog id stands for, its limits and its prices. */
export interface CatalogModel {
  /** A UUID in canonical lowercase form, the `model_id` clients send (spec/http-api.md, "Models"). */
  id: string;
  /** The provider that serves the model. */
  provider: Provider;
  /** The provider's API name for the model, e.g. `claude-sonnet-4-5`: what goes into the provider request. */
  model: string;
  /** The name shown to people, e.g. "Claude Sonnet 4.5". */
  displayName: string;
  /** Inactive models are listed to admins but refused at chat time (`model_inactive`). */
  isActive: boolean;
  /** The most tokens a request may hold, prompt and answer together where the provider counts them so. */
  contextWindow: number;
  /** The largest `max_tokens` a request may ask for; at most {@link contextWindow}. */
  maxOutputTokens: number;
  /** The prices usage is billed at, or `null` when unknown (usage is then recorded without a cost). */
  pricing: ModelPricing | null;
  /**
   * Request parameters the model refuses (reasoning models take no sampling settings): byokit leaves them
   * out of the provider request instead of letting the call fail, and says so in `x-byok-ignored-parameters`.
   */
  ignoredParameters?: readonly SamplingParameter[];
}

/** The chat request's sampling parameters a model may refuse, in the order they are named to a caller. */
export const SAMPLING_PARAMETERS = Object.freeze(['temperature', 'top_p', 'stop'] as const);

/**
 * A chat request's sampling parameter a model may refuse: `temperature`, `top_p` or `stop`
 * ({@link SAMPLING_PARAMETERS}).
 */
export type SamplingParameter = (typeof SAMPLING_PARAMETERS)[number];
