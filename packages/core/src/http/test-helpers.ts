// Helpers for core's own tests: build framework-free requests without an HTTP server.
import { createByokit, type ByokitOptions } from '../byokit.js';
import { Keyring } from '../crypto/keyring.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS } from '../keys/providers.js';
import { DEFAULT_SYSTEM_KEY_VARIABLES } from '../resolve/environment-keys.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { ByokitRequest, Principal } from './types.js';
import type { Byokit } from '../byokit.js';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startMockProviders, type MockProviders } from '../testing/mock-providers.js';

export const alice: Principal = { userId: 'user-alice', isAdmin: false };
export const bob: Principal = { userId: 'user-bob', isAdmin: false };
export const admin: Principal = { userId: 'user-admin', isAdmin: true };

/**
 * The mock providers for one test file: started before its first test, reset before each (nothing recorded,
 * no failure queued, no gap between chunks), closed after the last. Use it at the top level of the file; the
 * object it returns forwards to the running mock.
 */
export function mockProvidersForFile(): MockProviders {
  let running: MockProviders | undefined;
  beforeAll(async () => {
    running = await startMockProviders();
  });
  afterAll(() => running?.close());
  beforeEach(() => {
    running!.reset();
    // Each test starts from a prompt mock: a pause one test set does not slow the next.
    running!.setChunkGapMs(0);
    running!.setAnswerDelayMs(0);
  });
  return new Proxy({} as MockProviders, {
    get: (_target, property) => {
      if (!running) throw new Error('The mock providers start before the first test: use them inside tests and hooks.');
      return Reflect.get(running, property);
    },
  });
}

/**
 * The process's warnings (`MaxListenersExceededWarning`…) and unhandled rejections while each test of the file
 * runs, emptied before each: what a call left behind that no assertion on its answer sees.
 */
export function processTroubleForEachTest(): { warnings: string[]; rejections: unknown[] } {
  const warnings: string[] = [];
  const rejections: unknown[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => {
    warnings.length = 0;
    rejections.length = 0;
    process.on('warning', onWarning);
    process.on('unhandledRejection', onRejection);
  });
  afterEach(() => {
    process.off('warning', onWarning);
    process.off('unhandledRejection', onRejection);
  });
  return { warnings, rejections };
}

/** A keyring of fresh random keys. */
export function testKeyring(...ids: string[]): Keyring {
  return Keyring.from((ids.length ? ids : ['k1']).map((id) => ({ id, key: crypto.getRandomValues(new Uint8Array(32)) })));
}

/**
 * A byokit whose providers, every one of PROVIDERS, are `mock`, each with a system key and no retries, and its whole catalog as an
 * admin lists it: for tests that send every provider the same requests.
 */
export async function byokitOnEveryProvider<Entry = { provider: string; model: string; is_active: boolean }>(mock: MockProviders) {
  const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
  const environment = Object.fromEntries(PROVIDERS.map((provider) => [DEFAULT_SYSTEM_KEY_VARIABLES[provider], fakeProviderKey(provider)]));
  const { byokit } = await testByokit({ providers, environment });
  const catalog = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Entry[];
  return { byokit, catalog };
}

/** A byokit on memory storage with an empty environment unless told otherwise. */
export async function testByokit(options: Partial<ByokitOptions> = {}) {
  const storage = options.storage ?? memoryStorage();
  const byokit = await createByokit({ keyring: testKeyring(), environment: {}, ...options, storage });
  return { byokit, storage };
}

export interface CallOptions {
  principal?: Principal | null;
  body?: unknown;
  /** Raw body text, sent as is. */
  rawBody?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Calls byokit as an adapter would; JSON-encodes `body` unless `rawBody` is given. */
export async function call(byokit: Byokit, method: string, url: string, options: CallOptions = {}) {
  const raw = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  const headers: Record<string, string> = { ...options.headers };
  if (bytes) headers['content-type'] = options.contentType ?? 'application/json';
  const request: ByokitRequest = {
    method,
    url,
    headers,
    body: bytes
      ? {
          kind: 'stream',
          stream: (async function* () {
            yield bytes;
          })(),
        }
      : { kind: 'none' },
    authenticate: () => (options.principal === undefined ? null : options.principal),
    ...(options.signal && { signal: options.signal }),
  };
  const response = await byokit.handle(request);
  if (!response) return undefined;
  let text = '';
  if (typeof response.body === 'string') text = response.body;
  else for await (const chunk of response.body) text += chunk;
  const isJson = response.headers['content-type']?.startsWith('application/json');
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: isJson && text ? JSON.parse(text) : undefined,
    events: sseEvents(text),
  };
}

/** A request body that records whether anyone read it: for the checks that must refuse a body unread. */
export function watchedBody(): { body: ByokitRequest['body']; wasRead: () => boolean } {
  let read = false;
  const stream = (async function* () {
    read = true;
    yield new Uint8Array(1);
  })();
  return { body: { kind: 'stream', stream }, wasRead: () => read };
}

/** Starts a streamed chat as an adapter would, reads its first chunk, then goes away as a client does. */
export async function streamThenLeave(byokit: Byokit, principal: Principal, body: unknown): Promise<void> {
  const controller = new AbortController();
  const response = await byokit.handle({
    method: 'POST',
    url: '/llm/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify(body))] },
    authenticate: () => principal,
    signal: controller.signal,
  });
  const iterator = (response!.body as AsyncIterable<string>)[Symbol.asyncIterator]();
  await iterator.next();
  controller.abort();
  await iterator.return?.();
}

/** The `data:` payloads of a server-sent event stream, parsed (`[DONE]` kept as the string). */
export function sseEvents(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice(6))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}
