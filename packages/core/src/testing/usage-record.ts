// A usage record for tests that place records themselves: the storage conformance suite, the budget routes' tests.
import type { UsageRecord } from '../metering/usage-record.js';

/**
 * A Claude call that went well: 12 input tokens at $3/MTok and 30 output tokens at $15/MTok cost $0.000486.
 * Each record gets a new id; times are given, so each test places its records where it needs them.
 */
export function usageRecord(userId: string, createdAt: Date, changes: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id: crypto.randomUUID(),
    createdAt: new Date(createdAt),
    userId,
    modelId: '0b6f6b2e-3c1a-4f43-9d55-5c1d8a2f7e01',
    model: 'claude-sonnet-4-5',
    provider: 'anthropic',
    keySource: 'user',
    status: 'ok',
    inputTokens: 12,
    outputTokens: 30,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd: '0.000486',
    prices: { inputPerMTokUsd: '3', outputPerMTokUsd: '15', cachedInputPerMTokUsd: '0.3', cacheWritePerMTokUsd: '3.75' },
    latencyMs: 842,
    requestId: `req_${crypto.randomUUID()}`,
    ...changes,
  };
}
