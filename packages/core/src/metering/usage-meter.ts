import type { CatalogModel } from '../catalog/model.js';
import { isByokitError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { TokenUsage } from '../providers/provider-types.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { Storage } from '../storage/storage.js';
import { costOf } from './cost.js';
import type { UsageRecord, UsageStatus } from './usage-record.js';

/** A host's own use of each record (e.g. its billing system); called once per record, never awaited by a request. */
export type UsageListener = (record: UsageRecord) => void | Promise<void>;

/** One finished call, as the chat service knows it. */
export interface MeteredCall {
  userId: string;
  model: CatalogModel;
  keySource: KeySource;
  requestId: string;
  /** `performance.now()` when the call started. */
  startedAt: number;
  /** The budget hold the call's record ends (BudgetGuard), if a budget limits it. */
  holdId?: string;
}

/**
 * Writes a usage record for every call that reached a provider (spec/http-api.md, "Usage and billing"),
 * without holding up the answer: the write and the host's listener run after it, and a failure of either is
 * logged, never the caller's error. `flush()` waits for the writes still in flight (`byokit.close()` does).
 */
export class UsageMeter {
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    private readonly now: () => Date,
    private readonly listener?: UsageListener,
  ) {}

  /** Records how `call` ended, with the tokens the provider reported (all of them, or those seen before it ended). */
  record(call: MeteredCall, status: UsageStatus, usage: TokenUsage): void {
    const record = usageRecord(call, status, usage, this.now());
    const saved = call.holdId === undefined ? this.storage.recordUsage(record) : this.storage.releaseHold(call.holdId, record);
    this.#track(saved, record, 'usage record not saved');
    if (this.listener)
      this.#track(
        Promise.resolve().then(() => this.listener!(record)),
        record,
        'onUsage failed',
      );
  }

  /** Waits until every record written so far is saved (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #track(work: Promise<unknown>, record: UsageRecord, message: string): void {
    const settled = work.then(
      () => undefined,
      (error: unknown) =>
        this.logger.error({ requestId: record.requestId, usageId: record.id, ...(isByokitError(error) && { code: error.code }) }, message),
    );
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }
}

function usageRecord(call: MeteredCall, status: UsageStatus, usage: TokenUsage, at: Date): UsageRecord {
  const { model } = call;
  const pricing = model.pricing;
  return {
    id: crypto.randomUUID(),
    createdAt: at,
    userId: call.userId,
    modelId: model.id,
    model: model.model,
    provider: model.provider,
    keySource: call.keySource,
    status,
    inputTokens: usage.inputTokens ?? null,
    outputTokens: usage.outputTokens ?? null,
    cachedInputTokens: usage.cachedInputTokens ?? null,
    reasoningTokens: usage.reasoningTokens ?? null,
    // The tokens reported so far: for an aborted stream, what the provider counted before it stopped.
    costUsd: costOf(usage, pricing)?.costUsd ?? '0',
    prices: pricing && {
      inputPerMTokUsd: pricing.inputPerMTokUsd,
      outputPerMTokUsd: pricing.outputPerMTokUsd,
      ...(pricing.cachedInputPerMTokUsd !== undefined && { cachedInputPerMTokUsd: pricing.cachedInputPerMTokUsd }),
    },
    latencyMs: Math.max(0, Math.round(performance.now() - call.startedAt)),
    requestId: call.requestId,
  };
}
