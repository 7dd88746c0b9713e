// Run by response-left-after-gc.test.ts as `node --expose-gc`: asks byokit.fetch for a streamed chat, lets go of the
// Response without reading or cancelling its body (a host's middleware that answered meanwhile: Hono's timeout), its
// request's signal never aborted, collects garbage, and prints whether the (mock) provider saw the upstream request
// aborted, whether byokit.close() then resolved, and the call's usage record. Uses the built package.
import { createByokit, Keyring, memoryStorage } from '@byokit/core';
import { startMockProviders } from '@byokit/core/mock-providers';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const body = Array.from(crypto.getRandomValues(new Uint8Array(93)), (byte) => alphabet[byte & 63]).join('');
// A chunk every second: the provider is still answering when the Response is let go of, however slow a loaded
// machine makes the collections below.
const mock = await startMockProviders({ chunkGapMs: 1_000 });
const storage = memoryStorage();
const byokit = await createByokit({
  storage,
  keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
  environment: { ANTHROPIC_API_KEY: `sk-ant-api03-${body}AA` },
  providers: { anthropic: { baseUrl: mock.baseUrls.anthropic } },
  fetchHandler: { authenticate: () => ({ userId: 'left', isAdmin: false }) },
});
const chat = { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user', content: 'Hello!' }], stream: true };

async function answerAndLeave() {
  const response = await byokit.fetch(
    new Request('http://host.test/v2/llm/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat),
    }),
  );
  return response.status;
}
const status = await answerAndLeave();

// Collections until the provider hears the abort (a finalizer runs on a later turn than the collection), at most 200.
const seen = mock
  .waitForRequest((one) => one.aborted, { timeoutMs: 10_000 })
  .then(
    () => true,
    () => false,
  );
let aborted = false;
void seen.then((value) => (aborted = value));
for (let round = 0; round < 200 && !aborted; round++) {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const closed = await Promise.race([byokit.close().then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 5_000))]);
const records = (await storage.listUsage({ userId: 'left', limit: 10 })).records.map((record) => record.status);
process.stdout.write(JSON.stringify({ status, aborted, closed, records }));
await mock.close().catch(() => {});
process.exit(0);
