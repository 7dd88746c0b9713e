import { describe, expect, it, vi } from 'vitest';
import { BUILT_IN_MODELS } from '../catalog/built-in-models.js';
import { ByokitError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { Storage } from '../storage/storage.js';
import type { UsageRecord } from './usage-record.js';
import { UsageMeter, type MeteredCall } from './usage-meter.js';
import { costOf } from './cost.js';

const model = BUILT_IN_MODELS[0]!;
const now = () => new Date(Date.UTC(2027, 2, 3, 12));

function call(userId: string, holdId?: string): MeteredCall {
  return {
    userId,
    model,
    keySource: 'system',
    requestId: `req_${crypto.randomUUID()}`,
    startedAt: performance.now(),
    ...(holdId && { holdId }),
  };
}

function recordingLogger(): Logger & { errors: { context: Record<string, unknown>; message: string }[] } {
  const errors: { context: Record<string, unknown>; message: string }[] = [];
  const ignore = () => {};
  return { debug: ignore, info: ignore, warn: ignore, error: (context, message) => errors.push({ context, message }), errors };
}

/** A storage whose writes wait until released, and which remembers each batch it was given. */
function gatedStorage(inner: Storage = memoryStorage()) {
  const batches: { records: UsageRecord[]; endedHolds: string[] }[] = [];
  let open!: () => void;
  let gate = new Promise<void>((resolve) => (open = resolve));
  const storage: Storage = {
    ...inner,
    recordUsage: async (records, endedHolds = []) => {
      batches.push({ records: [...records], endedHolds: [...endedHolds] });
      await gate;
      await inner.recordUsage(records, endedHolds);
    },
  };
  return {
    storage,
    batches,
    release: () => {
      open();
      gate = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

/**
 * A meter on a memory storage that answers storage_unavailable while `down` is true, noting the size of each write
 * tried, and its logger.
 */
function outage() {
  const inner = memoryStorage();
  const state = { down: true, attempts: [] as number[], endedHolds: [] as string[] };
  const storage: Storage = {
    ...inner,
    recordUsage: async (records, endedHolds = []) => {
      state.attempts.push(records.length);
      if (state.down) throw new ByokitError('storage_unavailable', 'The database is unavailable; try again shortly.');
      state.endedHolds.push(...endedHolds);
      await inner.recordUsage(records, endedHolds);
    },
  };
  const logger = recordingLogger();
  return { storage, state, logger, meter: new UsageMeter(storage, logger, now) };
}

describe('UsageMeter', () => {
  it('keeps with each record every count and price its cost came from, so that the record can be re-costed alone', async () => {
    // The Anthropic recording with a prompt cache (anthropic-code-execution-20260120-prompt-cache): reads and writes.
    const usage = { inputTokens: 9632, outputTokens: 198, cachedInputTokens: 6289, cacheWriteTokens: 3337, reasoningTokens: 0 };
    const storage = memoryStorage();
    const meter = new UsageMeter(storage, recordingLogger(), now);
    const priced = BUILT_IN_MODELS.filter((each) => each.pricing?.cacheWritePerMTokUsd !== undefined);
    expect(priced.length).toBeGreaterThan(0);
    for (const each of priced) meter.record({ ...call('cache-user'), model: each }, 'ok', usage);
    await meter.flush();

    const { records } = await storage.listUsage({ userId: 'cache-user', limit: 100 });
    expect(records).toHaveLength(priced.length);
    for (const record of records) {
      expect(record).toMatchObject({ cachedInputTokens: 6289, cacheWriteTokens: 3337 });
      const model = priced.find((each) => each.id === record.modelId)!;
      expect(record.prices).toEqual({ ...model.pricing });
      const fromRecord = { ...usage, cachedInputTokens: record.cachedInputTokens!, cacheWriteTokens: record.cacheWriteTokens! };
      expect(costOf(fromRecord, record.prices)!.costUsd, record.model).toBe(record.costUsd);
    }
  });

  it('writes the records that arrive while a write is in flight together, as the next batch', async () => {
    const gated = gatedStorage();
    const meter = new UsageMeter(gated.storage, recordingLogger(), now);
    meter.record(call('ada'), 'ok', { inputTokens: 1, outputTokens: 2 });
    await vi.waitFor(() => expect(gated.batches).toHaveLength(1));

    for (let index = 0; index < 5; index++) meter.record(call('ada'), 'ok', { inputTokens: 1, outputTokens: 2 });
    gated.release();
    await vi.waitFor(() => expect(gated.batches).toHaveLength(2));
    gated.release();
    await meter.flush();

    expect(gated.batches.map((batch) => batch.records.length)).toEqual([1, 5]);
    const page = await gated.storage.listUsage({ userId: 'ada', limit: 10 });
    expect(page.records).toHaveLength(6);
  });

  it("makes and writes nothing on the answer's path: only after the turn in which the call ended", async () => {
    const gated = gatedStorage();
    const heard: string[] = [];
    const meter = new UsageMeter(gated.storage, recordingLogger(), now, (record) => void heard.push(record.id));
    meter.record(call('ada'), 'ok', { inputTokens: 1, outputTokens: 2 });
    // Everything the answer's own awaits would run (microtasks) runs first, without a record.
    for (let turn = 0; turn < 20; turn++) await Promise.resolve();
    expect(gated.batches).toHaveLength(0);
    expect(heard).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    await vi.waitFor(() => expect(gated.batches).toHaveLength(1));
    expect(heard).toHaveLength(1);
    gated.release();
    await meter.flush();
  });

  it('sends each record with the budget hold it ends, so both happen in the same write', async () => {
    const gated = gatedStorage();
    const meter = new UsageMeter(gated.storage, recordingLogger(), now);
    const held = crypto.randomUUID();
    meter.record(call('ada', held), 'ok', {});
    meter.record(call('ada'), 'error', {});
    await vi.waitFor(() => expect(gated.batches).toHaveLength(1));
    gated.release();
    await meter.flush();
    expect(gated.batches).toEqual([
      { records: [expect.objectContaining({ status: 'ok' }), expect.objectContaining({ status: 'error' })], endedHolds: [held] },
    ]);
  });

  it('keeps the other records of a batch the database refuses one of, and logs that one', async () => {
    const inner = memoryStorage();
    const taken = call('ada');
    const logger = recordingLogger();
    let refusedOnce = false;
    const storage: Storage = {
      ...inner,
      recordUsage: async (records, endedHolds) => {
        if (records.some((record) => record.requestId === taken.requestId)) {
          refusedOnce = true;
          throw new ByokitError('validation_failed', 'refused');
        }
        await inner.recordUsage(records, endedHolds);
      },
    };
    const meter = new UsageMeter(storage, logger, now);
    meter.record(call('ada'), 'ok', {});
    meter.record(taken, 'ok', {});
    meter.record(call('ada'), 'ok', {});
    await meter.flush();

    expect(refusedOnce).toBe(true);
    expect((await inner.listUsage({ userId: 'ada', limit: 10 })).records).toHaveLength(2);
    expect(logger.errors).toEqual([
      { context: expect.objectContaining({ requestId: taken.requestId, code: 'validation_failed' }), message: 'usage record not saved' },
    ]);
  });

  // The line says why, as an operator needs to act: the host's billing listener, or the storage, and its own words.
  it("logs why the host's onUsage failed and why the storage refused a record, under err, with the request id", async () => {
    const logger = recordingLogger();
    const billingDown = new Error('billing API answered 503');
    const storage: Storage = {
      ...memoryStorage(),
      recordUsage: async () => {
        throw Object.assign(new Error('value too long for type character varying(64)'), { code: '22001' });
      },
    };
    const meter = new UsageMeter(storage, logger, now, () => {
      throw billingDown;
    });
    const taken = call('ada');
    meter.record(taken, 'ok', {});
    await meter.flush();
    expect(logger.errors).toHaveLength(2);
    expect(logger.errors).toContainEqual({
      context: expect.objectContaining({
        requestId: taken.requestId,
        err: expect.objectContaining({ message: 'value too long for type character varying(64)', code: '22001' }),
      }),
      message: 'usage record not saved',
    });
    expect(logger.errors).toContainEqual({
      context: expect.objectContaining({
        requestId: taken.requestId,
        err: expect.objectContaining({ message: 'billing API answered 503' }),
      }),
      message: 'onUsage failed',
    });
  });

  // This runs outside any request: a throw while logging would reject flush() and, unheard, stop the host's process.
  it("logs the host's onUsage failure, and throws nothing, when its error has a field that throws when read", async () => {
    const logger = recordingLogger();
    const unreadable = new Error('billing API answered 503');
    Object.defineProperty(unreadable, 'response', {
      enumerable: true,
      get() {
        throw new Error('no response yet');
      },
    });
    const meter = new UsageMeter(memoryStorage(), logger, now, () => {
      throw unreadable;
    });
    const taken = call('ada');
    meter.record(taken, 'ok', {});
    await expect(meter.flush()).resolves.toBeUndefined();
    expect(logger.errors).toEqual([
      {
        context: expect.objectContaining({
          requestId: taken.requestId,
          err: expect.objectContaining({ message: 'billing API answered 503' }),
        }),
        message: 'onUsage failed',
      },
    ]);
  });

  // A host's code may fail with anything, a revoked proxy among it (a client wrapped in Proxy.revocable, revoked at
  // its shutdown), whose every read throws: asking whether it was a storage_unavailable must not throw in turn.
  it("logs the host's onUsage and storage failing with a revoked proxy, and throws nothing: flush() resolves", async () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    };
    const logger = recordingLogger();
    const storage: Storage = {
      ...memoryStorage(),
      recordUsage: () => Promise.reject(revoked()),
    };
    const meter = new UsageMeter(storage, logger, now, () => Promise.reject(revoked()));
    const taken = call('ada');
    meter.record(taken, 'ok', {});
    await expect(meter.flush()).resolves.toBeUndefined();
    expect(logger.errors.map(({ context, message }) => [context.requestId, message]).sort()).toEqual([
      [taken.requestId, 'onUsage failed'],
      [taken.requestId, 'usage record not saved'],
    ]);
  });

  // A host's `now` may fail mid-run (a test's fake clock uninstalled, a date read from settings gone missing): the calls
  // that end meanwhile reached their provider, and are recorded all the same. Thrown, a stream's end was left counted
  // as open, and close() waited on it for good.
  it("records a call that ends while the host's clock fails, dated by the system clock and logged: flush() ends", async () => {
    const storage = memoryStorage();
    const logger = recordingLogger();
    let clockWorks = true;
    const meter = new UsageMeter(storage, logger, () => {
      if (clockWorks) return now();
      throw new TypeError('createByokit: `now` must be a function returning a Date; it returned undefined');
    });
    const streamed = call('ada');
    const plain = call('ada');
    const end = meter.opened(streamed);
    clockWorks = false;
    expect(() => end('ok', { inputTokens: 1, outputTokens: 2 })).not.toThrow();
    expect(() => meter.record(plain, 'error', {})).not.toThrow();
    await meter.flush();
    const { records } = await storage.listUsage({ userId: 'ada', limit: 10 });
    expect(records.map((record) => record.requestId).sort()).toEqual([streamed.requestId, plain.requestId].sort());
    expect(logger.errors.map(({ context, message }) => [context.requestId, message]).sort()).toEqual(
      [streamed.requestId, plain.requestId]
        .sort()
        .map((requestId) => [requestId, 'clock failed: the usage record is dated by the system clock']),
    );
  });

  it('logs a call whose record cannot be made, records the others, and throws nothing outside the request', async () => {
    const storage = memoryStorage();
    const logger = recordingLogger();
    const broken = call('ada');
    const meter = new UsageMeter(storage, logger, now);
    meter.record(call('ada'), 'ok', { inputTokens: 1, outputTokens: 2 });
    // A count past Number.MAX_SAFE_INTEGER: the cost refuses it (a provider client's bug, cost.ts).
    meter.record(broken, 'ok', { inputTokens: 2 ** 53 + 2, outputTokens: 2 });
    meter.record(call('ada'), 'ok', { inputTokens: 1, outputTokens: 2 });
    await meter.flush();

    expect((await storage.listUsage({ userId: 'ada', limit: 10 })).records).toHaveLength(2);
    expect(logger.errors).toEqual([
      {
        context: expect.objectContaining({
          requestId: broken.requestId,
          err: expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('usage.inputTokens') }),
        }),
        message: 'usage record not made',
      },
    ]);
  });

  it('does not retry record by record while the database is unavailable; flushed, tries once more, then logs every record lost', async () => {
    const { state, logger, meter } = outage();
    for (let index = 0; index < 3; index++) meter.record(call('ada'), 'ok', {});
    await meter.flush();
    expect(state.attempts).toEqual([3, 3]);
    expect(logger.errors).toHaveLength(3);
    expect(logger.errors.every((error) => error.context.code === 'storage_unavailable')).toBe(true);
  });

  // Each write the database is unavailable for waits on it (a pool's connection timeout, 5 s on the PostgreSQL storage):
  // trying each batch of 500 in turn made a round, and close(), wait once per batch, 100 s for 10,000 kept records.
  it('tries the database once a round while it is unavailable, not once per batch: close() waits on it once', async () => {
    const { state, logger, meter } = outage();
    const calls = Array.from({ length: 1_200 }, () => call('ada'));
    for (const each of calls) meter.record(each, 'ok', {});
    await meter.flush();
    // The first write, then close()'s one more try: one batch each, the rest kept (then given up) with it.
    expect(state.attempts).toEqual([500, 500]);
    expect(logger.errors.map((error) => error.context.requestId)).toEqual(calls.map((each) => each.requestId));
  });

  describe('while the database is unavailable', () => {
    it('keeps the records and saves them, with the holds they end, once it is back: none lost to a blip', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const { storage, state, logger, meter } = outage();
        meter.record(call('ada', '7c1e0f0a-3b9d-4d8e-9f2a-1b2c3d4e5f60'), 'ok', { inputTokens: 12, outputTokens: 30 });
        meter.record(call('ada'), 'ok', { inputTokens: 12, outputTokens: 30 });
        await vi.waitFor(() => expect(state.attempts.length).toBe(1));
        // Still down at the next try; back before the one after.
        await vi.advanceTimersToNextTimerAsync();
        expect(state.attempts.length).toBe(2);
        state.down = false;
        await vi.advanceTimersToNextTimerAsync();
        await meter.flush();
        expect(state.attempts.length).toBe(3);
        const saved = await storage.listUsage({ userId: 'ada', limit: 10 });
        expect(saved.records).toHaveLength(2);
        expect(state.endedHolds).toEqual(['7c1e0f0a-3b9d-4d8e-9f2a-1b2c3d4e5f60']);
        expect(logger.errors).toEqual([]);
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });

    it('tries again 1 s into a later outage, not after the longer pause an earlier one had reached', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const { state, logger, meter } = outage();
        meter.record(call('ada'), 'ok', {});
        await vi.waitFor(() => expect(state.attempts.length).toBe(1));
        // Down for the tries 1, 2 and 4 s later; back for the one 8 s after that.
        for (let pause = 0; pause < 2; pause++) await vi.advanceTimersToNextTimerAsync();
        expect(state.attempts.length).toBe(3);
        state.down = false;
        await vi.advanceTimersToNextTimerAsync();
        expect(state.attempts.length).toBe(4);

        state.down = true;
        meter.record(call('ada'), 'ok', {});
        await vi.waitFor(() => expect(state.attempts.length).toBe(5));
        await vi.advanceTimersByTimeAsync(1_000);
        expect(state.attempts.length).toBe(6);
        state.down = false;
        await meter.flush();
        expect(logger.errors).toEqual([]);
      } finally {
        vi.useRealTimers();
      }
    });

    it('gives a record up, logged once, after trying for about five minutes, and keeps no timer', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
      try {
        const { state, logger, meter } = outage();
        meter.record(call('ada'), 'ok', {});
        await vi.waitFor(() => expect(state.attempts.length).toBe(1));
        let waited = 0;
        while (vi.getTimerCount() > 0) {
          const before = Date.now();
          await vi.advanceTimersToNextTimerAsync();
          waited += Date.now() - before;
        }
        await meter.flush();
        expect(waited).toBeGreaterThanOrEqual(4 * 60_000);
        expect(waited).toBeLessThanOrEqual(6 * 60_000);
        expect(logger.errors).toEqual([
          expect.objectContaining({ message: 'usage record not saved', context: expect.objectContaining({ code: 'storage_unavailable' }) }),
        ]);
        // Given up: flushing again tries nothing more.
        const tries = state.attempts.length;
        await meter.flush();
        expect(state.attempts.length).toBe(tries);
      } finally {
        vi.useRealTimers();
      }
    });

    it('keeps an early record its five minutes while new calls keep coming and failing', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
      try {
        const { storage, state, logger, meter } = outage();
        const start = Date.now();
        const first = call('ada');
        meter.record(first, 'ok', {});
        await vi.waitFor(() => expect(state.attempts.length).toBe(1));
        while (Date.now() - start < 4 * 60_000) {
          meter.record(call('ada'), 'ok', {});
          await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1));
          await vi.advanceTimersToNextTimerAsync();
        }
        expect(logger.errors.map((error) => error.context.requestId)).not.toContain(first.requestId);
        state.down = false;
        await vi.advanceTimersToNextTimerAsync();
        await meter.flush();
        expect(logger.errors).toEqual([]);
        expect((await storage.listUsage({ userId: 'ada', limit: 1000 })).records.map((record) => record.requestId)).toContain(
          first.requestId,
        );
      } finally {
        vi.useRealTimers();
      }
    });

    it('keeps the records through a clock stepped forward (NTP) meanwhile: five minutes are counted as they pass', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
      try {
        const { storage, state, logger, meter } = outage();
        meter.record(call('ada'), 'ok', {});
        await vi.waitFor(() => expect(state.attempts.length).toBe(1));
        vi.setSystemTime(Date.now() + 60 * 60_000);
        await vi.advanceTimersToNextTimerAsync();
        expect(state.attempts.length).toBe(2);
        state.down = false;
        await vi.advanceTimersToNextTimerAsync();
        await meter.flush();
        expect(logger.errors).toEqual([]);
        expect((await storage.listUsage({ userId: 'ada', limit: 10 })).records).toHaveLength(1);
      } finally {
        vi.useRealTimers();
      }
    });

    it('keeps at most 10,000 records, giving the oldest up (logged) past that: memory stays bounded in a long outage', async () => {
      const { logger, meter } = outage();
      const calls = Array.from({ length: 10_005 }, () => call('ada'));
      for (const each of calls) meter.record(each, 'ok', {});
      await vi.waitFor(() => expect(logger.errors).toHaveLength(5));
      expect(logger.errors.map((error) => error.context.requestId)).toEqual(calls.slice(0, 5).map((each) => each.requestId));
      await meter.flush();
      expect(logger.errors).toHaveLength(10_005);
    });
  });

  it('flush() waits for the listener and for records made while an earlier write was in flight', async () => {
    const gated = gatedStorage();
    const heard: string[] = [];
    const meter = new UsageMeter(gated.storage, recordingLogger(), now, async (record) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      heard.push(record.id);
    });
    meter.record(call('ada'), 'ok', {});
    await vi.waitFor(() => expect(gated.batches).toHaveLength(1));
    meter.record(call('ada'), 'ok', {});
    let flushed = false;
    const flushing = meter.flush().then(() => (flushed = true));
    gated.release();
    await vi.waitFor(() => expect(gated.batches).toHaveLength(2));
    expect(flushed).toBe(false);
    gated.release();
    await flushing;
    expect(heard).toHaveLength(2);
    expect((await gated.storage.listUsage({ userId: 'ada', limit: 10 })).records).toHaveLength(2);
  });

  // A host's listener whose promise never settles: a billing call without a timeout, on a connection gone silent.
  it("stops waiting, 10 s into close(), for the host's onUsage calls that have not settled, logging how many: close() ends", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const logger = recordingLogger();
      const storage = memoryStorage();
      const heard: string[] = [];
      const meter = new UsageMeter(storage, logger, now, (record) => {
        heard.push(record.requestId);
        return heard.length === 1 ? new Promise<void>(() => {}) : undefined;
      });
      const hung = call('ada');
      meter.record(hung, 'ok', {});
      meter.record(call('ada'), 'ok', {});
      let flushed = false;
      const flushing = meter.flush().then(() => (flushed = true));
      await vi.advanceTimersByTimeAsync(9_999);
      expect(flushed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(flushed).toBe(true);
      await flushing;
      expect(heard).toHaveLength(2);
      expect((await storage.listUsage({ userId: 'ada', limit: 10 })).records).toHaveLength(2);
      expect(logger.errors).toEqual([{ context: { listeners: 1 }, message: 'onUsage not settled 10 s into close(): not waited for' }]);
      expect(vi.getTimerCount()).toBe(0);
      // close() flushes twice: the second does not wait for it again.
      let again = false;
      void meter.flush().then(() => (again = true));
      await vi.waitFor(() => expect(again).toBe(true));
    } finally {
      vi.useRealTimers();
    }
  });

  /** A meter whose host's onUsage never settles: the requests it heard, and what it logged. */
  function meterWithHungListener() {
    const logger = recordingLogger();
    const heard: string[] = [];
    const meter = new UsageMeter(memoryStorage(), logger, now, (record) => {
      heard.push(record.requestId);
      return new Promise<void>(() => {});
    });
    return { logger, heard, meter };
  }

  // close() flushes twice (before and after the streams still running end): the 10 s are for the whole close(), a
  // later flush waiting only for what is left of them. The clock (performance.now()) is faked with the timers.
  it("waits 10 s in all for the host's onUsage calls, whatever the flushes: one begun after the 10 s is let go at once", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { logger, heard, meter } = meterWithHungListener();
      meter.record(call('ada'), 'ok', {});
      const first = meter.flush();
      await vi.advanceTimersByTimeAsync(10_000);
      await first;
      // A stream's record, made after the first flush's wait: its call is let go of at once, the 10 s being spent.
      meter.record(call('ada'), 'ok', {});
      let flushed = false;
      const second = meter.flush().then(() => (flushed = true));
      await vi.waitFor(() => expect(heard).toHaveLength(2));
      await vi.advanceTimersByTimeAsync(0);
      expect(flushed).toBe(true);
      await second;
      expect(logger.errors.map((error) => error.context)).toEqual([{ listeners: 1 }, { listeners: 1 }]);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts, when the 10 s run out, the onUsage calls it waited for still running, not those begun since', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const { logger, heard, meter } = meterWithHungListener();
      meter.record(call('ada'), 'ok', {});
      let flushed = false;
      const flushing = meter.flush().then(() => (flushed = true));
      await vi.waitFor(() => expect(heard).toHaveLength(1));
      await vi.advanceTimersByTimeAsync(5_000);
      // Begun while the wait runs: not waited for by it, so not among those it let go of.
      meter.record(call('ada'), 'ok', {});
      await vi.waitFor(() => expect(heard).toHaveLength(2));
      expect(flushed).toBe(false);
      await vi.advanceTimersByTimeAsync(5_000);
      await flushing;
      expect(logger.errors).toEqual([{ context: { listeners: 1 }, message: 'onUsage not settled 10 s into close(): not waited for' }]);
    } finally {
      vi.useRealTimers();
    }
  });

  // The other side of the 10 s: a listener that settles within them ends the wait then, and its timer with it, which
  // would otherwise keep a host's process alive for the rest of the 10 s after close() had ended.
  it("ends the wait when the host's last onUsage call settles within the 10 s, logging nothing and leaving no timer", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const logger = recordingLogger();
      const meter = new UsageMeter(memoryStorage(), logger, now, () => new Promise<void>((resolve) => setTimeout(resolve, 9_900)));
      meter.record(call('ada'), 'ok', {});
      let flushed = false;
      const flushing = meter.flush().then(() => (flushed = true));
      await vi.advanceTimersByTimeAsync(9_899);
      expect(flushed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(flushed).toBe(true);
      await flushing;
      expect(logger.errors).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('warns, with the request id, when a call answered in full but the provider never reported its usage: it is recorded at cost 0', async () => {
    const warnings: { context: Record<string, unknown>; message: string }[] = [];
    const logger = {
      ...recordingLogger(),
      warn: (context: Record<string, unknown>, message: string) => void warnings.push({ context, message }),
    };
    const storage = memoryStorage();
    const meter = new UsageMeter(storage, logger, now);
    const unreported = call('ada');
    meter.record(unreported, 'ok', {});
    // Reported in full, or a call that did not finish (its usage may simply not have come yet): nothing to say.
    meter.record(call('ada'), 'ok', { inputTokens: 1, outputTokens: 2 });
    // Gemini reports no output for a prompt it blocked: not a loss.
    meter.record(call('ada'), 'ok', { inputTokens: 4 });
    // Nor is one count without the other, whichever it is.
    meter.record(call('ada'), 'ok', { outputTokens: 3 });
    meter.record(call('ada'), 'aborted', {});
    meter.record(call('ada'), 'error', {});
    await meter.flush();
    const page = await storage.listUsage({ userId: 'ada', limit: 10 });
    const record = page.records.find((candidate) => candidate.requestId === unreported.requestId)!;
    expect(record).toMatchObject({ status: 'ok', inputTokens: null, outputTokens: null, costUsd: '0' });
    expect(warnings).toEqual([
      {
        context: { requestId: unreported.requestId, usageId: record.id, provider: model.provider, model: model.model },
        message: 'usage not reported by the provider: the call is recorded without tokens, at cost 0',
      },
    ]);
  });
});
