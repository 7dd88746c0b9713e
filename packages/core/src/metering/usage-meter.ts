import { pricesFor } from '../catalog/long-prompt-prices.js';
import type { CatalogModel } from '../catalog/model.js';
import { isByokitError } from '../errors.js';
import { loggableError, type Logger } from '../logging/logger.js';
import type { TokenUsage } from '../providers/provider-types.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { Storage } from '../storage/storage.js';
import { costOf } from './cost.js';
import { copyOfUsageRecord, type UsageRecord, type UsageStatus } from './usage-record.js';

/**
 * A host's own use of each record (e.g. its billing system); called once per record, never awaited by a request, and
 * by `close()` 10 s at most.
 */
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
  /** Stops renewing that hold (BudgetGuard.renewWhileRunning): called once the call has ended. */
  stopRenewing?: () => void;
}

/** The most records one write carries: bounded statements, and a bounded loss if a whole batch fails. */
const MAX_BATCH = 500;

interface QueuedRecord {
  /** None for a hold ended alone, whose call was never made ({@link UsageMeter.endHold}). */
  record?: UsageRecord;
  holdId?: string;
  /**
   * When a write first found the database unavailable for it (`performance.now()`: time as it passes, which a wall clock
   * stepped forward, NTP's, skipped, giving every kept record up at the next try).
   */
  keptSince?: number;
}

/**
 * How long records the database is unavailable for are kept and tried again. Well within a budget hold's life
 * (BudgetGuard's 15 minutes), so the spend a kept record holds never stops counting before it is saved or given up.
 */
const KEEP_FOR_MS = 5 * 60_000;
/** The pause before the next try: 1 s, doubling at each try that fails, up to 30 s. */
const FIRST_PAUSE_MS = 1_000;
const LONGEST_PAUSE_MS = 30_000;

/** The most records kept for another try: past it, the oldest are given up (logged), so an outage's memory is bounded. */
const MAX_KEPT = 10_000;

/**
 * How long {@link UsageMeter.flush} (`byokit.close()`) waits for the host's `onUsage` calls still running once
 * everything else is done: one whose promise never settles (a billing call without a timeout, its connection gone
 * silent) kept close() from ever ending, and a host's shutdown with it. The records are saved either way. Counted
 * once, from the first wait: close() flushes twice (before and after the streams still running end), and a later
 * flush waits only for what is left (until 2026-12-07 each waited 10 s of its own: 20 s in all).
 */
const LISTENERS_WAIT_MS = 10_000;

/** A call as it ended, kept until its record is made off the answer's path. */
interface FinishedCall {
  call: MeteredCall;
  status: UsageStatus;
  usage: TokenUsage;
  at: Date;
  latencyMs: number;
}

/** After the current turn's I/O (the answer's write included); a plain timer where there is no setImmediate. */
const afterThisTurn: (run: () => void) => void = globalThis.setImmediate ?? ((run) => setTimeout(run, 0));

/**
 * Writes a usage record for every call that reached a provider (spec/http-api.md, "Usage and billing"),
 * without holding up the answer: `record()` only notes how the call ended; the record is made (cost, ids),
 * written and handed to the host's listener after the answer has been written, and a failure of either is
 * logged, never the caller's error. `flush()` waits for all of it (`byokit.close()` does).
 *
 * Records are written in batches by group commit: when no write is in flight, the records made go at once;
 * while one is, the records that come in queue, and go together as the next write. Under light load nothing
 * waits; under heavy load one statement carries many records, instead of one round trip each.
 *
 * Records the database is unavailable for (`storage_unavailable`: a restart, a failover) are kept and tried
 * again for five minutes ({@link KEEP_FOR_MS}), at most {@link MAX_KEPT} of them, before they are given
 * up and logged: a blip of the database no longer loses the calls made meanwhile. A record is never written
 * twice: a storage refuses an id it holds already (Storage.recordUsage), so a write that did go through though
 * its answer was lost is refused when tried again (and logged as not saved).
 */
export class UsageMeter {
  #finished: FinishedCall[] = [];
  #making: Promise<void> | undefined;
  #queue: QueuedRecord[] = [];
  #writing: Promise<void> | undefined;
  /** Records the database was unavailable for, oldest first, waiting for the next try. */
  #kept: QueuedRecord[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The pause before the next try of kept records; back to the first once a write goes through. */
  #pauseMs = FIRST_PAUSE_MS;
  /** While flushing: a record the database is unavailable for is given up, not kept (close() must not wait out an outage). */
  #lastTry = false;
  readonly #listening = new Set<Promise<void>>();
  /** When the wait for the listeners runs out (performance.now()), set by the first wait: see {@link LISTENERS_WAIT_MS}. */
  #listenersDeadline: number | undefined;
  /** Calls begun whose end is still to come (a stream being read): see {@link opened}. */
  #open = 0;
  #allEnded: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
    private readonly now: () => Date,
    private readonly listener?: UsageListener,
  ) {}

  /** Records how `call` ended, with the tokens the provider reported (all of them, or those seen before it ended). */
  record(call: MeteredCall, status: UsageStatus, usage: TokenUsage): void {
    call.stopRenewing?.();
    const latencyMs = Math.max(0, Math.round(performance.now() - call.startedAt));
    this.#finished.push({ call, status, usage, at: this.#endedAt(call.requestId), latencyMs });
    this.#making ??= new Promise((resolve) =>
      afterThisTurn(() => {
        this.#making = undefined;
        this.#makeRecords();
        resolve();
      }),
    );
  }

  /**
   * When the call ended, by the host's clock; by the system's, logged, when the host's fails (throws, or gives no Date):
   * the call reached its provider and is recorded all the same. Thrown, it lost the record and, for a stream, left its
   * end uncounted, so that flush() (close()) waited on it for good.
   */
  #endedAt(requestId: string): Date {
    try {
      return this.now();
    } catch (error) {
      this.logger.error({ requestId, err: loggableError(error) }, 'clock failed: the usage record is dated by the system clock');
      return new Date();
    }
  }

  /**
   * Notes a call whose end comes later, when its reader gets there (a stream: chat-service.ts), and returns what
   * records it, once. {@link flush} waits for it: a stream still being read when byokit closed was answered to
   * its end, but its record came after the storage had closed, and was lost (its budget hold left counting).
   */
  opened(call: MeteredCall): (status: UsageStatus, usage: TokenUsage) => void {
    this.#open++;
    let ended = false;
    return (status, usage) => {
      if (ended) return;
      ended = true;
      this.record(call, status, usage);
      if (--this.#open === 0) {
        this.#allEnded?.resolve();
        this.#allEnded = undefined;
      }
    };
  }

  /**
   * Ends a budget hold whose call was never made, with the next write (kept and tried again as records are): storage
   * failed to answer for the hold, and may have saved it all the same (BudgetGuard.hold).
   */
  endHold(holdId: string): void {
    this.#queue.push({ holdId });
    this.#writing ??= this.#writeQueued();
  }

  /** Resolves when no call noted by {@link opened} is left open. */
  #openEnded(): Promise<void> | undefined {
    if (this.#open === 0) return undefined;
    if (!this.#allEnded) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#allEnded = { promise, resolve };
    }
    return this.#allEnded.promise;
  }

  /** Makes the records of the calls finished so far, queues them for writing and tells the listener. */
  #makeRecords(): void {
    for (const { call, status, usage, at, latencyMs } of this.#finished.splice(0)) {
      let record: UsageRecord;
      try {
        record = usageRecord(call, status, usage, at, latencyMs);
      } catch (error) {
        // A count the cost cannot take is a provider client's bug. This runs outside any request: a throw here
        // would be uncaught and stop the host's process, so the call is logged, and the others still recorded.
        // Its budget hold, if any, stays until it expires: the spend is over-counted meanwhile, never under.
        this.logger.error({ requestId: call.requestId, err: loggableError(error) }, 'usage record not made');
        continue;
      }
      // An answer given in full whose usage never came (a stream cut after its finish, before OpenAI's usage chunk;
      // a proxy that strips it) is billed nothing: said, so that the host can bill it by hand. (A count missing
      // beside others is no sign of loss: Gemini leaves out the output of a prompt it blocked.)
      if (status === 'ok' && usage.inputTokens === undefined && usage.outputTokens === undefined) {
        this.logger.warn(
          { requestId: call.requestId, usageId: record.id, provider: record.provider, model: record.model },
          'usage not reported by the provider: the call is recorded without tokens, at cost 0',
        );
      }
      this.#queue.push({ record, ...(call.holdId !== undefined && { holdId: call.holdId }) });
      // A copy of its own: the host's listener runs before the write, and one that reshaped the record it was handed
      // (its tenant in the user id, the cost as a number) changed what was saved, and whose budget it counted in.
      if (this.listener) this.#listen(copyOfUsageRecord(record));
    }
    this.#writing ??= this.#writeQueued();
  }

  #listen(record: UsageRecord): void {
    const listened = Promise.resolve()
      .then(() => this.listener!(record))
      .then(
        () => undefined,
        (error: unknown) => this.#logFailure(error, 'onUsage failed', { requestId: record.requestId, usageId: record.id }),
      );
    this.#listening.add(listened);
    void listened.finally(() => this.#listening.delete(listened));
  }

  /**
   * Waits until every call noted by {@link opened} has ended, every record made so far is saved (or failed and
   * was logged), and every listener has run, or for those still running, {@link LISTENERS_WAIT_MS} at most.
   */
  async flush(): Promise<void> {
    while (this.#open > 0 || this.#making || this.#writing || this.#kept.length > 0) {
      if (this.#kept.length > 0 && !this.#writing) {
        // Records kept through an outage get one more try now; those the database is still unavailable for are
        // given up rather than waited for (byokit.close() flushes).
        this.#lastTry = true;
        this.#tryKeptAgain();
      }
      await Promise.all([this.#openEnded(), this.#making, this.#writing]);
    }
    this.#lastTry = false;
    // Every record is made: no listener is called from here on.
    await this.#listenersSettled();
  }

  /**
   * Waits for the listener calls running now until {@link LISTENERS_WAIT_MS} after the first wait began; then lets go of
   * those still running, logged.
   */
  async #listenersSettled(): Promise<void> {
    if (this.#listening.size === 0) return;
    const waitedFor = [...this.#listening];
    const now = performance.now();
    this.#listenersDeadline ??= now + LISTENERS_WAIT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waitedOut = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, this.#listenersDeadline! - now))),
    );
    const timedOut = await Promise.race([Promise.all(waitedFor).then(() => false), waitedOut]);
    clearTimeout(timer);
    if (!timedOut) return;
    // Those waited for, not those begun since (a record made meanwhile): they were not waited for.
    const left = waitedFor.filter((listened) => this.#listening.has(listened));
    this.logger.error({ listeners: left.length }, `onUsage not settled ${LISTENERS_WAIT_MS / 1000} s into close(): not waited for`);
    // Not waited for again, nor held: each still settles, or not, on its own.
    for (const listened of left) this.#listening.delete(listened);
  }

  /** Queues the kept records again, ahead of newer ones, and writes. */
  #tryKeptAgain(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#queue.unshift(...this.#kept.splice(0));
    this.#writing ??= this.#writeQueued();
  }

  /** Keeps records the database was unavailable for, to try again later; gives up those tried long enough. */
  #keep(batch: QueuedRecord[], error: unknown): void {
    const now = performance.now();
    for (const queued of batch) {
      queued.keptSince ??= now;
      if (this.#lastTry || now - queued.keptSince >= KEEP_FOR_MS) this.#giveUp(queued, error);
      else this.#kept.push(queued);
    }
    for (const oldest of this.#kept.splice(0, Math.max(0, this.#kept.length - MAX_KEPT))) this.#giveUp(oldest, error);
    if (this.#kept.length === 0 || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => this.#tryKeptAgain(), this.#pauseMs);
    this.#pauseMs = Math.min(this.#pauseMs * 2, LONGEST_PAUSE_MS);
    // A process ending does not wait for it (close() flushes, with one last try).
    (this.#retryTimer as { unref?: () => void }).unref?.();
  }

  #giveUp({ record }: QueuedRecord, error: unknown): void {
    // A hold ended alone and given up is not logged: it was most likely never saved, and if it was, it expires.
    if (record === undefined) return;
    this.#logFailure(error, 'usage record not saved', { requestId: record.requestId, usageId: record.id });
  }

  /** Writes what is queued, batch after batch, until the queue is empty. */
  async #writeQueued(): Promise<void> {
    // Settles after `#writing` is set, even with nothing to write (it is cleared at the end).
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      await this.#write(batch);
    }
    this.#writing = undefined;
  }

  async #write(batch: QueuedRecord[]): Promise<void> {
    try {
      await this.storage.recordUsage(recordsOf(batch), holdIdsOf(batch));
      this.#pauseMs = FIRST_PAUSE_MS;
    } catch (error) {
      // One record the database refuses must not cost the others theirs: try each alone. When the database
      // is not there at all, trying again one by one would only wait on it once per record; and so would the
      // batches queued after this one, once per batch (100 s for 10,000 records at a 5 s connection timeout, in
      // every round and in close()): they are kept with it, for the next try.
      const unavailable = isByokitError(error) && error.code === 'storage_unavailable';
      if (unavailable) return this.#keep([...batch, ...this.#queue.splice(0)], error);
      if (batch.length > 1) {
        for (const queued of batch) await this.#write([queued]);
        return;
      }
      this.#giveUp(batch[0]!, error);
    }
  }

  #logFailure(error: unknown, message: string, context: { requestId: string; usageId: string }): void {
    this.logger.error({ ...context, ...(isByokitError(error) && { code: error.code }), err: loggableError(error) }, message);
  }
}

function recordsOf(batch: QueuedRecord[]): UsageRecord[] {
  const records: UsageRecord[] = [];
  for (const queued of batch) if (queued.record !== undefined) records.push(queued.record);
  return records;
}

function holdIdsOf(batch: QueuedRecord[]): string[] {
  const ids: string[] = [];
  for (const queued of batch) if (queued.holdId !== undefined) ids.push(queued.holdId);
  return ids;
}

function usageRecord(call: MeteredCall, status: UsageStatus, usage: TokenUsage, at: Date, latencyMs: number): UsageRecord {
  const { model } = call;
  // The prices this call is billed at: the model's, or its long-prompt ones for a prompt past the provider's
  // threshold. The record keeps them, so that it can be re-costed alone.
  const pricing = pricesFor(model, usage);
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
    cacheWriteTokens: usage.cacheWriteTokens ?? null,
    reasoningTokens: usage.reasoningTokens ?? null,
    // The tokens reported so far: for an aborted stream, what the provider counted before it stopped.
    costUsd: costOf(usage, pricing)?.costUsd ?? '0',
    prices: pricing && {
      inputPerMTokUsd: pricing.inputPerMTokUsd,
      outputPerMTokUsd: pricing.outputPerMTokUsd,
      ...(pricing.cachedInputPerMTokUsd !== undefined && { cachedInputPerMTokUsd: pricing.cachedInputPerMTokUsd }),
      ...(pricing.cacheWritePerMTokUsd !== undefined && { cacheWritePerMTokUsd: pricing.cacheWritePerMTokUsd }),
    },
    latencyMs,
    requestId: call.requestId,
  };
}
