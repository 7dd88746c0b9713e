import { ModelCatalog } from '../catalog/catalog.js';
import type { CatalogModel } from '../catalog/model.js';
import type { Storage } from '../storage/storage.js';

/**
 * The catalog in force: the built-in models with admins' changes and additions from storage. Built once
 * and swapped whole (never edited in place), so a request reads it without locks; reloaded from storage
 * when older than `ttlMs`, so that another node's admin change is seen within that time, and at once on
 * this node.
 */
export class ModelDirectory {
  #catalog: ModelCatalog;
  #loadedAt: number;
  #reload: Promise<ModelCatalog> | undefined;

  private constructor(
    private readonly storage: Storage,
    private readonly ttlMs: number,
    private readonly now: () => number,
    catalog: ModelCatalog,
  ) {
    this.#catalog = catalog;
    this.#loadedAt = now();
  }

  static async load(storage: Storage, ttlMs: number, now: () => number): Promise<ModelDirectory> {
    return new ModelDirectory(storage, ttlMs, now, await catalogFrom(storage));
  }

  /** The catalog now; reloads (once, shared by concurrent callers) when it is stale. */
  async catalog(): Promise<ModelCatalog> {
    if (this.now() - this.#loadedAt < this.ttlMs) return this.#catalog;
    this.#reload ??= catalogFrom(this.storage).finally(() => (this.#reload = undefined));
    this.#catalog = await this.#reload;
    this.#loadedAt = this.now();
    return this.#catalog;
  }

  /** Saves an admin's model (new or changed) and puts it in force on this node at once. */
  async save(model: CatalogModel): Promise<CatalogModel> {
    await this.storage.saveModel(model, new Date(this.now()));
    this.#catalog = this.#catalog.withOverride(model);
    return model;
  }
}

async function catalogFrom(storage: Storage): Promise<ModelCatalog> {
  return ModelCatalog.create(await storage.listModels());
}
