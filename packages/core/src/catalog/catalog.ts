import { PROVIDERS, type Provider } from '../keys/providers.js';
import { BUILT_IN_MODELS } from './built-in-models.js';
import { checkedModel } from './check-model.js';
import type { CatalogModel } from './model.js';

/**
 * The model catalog in force: the built-in models with admins' changes and additions. Built once and
 * never changed; a change makes a new catalog ({@link ModelCatalog.withOverride}) that callers swap in
 * whole, so the hot path reads it without locks. Everything a request looks up is indexed at build time.
 *
 * Order ({@link ModelCatalog.all}): by provider in the contract's order (anthropic, openai, google), then
 * in display order: the built-ins' own order, a changed model keeping its place, additions after them by
 * name in code-point order (as `Storage.listModels` gives them), also those added since the catalog was read.
 */
export class ModelCatalog {
  readonly #models: readonly CatalogModel[];
  readonly #byId: ReadonlyMap<string, CatalogModel>;
  readonly #byProviderModel: ReadonlyMap<string, CatalogModel>;

  /** The built-in models' ids: the others are additions, listed after them by name. */
  readonly #builtInIds: ReadonlySet<string>;

  private constructor(models: readonly CatalogModel[], builtInIds: ReadonlySet<string>) {
    this.#builtInIds = builtInIds;
    this.#models = Object.freeze([...models].sort(displayOrder(builtInIds)));
    this.#byId = new Map(this.#models.map((model) => [model.id, model]));
    const byProviderModel = new Map<string, CatalogModel>();
    for (const model of this.#models) {
      // Two ids for one provider model (two admins adding it at once on two nodes) must not stop the
      // catalog from loading: the name resolves to the first active one in display order.
      const key = providerModelKey(model.provider, model.model);
      const held = byProviderModel.get(key);
      if (!held || (!held.isActive && model.isActive)) byProviderModel.set(key, model);
    }
    this.#byProviderModel = byProviderModel;
  }

  /**
   * Builds the catalog from the built-in models and admins' overrides.
   *
   * @param overrides - Admins' models (e.g. from storage): one with a built-in's id replaces it, in its
   *   place; one with a new id is added, and replaces a built-in of its provider and name (added before a
   *   release shipped it). One standing for a built-in takes its `ignoredParameters` from the built-in. When an
   *   id appears twice, the later one wins.
   * @param builtIns - The base list; default {@link BUILT_IN_MODELS}. Pass `[]` for a catalog of
   *   overrides only.
   * @returns The catalog.
   * @throws TypeError when a model is malformed (see `checkedModel`).
   */
  static create(overrides: readonly CatalogModel[] = [], builtIns: readonly CatalogModel[] = BUILT_IN_MODELS): ModelCatalog {
    const releases = merged([], builtIns.map(checkedModel));
    const changes = overrides.map(checkedModel);
    const releaseIds = new Set(releases.map((model) => model.id));
    // An admin's model under another id with a built-in's provider and name was added before this release shipped
    // it: it stands for that model here, as the admin left it, and the built-in is left out (listed twice, a call
    // by name went to the built-in at its prices, and the admin could not change the built-in: 409).
    const addedNames = new Set(
      changes.filter((model) => !releaseIds.has(model.id)).map((model) => providerModelKey(model.provider, model.model)),
    );
    const base = releases.filter((model) => !addedNames.has(providerModelKey(model.provider, model.model)));
    const releaseByName = new Map(releases.map((model) => [providerModelKey(model.provider, model.model), model]));
    return new ModelCatalog(
      merged(
        base,
        changes.map((model) => withReleaseKnowledge(model, releaseByName.get(providerModelKey(model.provider, model.model)))),
      ),
      new Set(base.map((model) => model.id)),
    );
  }

  /**
   * The model with this id (a UUID, in any letter case), or `undefined`.
   *
   * @param id - The catalog id, e.g. a request's `model_id`.
   */
  get(id: string): CatalogModel | undefined {
    return this.#byId.get(id) ?? this.#byId.get(id.toLowerCase());
  }

  /** Every model, active or not, in the catalog's order (see {@link ModelCatalog}). The array is frozen. */
  all(): readonly CatalogModel[] {
    return this.#models;
  }

  /**
   * The model a provider's API name stands for, e.g. `("anthropic", "claude-sonnet-4-5")`, or `undefined`.
   * The name is matched exactly. Should two ids carry one name, the first active one in order wins.
   *
   * @param provider - The provider.
   * @param model - The provider's API name for the model.
   */
  byProviderModel(provider: Provider, model: string): CatalogModel | undefined {
    return this.#byProviderModel.get(providerModelKey(provider, model));
  }

  /**
   * A new catalog with one model changed (same id) or added (new id); this catalog is left as it was.
   *
   * @param model - The model as it should now be.
   * @returns The new catalog.
   * @throws TypeError when the model is malformed.
   */
  withOverride(model: CatalogModel): ModelCatalog {
    return new ModelCatalog(merged(this.#models, [checkedModel(model)]), this.#builtInIds);
  }
}

/**
 * By provider, then the built-ins in their own order (Array.prototype.sort is stable, ES2019), then additions by
 * name in code-point order (what `<` compares for these ASCII names), as every storage lists them: a model added
 * on this node was appended, so this node listed it apart from every other node until its catalog reloaded.
 */
function displayOrder(builtInIds: ReadonlySet<string>): (a: CatalogModel, b: CatalogModel) => number {
  const rank = (provider: Provider) => PROVIDERS.indexOf(provider);
  return (a, b) => {
    const byProvider = rank(a.provider) - rank(b.provider);
    if (byProvider !== 0) return byProvider;
    const aAdded = !builtInIds.has(a.id);
    const bAdded = !builtInIds.has(b.id);
    if (aAdded !== bAdded) return aAdded ? 1 : -1;
    if (!aAdded) return 0;
    return a.model < b.model ? -1 : a.model > b.model ? 1 : 0;
  };
}

/**
 * An admin's model of a built-in, with the parameters the model refuses as this release knows them: a fact of the
 * provider's model, which no admin sets, saved with the row when an admin changed the model under an earlier release.
 */
function withReleaseKnowledge(model: CatalogModel, release: CatalogModel | undefined): CatalogModel {
  if (release === undefined) return model;
  const { ignoredParameters: _saved, ...admins } = model;
  return Object.freeze({ ...admins, ...(release.ignoredParameters !== undefined && { ignoredParameters: release.ignoredParameters }) });
}

/** `base` with each of `changes` replacing its id's model, or appended; both already checked (`checkedModel`). */
function merged(base: readonly CatalogModel[], changes: readonly CatalogModel[]): CatalogModel[] {
  const models = [...base];
  const indexById = new Map(models.map((model, index) => [model.id, index]));
  for (const model of changes) {
    const index = indexById.get(model.id);
    if (index === undefined) {
      indexById.set(model.id, models.length);
      models.push(model);
    } else {
      models[index] = model;
    }
  }
  return models;
}

// Provider ids hold no "/", so "<provider>/<model>" names exactly one pair.
function providerModelKey(provider: Provider, model: string): string {
  return `${provider}/${model}`;
}
