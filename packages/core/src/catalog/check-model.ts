import { isProvider, PROVIDERS } from '../keys/providers.js';
import { parseUsd } from '../metering/usd.js';
import { SAMPLING_PARAMETERS, type CatalogModel, type ModelPricing, type SamplingParameter } from './model.js';

// RFC 9562 §4: the 8-4-4-4-12 hex form, case-insensitive on input.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks one catalog model and returns a frozen copy with its id in canonical lowercase (RFC 9562 §4:
 * UUIDs are output in lower case), so the catalog hands out data no caller can change under another.
 *
 * @internal
 * @throws TypeError naming the model and the field that is wrong. Models reach the catalog from the
 *   built-in list and from storage, both written through validated paths, so this guards against bugs and
 *   hand-edited rows rather than user input.
 */
export function checkedModel(model: CatalogModel): CatalogModel {
  const where = `Catalog model ${JSON.stringify(typeof model?.id === 'string' ? model.id : String(model?.id))}`;
  const fail = (problem: string): never => {
    throw new TypeError(`${where}: ${problem}`);
  };
  if (typeof model !== 'object' || model === null) fail('is not an object');
  if (typeof model.id !== 'string' || !UUID.test(model.id)) fail('id must be a UUID');
  if (!isProvider(model.provider)) fail(`provider must be one of ${PROVIDERS.join(', ')}`);
  if (typeof model.model !== 'string' || model.model.length === 0) fail('model (the provider API name) must be a non-empty string');
  if (typeof model.displayName !== 'string' || model.displayName.length === 0) fail('displayName must be a non-empty string');
  if (typeof model.isActive !== 'boolean') fail('isActive must be a boolean');
  if (!isPositiveCount(model.contextWindow)) fail('contextWindow must be a whole number above 0');
  if (!isPositiveCount(model.maxOutputTokens)) fail('maxOutputTokens must be a whole number above 0');
  if (model.maxOutputTokens > model.contextWindow) fail('maxOutputTokens cannot be larger than contextWindow');
  return Object.freeze({
    id: model.id.toLowerCase(),
    provider: model.provider,
    model: model.model,
    displayName: model.displayName,
    isActive: model.isActive,
    contextWindow: model.contextWindow,
    maxOutputTokens: model.maxOutputTokens,
    pricing: model.pricing === null ? null : checkedPricing(model.pricing, fail),
    ...(model.ignoredParameters !== undefined && { ignoredParameters: checkedIgnored(model.ignoredParameters, fail) }),
  });
}

const SAMPLING_PARAMETER_NAMES: ReadonlySet<string> = new Set(SAMPLING_PARAMETERS);

function checkedIgnored(parameters: readonly SamplingParameter[], fail: (problem: string) => never): readonly SamplingParameter[] {
  if (!Array.isArray(parameters) || !parameters.every((parameter) => SAMPLING_PARAMETER_NAMES.has(parameter))) {
    return fail('ignoredParameters must list temperature, top_p or stop');
  }
  return Object.freeze([...new Set(parameters)]);
}

function checkedPricing(pricing: ModelPricing, fail: (problem: string) => never): ModelPricing {
  if (typeof pricing !== 'object' || pricing === null) return fail('pricing must be an object or null');
  const checked: ModelPricing = {
    inputPerMTokUsd: checkedPrice(pricing.inputPerMTokUsd, 'inputPerMTokUsd', fail),
    outputPerMTokUsd: checkedPrice(pricing.outputPerMTokUsd, 'outputPerMTokUsd', fail),
  };
  if (pricing.cachedInputPerMTokUsd !== undefined) {
    checked.cachedInputPerMTokUsd = checkedPrice(pricing.cachedInputPerMTokUsd, 'cachedInputPerMTokUsd', fail);
  }
  if (pricing.cacheWritePerMTokUsd !== undefined) {
    checked.cacheWritePerMTokUsd = checkedPrice(pricing.cacheWritePerMTokUsd, 'cacheWritePerMTokUsd', fail);
  }
  return Object.freeze(checked);
}

function checkedPrice(text: string, field: string, fail: (problem: string) => never): string {
  try {
    parseUsd(text);
  } catch (error) {
    fail(`pricing.${field}: ${(error as Error).message}`);
  }
  return text;
}

function isPositiveCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
