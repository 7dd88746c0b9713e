import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PROVIDERS } from '../keys/providers.js';
import { costOf } from '../metering/cost.js';
import { parseUsd } from '../metering/usd.js';
import { BUILT_IN_MODELS, BYOKIT_CATALOG_NAMESPACE, PRICES_AS_OF, PRICE_SOURCES, USER_GUIDE_SONNET_4_5_ID } from './built-in-models.js';
import { ModelCatalog } from './catalog.js';
import type { CatalogModel } from './model.js';

/**
 * UUIDv5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes then the name's UTF-8 bytes; the first 16
 * bytes of the digest, with the version (0b0101) in the high nibble of octet 6 and the variant (0b10) in
 * the high bits of octet 8. Here, not in core: core ships the ids as literals (see built-in-models.ts).
 */
function uuidv5(namespace: string, name: string): string {
  const digest = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x50;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = digest.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function model(overrides: Partial<CatalogModel> = {}): CatalogModel {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    provider: 'openai',
    model: 'gpt-test',
    displayName: 'GPT Test',
    isActive: true,
    contextWindow: 1000,
    maxOutputTokens: 100,
    pricing: { inputPerMTokUsd: '1', outputPerMTokUsd: '2' },
    ...overrides,
  };
}

describe('uuidv5 (the test helper)', () => {
  it('gives the published example of RFC 9562 Appendix A.4', () => {
    // DNS namespace (RFC 9562 §6.6), name "www.example.com".
    expect(uuidv5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('the built-in models', () => {
  it('have canonical, unique UUIDs', () => {
    const ids = BUILT_IN_MODELS.map((entry) => entry.id);
    for (const id of ids) expect(id).toMatch(CANONICAL_UUID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(BYOKIT_CATALOG_NAMESPACE).toMatch(CANONICAL_UUID);
  });

  it('are identified by the UUIDv5 of "<provider>/<model>", except the guide\'s Claude Sonnet 4.5', () => {
    for (const entry of BUILT_IN_MODELS) {
      if (entry.id === USER_GUIDE_SONNET_4_5_ID) continue;
      expect(entry.id, `${entry.provider}/${entry.model}`).toBe(uuidv5(BYOKIT_CATALOG_NAMESPACE, `${entry.provider}/${entry.model}`));
    }
  });

  it("give claude-sonnet-4-5 the user guide's id, as the contract's model example shows it", () => {
    expect(USER_GUIDE_SONNET_4_5_ID).toBe('564e8710-43a9-406f-b0ab-e8d651a33e82');
    expect(ModelCatalog.create().get('564e8710-43a9-406f-b0ab-e8d651a33e82')).toEqual({
      id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      displayName: 'Claude Sonnet 4.5',
      isActive: true,
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      pricing: { inputPerMTokUsd: '3', outputPerMTokUsd: '15', cachedInputPerMTokUsd: '0.3', cacheWritePerMTokUsd: '3.75' },
    });
  });

  it("bill the contract's chat example at the contract's cost", () => {
    const sonnet = ModelCatalog.create().get(USER_GUIDE_SONNET_4_5_ID);
    expect(costOf({ inputTokens: 12, outputTokens: 5 }, sonnet?.pricing ?? null)?.costUsd).toBe('0.000111');
  });

  it('name each provider model once', () => {
    const names = BUILT_IN_MODELS.map((entry) => `${entry.provider}/${entry.model}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('have limits that fit: 0 < maxOutputTokens ≤ contextWindow', () => {
    for (const entry of BUILT_IN_MODELS) {
      expect(Number.isSafeInteger(entry.maxOutputTokens) && entry.maxOutputTokens > 0, entry.model).toBe(true);
      expect(entry.maxOutputTokens, entry.model).toBeLessThanOrEqual(entry.contextWindow);
    }
  });

  it('have prices that parse, with cache reads cheaper than input and cache writes dearer', () => {
    for (const { model: name, pricing } of BUILT_IN_MODELS) {
      expect(pricing, name).not.toBeNull();
      if (!pricing) continue;
      const input = parseUsd(pricing.inputPerMTokUsd);
      expect(input, name).toBeGreaterThan(0n);
      expect(parseUsd(pricing.outputPerMTokUsd), name).toBeGreaterThan(input);
      if (pricing.cachedInputPerMTokUsd !== undefined) expect(parseUsd(pricing.cachedInputPerMTokUsd), name).toBeLessThan(input);
      if (pricing.cacheWritePerMTokUsd !== undefined) expect(parseUsd(pricing.cacheWritePerMTokUsd), name).toBeGreaterThan(input);
    }
  });

  it('cover every provider, 8 to 14 models in all, all active', () => {
    expect(BUILT_IN_MODELS.length).toBeGreaterThanOrEqual(8);
    expect(BUILT_IN_MODELS.length).toBeLessThanOrEqual(14);
    for (const provider of PROVIDERS) expect(BUILT_IN_MODELS.some((entry) => entry.provider === provider)).toBe(true);
    expect(BUILT_IN_MODELS.every((entry) => entry.isActive)).toBe(true);
  });

  it('say when and where the prices were taken', () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(new Date(`${PRICES_AS_OF}T00:00:00Z`).toISOString().slice(0, 10)).toBe(PRICES_AS_OF);
    expect(new Date(`${PRICES_AS_OF}T00:00:00Z`).getTime()).toBeLessThanOrEqual(Date.now());
    for (const provider of PROVIDERS) expect(new URL(PRICE_SOURCES[provider]).protocol).toBe('https:');
  });

  it('cannot be changed in place', () => {
    expect(Object.isFrozen(BUILT_IN_MODELS)).toBe(true);
    for (const entry of BUILT_IN_MODELS) {
      expect(Object.isFrozen(entry)).toBe(true);
      expect(Object.isFrozen(entry.pricing)).toBe(true);
    }
  });
});

describe('ModelCatalog', () => {
  it('finds a model by id in O(1), in any letter case', () => {
    const catalog = ModelCatalog.create();
    for (const entry of BUILT_IN_MODELS) {
      expect(catalog.get(entry.id)).toEqual(entry);
      expect(catalog.get(entry.id.toUpperCase())?.id).toBe(entry.id);
    }
    expect(catalog.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    expect(catalog.get('not-a-uuid')).toBeUndefined();
  });

  it('finds a model by its provider API name, exactly', () => {
    const catalog = ModelCatalog.create();
    expect(catalog.byProviderModel('anthropic', 'claude-sonnet-4-5')?.id).toBe(USER_GUIDE_SONNET_4_5_ID);
    expect(catalog.byProviderModel('openai', 'claude-sonnet-4-5')).toBeUndefined();
    expect(catalog.byProviderModel('anthropic', 'Claude-Sonnet-4-5')).toBeUndefined();
  });

  it('lists by provider in the contract order, then in display order', () => {
    const all = ModelCatalog.create().all();
    expect(all.map((entry) => entry.id)).toEqual(
      [...BUILT_IN_MODELS].sort((a, b) => PROVIDERS.indexOf(a.provider) - PROVIDERS.indexOf(b.provider)).map((entry) => entry.id),
    );
    expect(all.map((entry) => entry.provider)).toEqual(
      [...all.map((entry) => entry.provider)].sort((a, b) => PROVIDERS.indexOf(a) - PROVIDERS.indexOf(b)),
    );
    expect(Object.isFrozen(all)).toBe(true);
  });

  it("replaces a built-in with an admin's override by id, in its place", () => {
    const before = ModelCatalog.create();
    const repriced = {
      ...model(),
      ...before.get(USER_GUIDE_SONNET_4_5_ID),
      isActive: false,
      pricing: { inputPerMTokUsd: '2.5', outputPerMTokUsd: '12' },
    };
    const catalog = ModelCatalog.create([repriced]);
    expect(catalog.get(USER_GUIDE_SONNET_4_5_ID)).toEqual(repriced);
    expect(catalog.byProviderModel('anthropic', 'claude-sonnet-4-5')).toEqual(repriced);
    expect(catalog.all().map((entry) => entry.id)).toEqual(before.all().map((entry) => entry.id));
    expect(catalog.all()).toHaveLength(BUILT_IN_MODELS.length);
  });

  it("lists a built-in once when an admin had added its model before the release shipped it: the admin's model stands", () => {
    const sonnet = ModelCatalog.create().byProviderModel('anthropic', 'claude-sonnet-5-5')!;
    const added = model({ id: '00000000-0000-4000-8000-0000000000ab', provider: 'anthropic', model: 'claude-sonnet-5-5' });
    const catalog = ModelCatalog.create([added]);
    expect(
      catalog
        .all()
        .filter((entry) => entry.model === 'claude-sonnet-5-5')
        .map((entry) => entry.id),
    ).toEqual([added.id]);
    expect(catalog.all()).toHaveLength(BUILT_IN_MODELS.length);
    expect(catalog.get(sonnet.id)).toBeUndefined();
    // Its prices, limits, name and state are the admin's; the parameters the model refuses, the release's.
    expect(catalog.byProviderModel('anthropic', 'claude-sonnet-5-5')).toEqual({ ...added, ignoredParameters: sonnet.ignoredParameters });
  });

  it('keeps a model an admin added and then deactivated out of service when a release ships it built in', () => {
    const added = model({ id: '00000000-0000-4000-8000-0000000000ac', provider: 'openai', model: 'gpt-6-luna', isActive: false });
    const catalog = ModelCatalog.create([added]);
    expect(catalog.byProviderModel('openai', 'gpt-6-luna')?.isActive).toBe(false);
    expect(catalog.all().filter((entry) => entry.model === 'gpt-6-luna' && entry.isActive)).toEqual([]);
  });

  it('takes the parameters a built-in refuses from the release, on a built-in an admin changed under an earlier one', () => {
    const opus = ModelCatalog.create().byProviderModel('anthropic', 'claude-opus-5-5')!;
    const { ignoredParameters: _known, ...changedBefore } = { ...opus, pricing: { inputPerMTokUsd: '5', outputPerMTokUsd: '25' } };
    expect(ModelCatalog.create([changedBefore]).get(opus.id)).toEqual({ ...changedBefore, ignoredParameters: opus.ignoredParameters });
  });

  it('adds new models after the built-ins of their provider', () => {
    const added = model({ id: '00000000-0000-4000-8000-0000000000aa', provider: 'anthropic', model: 'claude-custom' });
    const catalog = ModelCatalog.create([added]);
    const anthropic = catalog.all().filter((entry) => entry.provider === 'anthropic');
    expect(anthropic.at(-1)).toEqual(added);
    expect(catalog.all()).toHaveLength(BUILT_IN_MODELS.length + 1);
    expect(catalog.all()[anthropic.length]?.provider).toBe('openai');
    expect(catalog.byProviderModel('anthropic', 'claude-custom')).toEqual(added);
  });

  it('makes a new catalog for a change, leaving the old one as it was', () => {
    const before = ModelCatalog.create();
    const added = model({ id: '00000000-0000-4000-8000-0000000000bb', provider: 'google', model: 'gemini-custom' });
    const after = before.withOverride(added);
    expect(after).not.toBe(before);
    expect(after.get(added.id)).toEqual(added);
    expect(before.get(added.id)).toBeUndefined();
    expect(after.all().at(-1)).toEqual(added);

    const renamed = after.withOverride({ ...added, displayName: 'Gemini Custom 2' });
    expect(renamed.get(added.id)?.displayName).toBe('Gemini Custom 2');
    expect(renamed.all()).toHaveLength(after.all().length);
    expect(after.get(added.id)?.displayName).toBe('GPT Test');
  });

  it("keeps its own frozen copies, so a caller's object cannot change it", () => {
    const input = model();
    const catalog = ModelCatalog.create([input], []);
    input.displayName = 'changed';
    const held = catalog.get(input.id);
    expect(held?.displayName).toBe('GPT Test');
    expect(Object.isFrozen(held)).toBe(true);
    expect(Object.isFrozen(held?.pricing)).toBe(true);
  });

  it('stores ids in lowercase', () => {
    const catalog = ModelCatalog.create([model({ id: 'ABCDEF00-0000-4000-8000-000000000001' })], []);
    expect(catalog.all()[0]?.id).toBe('abcdef00-0000-4000-8000-000000000001');
    expect(catalog.get('ABCDEF00-0000-4000-8000-000000000001')).toBeDefined();
  });

  it('lets the later of two models with one id win', () => {
    const catalog = ModelCatalog.create([model({ displayName: 'first' }), model({ displayName: 'second' })], []);
    expect(catalog.all().map((entry) => entry.displayName)).toEqual(['second']);
  });

  it('resolves a provider model held by two ids to the first active one, and still loads', () => {
    const inactive = model({ id: '00000000-0000-4000-8000-000000000001', isActive: false });
    const active = model({ id: '00000000-0000-4000-8000-000000000002' });
    const later = model({ id: '00000000-0000-4000-8000-000000000003' });
    expect(ModelCatalog.create([inactive, active, later], []).byProviderModel('openai', 'gpt-test')?.id).toBe(active.id);
    expect(ModelCatalog.create([inactive], []).byProviderModel('openai', 'gpt-test')?.id).toBe(inactive.id);
  });

  it('accepts a model without prices', () => {
    expect(ModelCatalog.create([model({ pricing: null })], []).all()[0]?.pricing).toBeNull();
  });

  it.each<[string, Partial<CatalogModel> | Record<string, unknown>, string]>([
    ['an id that is not a UUID', { id: 'gpt-test' }, 'id must be a UUID'],
    ['an unknown provider', { provider: 'mistral' }, `provider must be one of ${PROVIDERS.join(', ')}`],
    ['an empty model name', { model: '' }, 'model (the provider API name) must be a non-empty string'],
    ['an empty display name', { displayName: '' }, 'displayName must be a non-empty string'],
    ['a non-boolean isActive', { isActive: 'yes' }, 'isActive must be a boolean'],
    ['a fractional context window', { contextWindow: 1000.5 }, 'contextWindow must be a whole number above 0'],
    ['a zero max output', { maxOutputTokens: 0 }, 'maxOutputTokens must be a whole number above 0'],
    ['more output than context', { maxOutputTokens: 1001 }, 'maxOutputTokens cannot be larger than contextWindow'],
    [
      'a price with an exponent',
      { pricing: { inputPerMTokUsd: '3e0', outputPerMTokUsd: '1' } },
      'pricing.inputPerMTokUsd: Invalid USD amount',
    ],
    ['a negative cache price', { pricing: { inputPerMTokUsd: '3', outputPerMTokUsd: '1', cachedInputPerMTokUsd: '-1' } }, 'it is negative'],
    ['a price of too many decimals', { pricing: { inputPerMTokUsd: '3', outputPerMTokUsd: '0.0000001' } }, 'at most 6 are kept'],
  ])('refuses %s, naming the model', (_name, change, problem) => {
    const bad = { ...model(), ...change } as CatalogModel;
    expect(() => ModelCatalog.create([bad], [])).toThrow(TypeError);
    expect(() => ModelCatalog.create([bad], [])).toThrow(problem);
    expect(() => ModelCatalog.create().withOverride(bad)).toThrow(/^Catalog model "/);
  });
});
