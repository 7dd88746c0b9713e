// Shared by the scripts that let go of a call unfinished and collect garbage (stream-left-after-gc.script.mjs,
// fetch/response-left-after-gc.script.mjs), run as `node --expose-gc` on the built package.
import { createByokit, Keyring, memoryStorage } from '@byokit/core';
import { startMockProviders } from '@byokit/core/mock-providers';

/** The chat each script starts, for the user `left`. */
export const LEFT_CHAT = { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user', content: 'Hello!' }] };

/**
 * Makes a byokit (with `options`) on a mock provider, runs `leave(byokit)` (which starts a streamed chat for the user
 * `left` and lets go of it unfinished; what it returns is printed too), collects garbage until the provider hears the
 * abort, and prints whether it did, whether byokit.close() then resolved, and the call's usage records. Exits.
 */
export async function reportCallLeftAfterGc(leave, options = {}) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const body = Array.from(crypto.getRandomValues(new Uint8Array(93)), (byte) => alphabet[byte & 63]).join('');
  // A chunk every second: the provider is still answering when the call is let go of, however slow a loaded
  // machine makes the collections below.
  const mock = await startMockProviders({ chunkGapMs: 1_000 });
  const storage = memoryStorage();
  const byokit = await createByokit({
    storage,
    keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: { ANTHROPIC_API_KEY: `sk-ant-api03-${body}AA` },
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
    ...options,
  });
  const left = await leave(byokit);

  // Collections until the provider hears the abort (a finalizer runs on a later turn than the collection), at most 200.
  let aborted = false;
  void mock
    .waitForRequest((one) => one.aborted, { timeoutMs: 10_000 })
    .then(
      () => (aborted = true),
      () => {},
    );
  for (let round = 0; round < 200 && !aborted; round++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const closed = await Promise.race([byokit.close().then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5_000))]);
  const records = (await storage.listUsage({ userId: 'left', limit: 10 })).records.map((record) => record.status);
  process.stdout.write(JSON.stringify({ ...left, aborted, closed, records }));
  await mock.close().catch(() => {});
  process.exit(0);
}
