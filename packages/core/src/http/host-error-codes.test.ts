// A host's own code may throw a ByokitError (its storage must, for `storage_unavailable`: storage.ts). In plain
// JavaScript its code is not checked against ErrorCode: a misspelt one has no status in ERROR_STATUS.
import { describe, expect, it } from 'vitest';
import { ByokitError, type ErrorCode } from '../errors.js';
import { createFetchHandler } from '../fetch/fetch-handler.js';
import type { Logger } from '../logging/logger.js';
import { memoryStorage } from '../storage/memory-storage.js';
import { alice, call, testByokit } from './test-helpers.js';

function storageThrowing(code: string) {
  const storage = memoryStorage();
  storage.getBudget = async () => {
    throw new ByokitError(code as ErrorCode, 'The budget table is down.');
  };
  return storage;
}

function recordingLogger() {
  const errors: Array<Record<string, unknown>> = [];
  const ignore = () => {};
  const logger: Logger = { debug: ignore, info: ignore, warn: ignore, error: (object) => void errors.push(object) };
  return { logger, errors };
}

describe('a ByokitError whose code byokit does not have', () => {
  it('is answered 500 internal_error, and logged with its code', async () => {
    const { logger, errors } = recordingLogger();
    const { byokit } = await testByokit({ storage: storageThrowing('storage_unavailble'), logger });
    const answer = await call(byokit, 'GET', '/users/me/budget', { principal: alice });
    expect(answer!.status).toBe(500);
    expect(answer!.json.error).toMatchObject({ code: 'internal_error' });
    expect(answer!.text).not.toContain('budget table');
    expect(errors).toEqual([expect.objectContaining({ code: 'storage_unavailble' })]);
    await byokit.close();
  });

  it('is a 500 on the fetch handler too, not a 200 carrying an error body', async () => {
    const { byokit } = await testByokit({ storage: storageThrowing('database_down') });
    const fetchHandler = createFetchHandler(byokit, { authenticate: () => alice });
    const response = await fetchHandler(new Request('http://host.test/v2/users/me/budget'));
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('internal_error');
    await byokit.close();
  });
});

describe('a ByokitError a host made with details of null (plain JavaScript)', () => {
  it('is answered in its own code and status, as one made without details', async () => {
    const storage = memoryStorage();
    storage.getBudget = async () => {
      throw new ByokitError('storage_unavailable', 'The budget table is down.', null as never);
    };
    const { byokit } = await testByokit({ storage });
    const answer = await call(byokit, 'GET', '/users/me/budget', { principal: alice });
    expect(answer!.status).toBe(503);
    expect(answer!.json.error).toMatchObject({ code: 'storage_unavailable' });
    await byokit.close();
  });
});
