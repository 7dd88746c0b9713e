import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { onAbort, RequestAbort } from './request-abort.js';

describe("a request's abort", () => {
  it('calls each listener added through onAbort once, after it reads as aborted', () => {
    const abort = new RequestAbort();
    const first = vi.fn();
    const second = vi.fn();
    onAbort(abort, first);
    onAbort(abort, second);
    const seen: boolean[] = [];
    onAbort(abort, () => seen.push(abort.aborted));
    expect(abort.aborted).toBe(false);
    abort.abort();
    abort.abort();
    expect(abort.aborted).toBe(true);
    expect(first).toHaveBeenCalledOnce();
    expect(second).toHaveBeenCalledOnce();
    expect(seen).toEqual([true]);
  });

  it('aborts with the reason given, or with an AbortError as AbortController does', () => {
    const given = new RequestAbort();
    const reason = new Error('the client went away');
    given.abort(reason);
    expect(given.reason).toBe(reason);
    expect(given.signal.reason).toBe(reason);
    // Aborted again (the adapter's own close after the host's abort), it keeps the first reason, as an AbortSignal does.
    given.abort(new Error('closed'));
    expect([given.reason, given.signal.reason]).toEqual([reason, reason]);
    const plain = new RequestAbort();
    expect(plain.reason).toBeUndefined();
    plain.abort();
    expect(plain.reason).toMatchObject({ name: 'AbortError' });
    const controller = new AbortController();
    controller.abort();
    expect((plain.reason as DOMException).message).toBe((controller.signal.reason as DOMException).message);
  });

  it('makes no AbortSignal until its signal is read, and the signal it makes aborts with it, before or after', () => {
    const Standard = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Standard {
      constructor() {
        super();
        made++;
      }
    };
    try {
      const early = new RequestAbort();
      onAbort(early, () => {});
      early.abort();
      expect(made).toBe(0);
      expect(early.signal.aborted).toBe(true);
      expect(made).toBe(1);
    } finally {
      globalThis.AbortController = Standard;
    }
    const later = new RequestAbort();
    const signal = later.signal;
    const listener = vi.fn();
    signal.addEventListener('abort', listener);
    expect(signal.aborted).toBe(false);
    later.abort();
    expect(signal.aborted).toBe(true);
    expect(listener).toHaveBeenCalledOnce();
    expect(later.signal).toBe(signal);
  });

  it('still calls the other listeners when one throws, and reports the error out of band', async () => {
    const abort = new RequestAbort();
    const after = vi.fn();
    onAbort(abort, () => {
      throw new Error('a listener failed');
    });
    onAbort(abort, after);
    const reported = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    abort.abort();
    expect(after).toHaveBeenCalledOnce();
    expect(await reported).toMatchObject({ message: 'a listener failed' });
  });

  it('does not call a listener that stopped listening, and keeps another of the same listener', () => {
    const abort = new RequestAbort();
    const listener = vi.fn();
    const stop = onAbort(abort, listener);
    onAbort(abort, listener);
    stop();
    abort.abort();
    expect(listener).toHaveBeenCalledOnce();
  });

  it('calls a listener at once when it has aborted already, as for a standard signal', () => {
    const abort = new RequestAbort();
    abort.abort();
    const listener = vi.fn();
    onAbort(abort, listener);
    expect(listener).toHaveBeenCalledOnce();
    const host = AbortSignal.abort();
    const other = vi.fn();
    onAbort(host, other);
    expect(other).toHaveBeenCalledOnce();
  });

  it("listens to any other signal (the host's own) through one listener on the signal, and stops without leaving it", () => {
    const host = new AbortController();
    const kept = vi.fn();
    const dropped = vi.fn();
    const stops = Array.from({ length: 20 }, () => onAbort(host.signal, dropped));
    onAbort(host.signal, kept);
    expect(getEventListeners(host.signal, 'abort')).toHaveLength(1);
    for (const stop of stops) stop();
    expect(getEventListeners(host.signal, 'abort')).toHaveLength(1);
    host.abort();
    expect(kept).toHaveBeenCalledOnce();
    expect(dropped).not.toHaveBeenCalled();
    const later = new AbortController();
    const stopLater = onAbort(later.signal, dropped);
    stopLater();
    stopLater();
    expect(getEventListeners(later.signal, 'abort')).toHaveLength(0);
    onAbort(later.signal, kept);
    expect(getEventListeners(later.signal, 'abort')).toHaveLength(1);
  });

  it("on the host's own signal, a listener stopped by another as it aborts is not called, and one that throws stops no other", async () => {
    const host = new AbortController();
    const after = vi.fn();
    let stopAfter = () => {};
    onAbort(host.signal, () => stopAfter());
    onAbort(host.signal, () => {
      throw new Error('a listener failed');
    });
    const kept = vi.fn();
    onAbort(host.signal, kept);
    stopAfter = onAbort(host.signal, after);
    const reported = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    host.abort();
    expect(after).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledOnce();
    expect(await reported).toMatchObject({ message: 'a listener failed' });
    expect(getEventListeners(host.signal, 'abort')).toHaveLength(0);
  });
});
