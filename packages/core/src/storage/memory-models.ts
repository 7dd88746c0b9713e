/** A memory storage's admin models: listed in a fixed order, saved by id, changed one at a time. */
import type { CatalogModel } from '../catalog/model.js';
import { ByokitError } from '../errors.js';
import type { MemoryState } from './memory-state.js';
import type { Storage } from './storage.js';

/** Provider, then model name, in code-point order (what `<` compares for these ASCII names). */
function byProviderAndName(a: CatalogModel, b: CatalogModel): number {
  if (a.provider !== b.provider) return a.provider < b.provider ? -1 : 1;
  return a.model < b.model ? -1 : a.model > b.model ? 1 : 0;
}

/** The model methods of a memory storage over `state`. */
export function memoryModels({ models }: MemoryState): Pick<Storage, 'listModels' | 'saveModel' | 'updateModel'> {
  const saveModel = (model: CatalogModel) => {
    const clash = [...models.values()].find(
      (other) => other.id !== model.id && other.provider === model.provider && other.model === model.model,
    );
    if (clash) throw new ByokitError('conflict', `A model ${model.provider}/${model.model} exists already.`);
    models.set(model.id, structuredClone(model));
  };

  return {
    async listModels() {
      return [...models.values()].sort(byProviderAndName).map((model) => structuredClone(model));
    },

    async saveModel(model: CatalogModel) {
      saveModel(model);
    },

    async updateModel(id: string, change: (stored: CatalogModel | null) => CatalogModel | undefined) {
      // No await from the read to the write: each change is applied to the model as the last one left it.
      const stored = models.get(id);
      const next = change(stored === undefined ? null : structuredClone(stored));
      if (next === undefined) return undefined;
      saveModel(next);
      return structuredClone(next);
    },
  };
}
