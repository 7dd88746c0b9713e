import { z } from 'zod';
import { SAMPLING_PARAMETERS, type CatalogModel } from '../../catalog/model.js';
import { refusedParameters } from '../../chat/chat-limits.js';
import { PROVIDER_LIMITS } from '../../providers/provider-clients.js';
import { PROVIDERS } from '../../keys/providers.js';
import { formatUsd, usdToPico } from '../../metering/usd.js';
import type { KeySource } from '../../resolve/key-resolver.js';
import { holdsSecret } from '../../keys/scrub-secrets.js';
import { NOT_A_KEY, shownText } from './stored-text.js';

// Exact decimal USD per million tokens, as the catalog keeps prices: no exponent, at most 6 decimals. Taken in
// any such spelling ("000001", "2.500000"), kept and shown in the shortest (pricingOf, modelView).
const PRICE = 'A price is a decimal string of USD per million tokens, e.g. "3" or "0.075".';
// A number sent (`"input_per_mtok_usd": 3`) is told the format too, not only "Must be a string".
const usd = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : PRICE) })
  .regex(/^\d{1,6}(\.\d{1,6})?$/, PRICE)
  .describe('USD per million tokens, an exact decimal string: up to 6 digits each side of the point, shown shortest.');

/**
 * A price in its one spelling, the shortest exact decimal, as usage records and costs show money: PostgreSQL's
 * numeric drops leading zeros but keeps trailing ones, so "000001" read back as "1" after a reload while memory
 * storage kept it, and "2.500000" showed beside usage records' "2.5".
 */
const canonicalPrice = (price: string) => formatUsd(usdToPico(price));
const boolean = z.enum(['true', 'false']).transform((value) => value === 'true');

const pricing = z.strictObject({
  input_per_mtok_usd: usd,
  output_per_mtok_usd: usd,
  cached_input_per_mtok_usd: usd.optional(),
  cache_write_per_mtok_usd: usd.optional(),
});

/** A model as the API shows it. `key_source` says whose key would pay for it now (null: none). */
export const modelBody = z.object({
  id: z.guid(),
  provider: z.enum(PROVIDERS),
  model: z.string(),
  display_name: z.string(),
  is_active: z.boolean(),
  context_window: z.number().int(),
  max_output_tokens: z.number().int(),
  pricing: pricing.nullable(),
  ignored_parameters: z.array(z.enum(SAMPLING_PARAMETERS)).describe('Sampling parameters the model refuses; left out of requests.'),
  key_source: z.enum(['user', 'system']).nullable(),
});

export const modelList = z.object({ data: z.array(modelBody), count: z.number().int() });

/** Query of `GET /llm-models/`. */
export const modelListQuery = z.strictObject({
  is_active: boolean.optional(),
  provider: z.enum(PROVIDERS).optional(),
  all: boolean.optional().describe('Admins only: every model, whether a key resolves for it or not.'),
});

// Any 8-4-4-4-12 hex id, as the catalog and storage take (catalog/check-model.ts): z.uuid() also asks for an RFC 9562
// version and variant, so a model stored with a seed script's `11111111-1111-1111-1111-111111111111` was listed, and then
// refused by its own id (422), to GET, PATCH, DELETE and chat alike.
export const modelIdParams = z.object({ id: z.guid({ message: 'A model id is a UUID.' }) });

// Model names go into provider URLs (path-encoded): plain characters only (spec/security.md, "No SSRF"). Those are a
// key's characters too: a key pasted here would be shown to every user and written into every usage record.
const MODEL_NAME_CHARACTERS = 'A model name holds letters, digits, ".", "_" and "-" only.';
const modelName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, MODEL_NAME_CHARACTERS)
  .refine((name) => !holdsSecret(name), NOT_A_KEY)
  .describe(`${MODEL_NAME_CHARACTERS} ${NOT_A_KEY}`);
// The name every user sees for the model: spaces alone showed a blank row in their model lists.
const NOT_BLANK = 'A display name cannot be blank (spaces only).';
const displayName = shownText(200)
  .refine((name) => name.trim() !== '', NOT_BLANK)
  .describe(`${shownText(200).description} ${NOT_BLANK}`);
const limits = {
  context_window: z.number().int().min(1).max(100_000_000),
  max_output_tokens: z.number().int().min(1).max(100_000_000),
};

/** Body of `POST /llm-models/` (admins). */
export const modelCreateBody = z.strictObject({
  provider: z.enum(PROVIDERS),
  model: modelName,
  display_name: displayName,
  is_active: z.boolean().optional(),
  ...limits,
  pricing: pricing.nullable(),
});

/** Body of `PATCH /llm-models/{id}` (admins): any of these, at least one. */
export const modelUpdateBody = z
  .strictObject({
    display_name: displayName.optional(),
    is_active: z.boolean().optional(),
    context_window: limits.context_window.optional(),
    max_output_tokens: limits.max_output_tokens.optional(),
    pricing: pricing.nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Send at least one field to change.' })
  // The refinement, as the OpenAPI document says it (a refinement itself is left out of JSON Schema).
  .meta({ minProperties: 1 });

type PricingBody = z.infer<typeof pricing>;

export function pricingOf(body: PricingBody | null): CatalogModel['pricing'] {
  if (body === null) return null;
  return {
    inputPerMTokUsd: canonicalPrice(body.input_per_mtok_usd),
    outputPerMTokUsd: canonicalPrice(body.output_per_mtok_usd),
    ...(body.cached_input_per_mtok_usd !== undefined && { cachedInputPerMTokUsd: canonicalPrice(body.cached_input_per_mtok_usd) }),
    ...(body.cache_write_per_mtok_usd !== undefined && { cacheWritePerMTokUsd: canonicalPrice(body.cache_write_per_mtok_usd) }),
  };
}

/** A catalog model in the API's shape. */
export function modelView(model: CatalogModel, keySource: KeySource | null): z.infer<typeof modelBody> {
  const price = model.pricing;
  return {
    id: model.id,
    provider: model.provider,
    model: model.model,
    display_name: model.displayName,
    is_active: model.isActive,
    context_window: model.contextWindow,
    max_output_tokens: model.maxOutputTokens,
    // Shown in the same spelling too: a row saved before prices were kept canonical may read back as "2.500000".
    pricing: price && {
      input_per_mtok_usd: canonicalPrice(price.inputPerMTokUsd),
      output_per_mtok_usd: canonicalPrice(price.outputPerMTokUsd),
      ...(price.cachedInputPerMTokUsd !== undefined && { cached_input_per_mtok_usd: canonicalPrice(price.cachedInputPerMTokUsd) }),
      ...(price.cacheWritePerMTokUsd !== undefined && { cache_write_per_mtok_usd: canonicalPrice(price.cacheWritePerMTokUsd) }),
    },
    // The catalog's word, and its provider's rule for the model's name (an admin's claude-opus-4-7 has no word of its own).
    ignored_parameters: refusedParameters(model, PROVIDER_LIMITS[model.provider]),
    key_source: keySource,
  };
}
