import { ModelCatalog } from '../catalog/catalog.js';
import { ByokitError } from '../errors.js';
import type { CatalogModel } from '../catalog/model.js';
import type { Storage } from '../storage/storage.js';

/**
 * The catalog in force: the built-in models with admins' changes and additions from storage. Built once
 * and swapped whole (never edited in place), so a request reads it without locks; reloaded from storage
 * when older than `ttlMs`, so that another node's admin change is seen within that time, and at once on
 * this node.
 */
/** An id no model has, answered alike on the model routes and on chat. */
export function modelNotFound(): ByokitError {
  return new ByokitError('model_not_found', 'No model has this id: list the models you can use with GET /llm-models/.');
}

export class ModelDirectory {
  #catalog: ModelCatalog;
  #loadedAt: number;
  #reload: Promise<void> | undefined;
  /** Saves through this node so far: a reload that began before one may have read the catalog without it. */
  #saves = 0;
  /** The last of this node's {@link update}s, which run one at a time. */
  #updates: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly storage: Storage,
    private readonly ttlMs: number,
    private readonly now: () => number,
    catalog: ModelCatalog,
    loadedAt: number,
  ) {
    this.#catalog = catalog;
    this.#loadedAt = loadedAt;
  }

  static async load(storage: Storage, ttlMs: number, now: () => number): Promise<ModelDirectory> {
    const startedAt = now();
    return new ModelDirectory(storage, ttlMs, now, await catalogFrom(storage), startedAt);
  }

  /** The catalog now; reloads (once, shared by concurrent callers) when it is stale. */
  async catalog(): Promise<ModelCatalog> {
    // A negative age is a clock stepped back (NTP) since the read: how old the catalog is cannot be told, so it is
    // read again. Counted as fresh, it stayed in force for the length of the step on top of the TTL.
    const age = this.now() - this.#loadedAt;
    if (age >= 0 && age < this.ttlMs) return this.#catalog;
    this.#reload ??= this.#load().finally(() => (this.#reload = undefined));
    await this.#reload;
    return this.#catalog;
  }

  /** Saves an admin's model (new or changed) and puts it in force on this node at once. */
  async save(model: CatalogModel): Promise<CatalogModel> {
    await this.storage.saveModel(model, new Date(this.now()));
    this.#saves++;
    this.#catalog = this.#catalog.withOverride(model);
    return model;
  }

  /**
   * Changes one model, starting from what storage holds now rather than from this node's catalog, which may be
   * up to `ttlMs` old: built from that, a change would put back what another node changed meanwhile (re-pricing
   * a model another node had just deactivated activated it again), and a model another node had just added
   * was not found. This node's updates run one at a time, so two at once both apply; across nodes too, through
   * `Storage.updateModel` (memory and PostgreSQL have it), which applies each change to the model as the last one
   * left it. A storage without it is read and then saved: two changes on two nodes within one read and one write
   * of each other can still overlap there.
   *
   * @param id - The model's id.
   * @param change - The model as it should be, from the model as it is; what it throws is thrown, nothing saved.
   * @returns The model saved, or `undefined` when no model has this id (nothing is saved).
   */
  update(id: string, change: (current: CatalogModel) => CatalogModel): Promise<CatalogModel | undefined> {
    const run = this.#updates.then(async () => {
      const storage = this.storage;
      if (typeof storage.updateModel !== 'function') {
        const current = (await catalogFrom(storage)).get(id);
        return current && this.save(change(current));
      }
      // Read and saved in one step of storage's, one change of this model at a time across nodes: read first and saved
      // after, a change on another node in between was undone (a deactivation lost to a re-pricing saved after it).
      const saved = await storage.updateModel(
        id.toLowerCase(),
        (stored) => {
          // A built-in this node's catalog leaves out, for an admin's model of its name (ModelCatalog.create), is no model
          // to change: it would be saved as a second model of that name. An admin's model is never deleted, so it stays out.
          if (stored === null && this.#catalog.get(id) === undefined) return undefined;
          const current = ModelCatalog.create(stored === null ? [] : [stored]).get(id);
          return current && change(current);
        },
        new Date(this.now()),
      );
      if (saved === undefined) return undefined;
      this.#saves++;
      this.#catalog = this.#catalog.withOverride(saved);
      return saved;
    });
    this.#updates = run.catch(() => undefined);
    return run;
  }

  async #load(): Promise<void> {
    const saves = this.#saves;
    // The catalog read is as old as the read's start, not its end: its age counts from there, so another node's
    // change is seen within `ttlMs` of it however long the read took (docs/architecture.md, scale-out).
    const startedAt = this.now();
    const catalog = await catalogFrom(this.storage);
    // A save meanwhile may be missing from what was read: keep the catalog it made, and read again next time.
    if (saves !== this.#saves) return;
    this.#catalog = catalog;
    this.#loadedAt = startedAt;
  }
}

async function catalogFrom(storage: Storage): Promise<ModelCatalog> {
  return ModelCatalog.create(await storage.listModels());
}
