import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { Logger } from './logger.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { Storage } from '../storage/storage.js';
import type { UsageListener } from '../metering/usage-meter.js';
import { alice, call, mockProvidersForFile, processTroubleForEachTest, testByokit } from '../http/test-helpers.js';

// A host's logger is the host's code, and may fail: a hand-written one whose JSON.stringify meets what it cannot
// write, a transport that throws once its stream has closed, an async one that rejects. A line it fails to write is
// dropped (said once, as a process warning); what byokit answers and records is the same as with a logger that works.

/** Claude Sonnet 4.5, retired by Anthropic: its first call logs a warning (catalog/retirements.ts). */
const RETIRED_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
/** Claude Sonnet 5.5: no warning of its own. */
const MODEL_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const hello = (modelId = MODEL_ID) => ({ model_id: modelId, messages: [{ role: 'user' as const, content: 'Hello!' }], max_tokens: 64 });

const mock = mockProvidersForFile();
const trouble = processTroubleForEachTest();

/**
 * The process warnings each test makes, kept rather than printed: every test here has byokit say that its logger
 * failed, and the five said so on the suite's stderr, among the warnings nobody meant.
 */
const warnings: Array<{ message: string; code: unknown }> = [];
beforeEach(() => {
  warnings.length = 0;
  vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error, options?: unknown) => {
    const code = typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : undefined;
    warnings.push({ message: String(warning), code });
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** What byokit says, once, of the first line its logger fails to write. */
const LOGGER_FAILED = {
  message:
    "byokit's logger failed to write a line (Error: the log transport is closed): byokit dropped that line and goes on, " +
    'and will drop any other line the logger fails to write without saying so again. Fix the logger given to createByokit.',
  code: 'BYOKIT_LOGGER_FAILED',
};

/** A logger each of whose methods throws (or, `async`, rejects), keeping the messages it was asked to write. */
function failingLogger({ async = false } = {}): Logger & { messages: string[] } {
  const messages: string[] = [];
  const failure = () => new Error('the log transport is closed');
  const fail = async
    ? async (_fields: Record<string, unknown>, message: string) => {
        messages.push(message);
        throw failure();
      }
    : (_fields: Record<string, unknown>, message: string) => {
        messages.push(message);
        throw failure();
      };
  return { debug: fail, info: fail, warn: fail, error: fail, messages };
}

function setUp(logger: Logger, options: { storage?: Storage; onUsage?: UsageListener } = {}) {
  return testByokit({
    providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    logger,
    ...options,
  });
}

/** Lets the process's 'warning' events (emitted on the next tick) and any unhandled rejection come in. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('a host logger that fails to write a line', () => {
  it('changes no answer: a request is answered in full, and a failure still in the contract’s shape', async () => {
    const logger = failingLogger();
    const inner = memoryStorage();
    let started = false;
    const storage: Storage = {
      ...inner,
      listKeys: (...args) => (started ? Promise.reject(new Error('the key table is gone')) : inner.listKeys(...args)),
    };
    const { byokit } = await setUp(logger, { storage });
    started = true;
    // Each request's debug line (handler.ts), and the 500's error line (error-response.ts).
    expect((await call(byokit, 'GET', '/openapi.json'))!.status).toBe(200);
    const failed = await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(failed!.status).toBe(500);
    expect(failed!.json.error.code).toBe('internal_error');
    expect(logger.messages).toContain('request');
    await byokit.close();
    expect(warnings).toEqual([LOGGER_FAILED]);
  });

  it('answers the first chat to a retired model, whose warning it fails to write', async () => {
    const logger = failingLogger();
    const { byokit, storage } = await setUp(logger);
    const completion = await byokit.chat(alice, hello(RETIRED_MODEL_ID));
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(logger.messages.some((message) => message.includes('was retired by its provider'))).toBe(true);
    await byokit.close();
    expect((await storage.listUsage({ limit: 10 })).records).toHaveLength(1);
    expect(warnings).toEqual([LOGGER_FAILED]);
  });

  it('writes the usage records after one whose failure it could not log, and close() resolves', async () => {
    const logger = failingLogger();
    const inner = memoryStorage();
    let writes = 0;
    const storage: Storage = {
      ...inner,
      // The first write is refused for good (not storage_unavailable: its record is given up, and logged).
      recordUsage: (records, endedHolds) =>
        ++writes === 1 ? Promise.reject(new Error('a check constraint')) : inner.recordUsage(records, endedHolds),
    };
    const { byokit } = await setUp(logger, { storage });
    await byokit.chat(alice, hello());
    await expect.poll(() => logger.messages).toContain('usage record not saved');
    await byokit.chat(alice, hello());
    await byokit.close();
    expect((await inner.listUsage({ limit: 10 })).records).toHaveLength(1);
    await settled();
    expect(trouble.rejections).toEqual([]);
    expect(warnings).toEqual([LOGGER_FAILED]);
  });

  it('leaves no unhandled rejection when a usage listener fails and its line cannot be written', async () => {
    const logger = failingLogger();
    const { byokit, storage } = await setUp(logger, { onUsage: () => Promise.reject(new Error('billing is down')) });
    await byokit.chat(alice, hello());
    await byokit.close();
    expect(logger.messages).toContain('onUsage failed');
    expect((await storage.listUsage({ limit: 10 })).records).toHaveLength(1);
    await settled();
    expect(trouble.rejections).toEqual([]);
    expect(warnings).toEqual([LOGGER_FAILED]);
  });

  it('says its first failure once, as a process warning, for a logger that rejects as for one that throws', async () => {
    const logger = failingLogger({ async: true });
    const { byokit } = await setUp(logger);
    for (let each = 0; each < 3; each++) expect((await call(byokit, 'GET', '/openapi.json'))!.status).toBe(200);
    await byokit.close();
    await settled();
    expect(logger.messages).toEqual(['request', 'request', 'request']);
    expect(trouble.rejections).toEqual([]);
    expect(warnings).toEqual([LOGGER_FAILED]);
  });
});
