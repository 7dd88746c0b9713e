import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS } from '../catalog/built-in-models.js';
import { memoryStorage } from '../storage/memory-storage.js';
import { ModelDirectory } from './model-directory.js';

describe('the model directory', () => {
  it("keeps an admin's change made while a reload was reading storage, instead of the catalog read before it", async () => {
    // A reload that began before the change may read the catalog without it: adopting that would undo the
    // change on this node until the next reload.
    const storage = memoryStorage();
    let holdReads: Promise<void> | undefined;
    const slow = {
      ...storage,
      listModels: async () => {
        const models = await storage.listModels();
        await holdReads;
        return models;
      },
    };
    let now = 0;
    const directory = await ModelDirectory.load(slow, 1_000, () => now);
    const model = BUILT_IN_MODELS[0]!;

    now = 2_000;
    let release!: () => void;
    holdReads = new Promise((resolve) => (release = resolve));
    const reloading = directory.catalog();
    await new Promise((resolve) => setImmediate(resolve));
    holdReads = undefined;
    await directory.save({ ...model, isActive: false });
    release();
    await reloading;

    expect((await directory.catalog()).get(model.id)?.isActive).toBe(false);
  });
});
