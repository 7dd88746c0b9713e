// Run by abort-after-gc.test.ts as `node --expose-gc`: streams a chat, collects garbage, aborts, and prints
// whether the (mock) provider saw the upstream request aborted. Uses the built package.
import { createByokit, Keyring, memoryStorage } from '@byokit/core';
import { startMockProviders } from '@byokit/core/mock-providers';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const body = Array.from(crypto.getRandomValues(new Uint8Array(93)), (byte) => alphabet[byte & 63]).join('');
const mock = await startMockProviders({ chunkGapMs: 200 });
const byokit = await createByokit({
  storage: memoryStorage(),
  keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
  environment: { ANTHROPIC_API_KEY: `sk-ant-api03-${body}AA` },
  providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
});
const controller = new AbortController();
const request = { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user', content: 'Hello!' }] };
const iterator = byokit.chatStream({ userId: 'gc' }, request, { signal: controller.signal })[Symbol.asyncIterator]();
await iterator.next();
// What a busy server does between two chunks: collect garbage. Then the client goes away.
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 20));
globalThis.gc();
controller.abort();
void iterator.next().catch(() => {});
const aborted = await mock
  .waitForRequest((seen) => seen.aborted, { timeoutMs: 1_500 })
  .then(
    () => true,
    () => false,
  );
process.stdout.write(JSON.stringify({ aborted }));
await mock.close().catch(() => {});
process.exit(0);
