import { describe, expect, it } from 'vitest';
import type { Logger } from '../logging/logger.js';
import { alice, call, testByokit } from './test-helpers.js';

/** A logger that keeps its debug lines; `debugEnabled` is what it answers to `isLevelEnabled('debug')`. */
function recordingLogger(debugEnabled: boolean | undefined): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const ignore = () => {};
  const logger = { lines, debug: (object: Record<string, unknown>) => void lines.push(object), info: ignore, warn: ignore, error: ignore };
  return debugEnabled === undefined ? logger : { ...logger, isLevelEnabled: (level: string) => level !== 'debug' || debugEnabled };
}

describe("the request log line (debug, the host's logger)", () => {
  it('says which request it was, how it ended and how long it took, when the host writes debug lines', async () => {
    const logger = recordingLogger(true);
    const { byokit } = await testByokit({ logger });
    await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice, headers: { 'x-request-id': 'log-me' } });
    expect(logger.lines).toEqual([
      { requestId: 'log-me', method: 'GET', path: '/users/me/api-key-status', status: 200, durationMs: expect.any(Number) },
    ]);
  });

  it('is written when the logger cannot say which levels it writes', async () => {
    const logger = recordingLogger(undefined);
    const { byokit } = await testByokit({ logger });
    await call(byokit, 'GET', '/users/me/api-key-status', { principal: null });
    expect(logger.lines).toMatchObject([{ status: 401 }]);
  });

  it('is not even made when the host does not write debug lines', async () => {
    const logger = recordingLogger(false);
    const { byokit } = await testByokit({ logger });
    await call(byokit, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(logger.lines).toEqual([]);
  });
});
