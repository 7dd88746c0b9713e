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

  it("sees another node's change within the TTL of the change, even when the reload that missed it was slow", async () => {
    // docs/http-api.md: admin changes reach other nodes within catalogTtlMs. A reload that read storage just
    // before another node deactivated a model, and whose answer came late, must not keep the model active for a
    // whole TTL after that answer.
    const storage = memoryStorage();
    const model = BUILT_IN_MODELS[0]!;
    let now = 0;
    let changeDuringRead = false;
    const slow = {
      ...storage,
      listModels: async () => {
        const models = await storage.listModels();
        if (changeDuringRead) {
          changeDuringRead = false;
          now += 1_000;
          await storage.saveModel({ ...model, isActive: false }, new Date(now)); // another node's admin
          now += 4_000; // the answer without the change arrives 5 s after the reload began
        }
        return models;
      },
    };
    const directory = await ModelDirectory.load(slow, 30_000, () => now);

    now = 30_000;
    changeDuringRead = true;
    expect((await directory.catalog()).get(model.id)?.isActive).toBe(true);
    now = 31_000 + 30_000; // the TTL after the change
    expect((await directory.catalog()).get(model.id)?.isActive).toBe(false);
  });

  it("sees another node's change within the TTL of the change when the clock stepped back meanwhile", async () => {
    // NTP steps a fast clock back an hour: counted on the wall clock alone, the catalog read before the step stayed
    // in force for the hour on top of the TTL, calling a model another node's admin had deactivated.
    const storage = memoryStorage();
    const model = BUILT_IN_MODELS[0]!;
    let now = Date.UTC(2026, 11, 4, 12);
    const directory = await ModelDirectory.load(storage, 30_000, () => now);
    await storage.saveModel({ ...model, isActive: false }, new Date(now)); // another node's admin
    now -= 3_600_000;
    now += 30_000;
    expect((await directory.catalog()).get(model.id)?.isActive).toBe(false);
  });
});
