import type { Provider } from '../keys/providers.js';
import type { CatalogModel, ModelPricing } from './model.js';

/**
 * The models byokit knows out of the box, with limits and list prices.
 *
 * Ids: stable across installs (spec/http-api.md, "Models"). Each is the UUIDv5 (RFC 9562 §5.5) of
 * `"<provider>/<model>"` in {@link BYOKIT_CATALOG_NAMESPACE}, computed once and written here as a literal,
 * because core must run on fetch-only hosts where the only SHA-1 (WebCrypto's) is asynchronous;
 * catalog.test.ts recomputes every id. One exception: {@link USER_GUIDE_SONNET_4_5_ID}.
 *
 * Prices: standard (pay-as-you-go, non-batch, default-speed) list prices in USD per million tokens, read
 * on the providers' pages given in {@link PRICE_SOURCES} as of {@link PRICES_AS_OF}. Rules, the same for
 * every model, so that a built-in price never bills a token for less than the provider charges:
 * - a price that depends on the prompt's length is given for the base (shortest-prompt) tier, and the
 *   model's comment says so; a longer prompt is billed at the provider's multiple of these prices, by the rule
 *   in long-prompt-prices.ts;
 * - where a provider runs an introductory price that ends on a published date, the standard price that
 *   follows it is given, and the comment says until when the provider charges less;
 * - a cached-input or cache-write price is given only where the provider's own page states it or a rule
 *   that yields it; where it is left out, those tokens are billed at the input price (an overestimate).
 * Admins correct any of this at run time (`PATCH /llm-models/{id}`), without a release.
 */

/** The UUIDv5 namespace of the built-in ids (RFC 9562 §5.5), a random UUID generated once for byokit. */
export const BYOKIT_CATALOG_NAMESPACE = 'c6057bb9-0286-4bbb-bd27-f61f8cdf653a';

/**
 * Claude Sonnet 4.5's id, kept from the user guide (seed/user-api-key-guide.md, step 5 of "Example:
 * Complete Setup") and the contract's model example: clients already send it, so it is fixed here rather
 * than derived from {@link BYOKIT_CATALOG_NAMESPACE}.
 */
export const USER_GUIDE_SONNET_4_5_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';

/** The day the built-in prices and limits were read (ISO 8601 date). */
export const PRICES_AS_OF = '2026-11-25';

/** Where each provider publishes its prices; each model's comment names the page its numbers came from. */
export const PRICE_SOURCES: Readonly<Record<Provider, string>> = Object.freeze({
  anthropic: 'https://platform.claude.com/docs/en/about-claude/pricing',
  openai: 'https://developers.openai.com/api/docs/pricing',
  google: 'https://ai.google.dev/gemini-api/docs/pricing',
});

function price(pricing: ModelPricing): ModelPricing {
  return Object.freeze(pricing);
}

const ENTRIES: CatalogModel[] = [
  // --- Anthropic -------------------------------------------------------------------------------------
  // Cache rates the pricing page states for models without a rate of their own: 5-minute cache writes
  // 1.25× the input price, cache hits 0.1× (release notes, 2026-09-01: "0.1x on other models").
  {
    // https://platform.claude.com/docs/en/models/opus-5-5/overview: 1M context, 128K max output; $4 input,
    // $20 output, $5 5-minute cache write, $0.20 cache read.
    id: 'e6616f4a-d5ba-5009-9d5e-eadeb729ad57',
    provider: 'anthropic',
    model: 'claude-opus-5-5',
    displayName: 'Claude Opus 5.5',
    isActive: true,
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    pricing: price({ inputPerMTokUsd: '4', outputPerMTokUsd: '20', cachedInputPerMTokUsd: '0.2', cacheWritePerMTokUsd: '5' }),
    // Sampling settings are refused by this model (see the provider's model page): left out of requests.
    ignoredParameters: ['temperature', 'top_p'],
  },
  {
    // https://platform.claude.com/docs/en/models/sonnet-5-5/overview: 1M context, 128K max output; $2 input,
    // $10 output, $2.50 5-minute cache write. Cache read $0.10: lowered from $0.20 on 2026-10-07
    // (https://platform.claude.com/docs/en/release-notes/overview, October 7, 2026).
    id: 'f8249082-e6ae-5964-b84f-719fa94f6a67',
    provider: 'anthropic',
    model: 'claude-sonnet-5-5',
    displayName: 'Claude Sonnet 5.5',
    isActive: true,
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    pricing: price({ inputPerMTokUsd: '2', outputPerMTokUsd: '10', cachedInputPerMTokUsd: '0.1', cacheWritePerMTokUsd: '2.5' }),
    // Sampling settings are refused by this model (see the provider's model page): left out of requests.
    ignoredParameters: ['temperature', 'top_p'],
  },
  {
    // https://platform.claude.com/docs/en/models/haiku-5-5/overview: 1M context, 128K max output. Priced by
    // prompt length; BASE TIER given (prompts up to 100,000 tokens): $0.10 input, $0.50 output, $0.125
    // 5-minute cache write; cache read $0.01 by the 0.1× rule above. A prompt over 100,000 tokens bills the
    // whole request at 5× ($0.50 / $2.50 / $0.625 / $0.05): long-prompt-prices.ts.
    id: 'c85cb0c1-2386-5f2c-858c-940721749e15',
    provider: 'anthropic',
    model: 'claude-haiku-5-5',
    displayName: 'Claude Haiku 5.5',
    isActive: true,
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    pricing: price({ inputPerMTokUsd: '0.1', outputPerMTokUsd: '0.5', cachedInputPerMTokUsd: '0.01', cacheWritePerMTokUsd: '0.125' }),
    // Sampling settings are refused by this model (see the provider's model page): left out of requests.
    ignoredParameters: ['temperature', 'top_p'],
  },
  {
    // The user guide's model, under the guide's id (USER_GUIDE_SONNET_4_5_ID).
    // https://platform.claude.com/docs/en/models/sonnet-4-5/overview: 200K context, 64K max output; $3 input,
    // $15 output; cache write $3.75 and cache read $0.30 by the rules above. DEPRECATED by Anthropic: it
    // retired on 2026-11-30: the API refuses it. Kept active, as the contract shows it; the first call to it
    // logs a warning naming its replacement (retirements.ts).
    id: USER_GUIDE_SONNET_4_5_ID,
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    displayName: 'Claude Sonnet 4.5',
    isActive: true,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: price({ inputPerMTokUsd: '3', outputPerMTokUsd: '15', cachedInputPerMTokUsd: '0.3', cacheWritePerMTokUsd: '3.75' }),
  },
  {
    // https://platform.claude.com/docs/en/models/haiku-4-5/overview (legacy, still available): 200K context,
    // 64K max output; $1 input, $5 output; cache write $1.25 and cache read $0.10 by the rules above.
    id: '7604842b-eefd-5cde-bf6c-b4af4029430c',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    displayName: 'Claude Haiku 4.5',
    isActive: true,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: price({ inputPerMTokUsd: '1', outputPerMTokUsd: '5', cachedInputPerMTokUsd: '0.1', cacheWritePerMTokUsd: '1.25' }),
  },

  // --- OpenAI ----------------------------------------------------------------------------------------
  // Every model below: 1,050,000-token context window (922,000 input at most), 128,000 max output tokens.
  // Cache writes are the 30-minute-retention price. Priced by prompt length; BASE TIER given: a prompt
  // over 272K input tokens bills the whole request at 2× input and cache prices and 1.5× output
  // (long-prompt-prices.ts).
  {
    // https://developers.openai.com/api/docs/models/gpt-6.2-sol: $2 input, $0.10 cached input, $2.50 cache
    // writes, $10 output.
    id: '841ece33-014f-5564-a004-4937b71b768f',
    provider: 'openai',
    model: 'gpt-6.2-sol',
    displayName: 'GPT-6.2 Sol',
    isActive: true,
    contextWindow: 1_050_000,
    maxOutputTokens: 128_000,
    pricing: price({ inputPerMTokUsd: '2', outputPerMTokUsd: '10', cachedInputPerMTokUsd: '0.1', cacheWritePerMTokUsd: '2.5' }),
    // Sampling settings are refused by this model (see the provider's model page): left out of requests.
    ignoredParameters: ['temperature', 'top_p'],
  },
  {
    // https://developers.openai.com/api/docs/models/gpt-6.1-terra: $1 input, $0.05 cached input, $1.25 cache
    // writes, $5 output.
    id: '2c3c974e-6da7-5821-9025-986c792ace52',
    provider: 'openai',
    model: 'gpt-6.1-terra',
    displayName: 'GPT-6.1 Terra',
    isActive: true,
    contextWindow: 1_050_000,
    maxOutputTokens: 128_000,
    pricing: price({ inputPerMTokUsd: '1', outputPerMTokUsd: '5', cachedInputPerMTokUsd: '0.05', cacheWritePerMTokUsd: '1.25' }),
    // Sampling settings are refused by this model (see the provider's model page): left out of requests.
    ignoredParameters: ['temperature', 'top_p'],
  },
  {
    // https://developers.openai.com/api/docs/models/gpt-6-luna: $0.10 input, $0.01 cached input, $0.125
    // cache writes, $0.50 output.
    id: '819788db-460f-5f1e-83b7-6c1c762b267f',
    provider: 'openai',
    model: 'gpt-6-luna',
    displayName: 'GPT-6 Luna',
    isActive: true,
    contextWindow: 1_050_000,
    maxOutputTokens: 128_000,
    pricing: price({ inputPerMTokUsd: '0.1', outputPerMTokUsd: '0.5', cachedInputPerMTokUsd: '0.01', cacheWritePerMTokUsd: '0.125' }),
    // Sampling settings are refused by this model (see the provider's model page): left out of requests.
    ignoredParameters: ['temperature', 'top_p'],
  },

  // --- Google ----------------------------------------------------------------------------------------
  // Output prices include thinking tokens. No cached-input price is given: none was read on Google's own
  // pages, so implicit-cache hits are billed at the input price until an admin sets one.
  {
    // https://ai.google.dev/gemini-api/docs/generate-content/latest-model: introductory $2 input / $10
    // output through 2026-11-30, then $4 / $20; the STANDARD price is given (see the rules above). One
    // 1,048,576-token limit shared by input and output; 65,536 output tokens is the default cap of one
    // request (Google Cloud, "Get started with Gemini 4"), 32,768 for a non-streaming REST request, past which an
    // answer ends with CONTINUATION (https://ai.google.dev/gemini-api/docs/generate-content/long-decode):
    // finish_reason length, as longer "long decoding" is not offered here.
    id: '6670ed35-f78c-598e-bf00-35815c59f0e4',
    provider: 'google',
    model: 'gemini-4-argon',
    displayName: 'Gemini 4 Argon',
    isActive: true,
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: price({ inputPerMTokUsd: '4', outputPerMTokUsd: '20' }),
  },
  {
    // https://ai.google.dev/gemini-api/docs/pricing (Gemini 3.8 Flash): "$0.75 through December 31, 2026",
    // "$1.50 starting January 1, 2027" input; $3.75, then $7.50, output. The STANDARD price is given (see
    // the rules above). Read from a verbatim transcription of that page (api-evangelist/deepmind,
    // plans/deepmind-plans-pricing.yml, read 2026-10-07). Limits: 1,048,576 input, 65,536 output tokens
    // (https://ai.google.dev/gemini-api/docs/models/gemini-3.8-flash).
    id: '13ffbbd6-8fbb-597c-b4db-810818494d36',
    provider: 'google',
    model: 'gemini-3.8-flash',
    displayName: 'Gemini 3.8 Flash',
    isActive: true,
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: price({ inputPerMTokUsd: '1.5', outputPerMTokUsd: '7.5' }),
  },
  {
    // https://ai.google.dev/gemini-api/docs/pricing (Gemini 3.5 Flash-Lite): $0.30 input (text, image, video,
    // audio), $2.50 output; same transcription as above. Limits: 1,048,576 input, 65,536 output tokens
    // (https://ai.google.dev/gemini-api/docs/models/gemini-3.5-flash-lite).
    id: 'a0ed98a7-bfc5-5b3c-abc9-5fd636efef7d',
    provider: 'google',
    model: 'gemini-3.5-flash-lite',
    displayName: 'Gemini 3.5 Flash-Lite',
    isActive: true,
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: price({ inputPerMTokUsd: '0.3', outputPerMTokUsd: '2.5' }),
  },
];

/** The built-in models in display order: by provider, current generation first, most capable first. All active, all frozen. */
export const BUILT_IN_MODELS: readonly CatalogModel[] = Object.freeze(ENTRIES.map((model) => Object.freeze(model)));
