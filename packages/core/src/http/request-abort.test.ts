import { describe, expect, it, vi } from 'vitest';
import { onAbort, RequestAbort } from './request-abort.js';

describe("a request's abort", () => {
  it('aborts its standard signal, then calls each listener added through onAbort once', () => {
    const abort = new RequestAbort();
    const first = vi.fn();
    const second = vi.fn();
    onAbort(abort.signal, first);
    onAbort(abort.signal, second);
    const seen: boolean[] = [];
    onAbort(abort.signal, () => seen.push(abort.signal.aborted));
    abort.abort();
    abort.abort();
    expect(abort.signal.aborted).toBe(true);
    expect(first).toHaveBeenCalledOnce();
    expect(second).toHaveBeenCalledOnce();
    expect(seen).toEqual([true]);
  });

  it('aborts with the reason given, as AbortController does', () => {
    const abort = new RequestAbort();
    const reason = new Error('the client went away');
    abort.abort(reason);
    expect(abort.signal.reason).toBe(reason);
  });

  it('still calls the other listeners when one throws, and reports the error out of band', async () => {
    const abort = new RequestAbort();
    const after = vi.fn();
    onAbort(abort.signal, () => {
      throw new Error('a listener failed');
    });
    onAbort(abort.signal, after);
    const reported = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    abort.abort();
    expect(after).toHaveBeenCalledOnce();
    expect(await reported).toMatchObject({ message: 'a listener failed' });
  });

  it('does not call a listener that stopped listening', () => {
    const abort = new RequestAbort();
    const listener = vi.fn();
    const stop = onAbort(abort.signal, listener);
    stop();
    abort.abort();
    expect(listener).not.toHaveBeenCalled();
  });

  it('also tells listeners of the standard signal, added the usual way', () => {
    const abort = new RequestAbort();
    const listener = vi.fn();
    abort.signal.addEventListener('abort', listener);
    abort.abort();
    expect(listener).toHaveBeenCalledOnce();
  });

  it('calls a listener at once when the signal has aborted already', () => {
    const abort = new RequestAbort();
    abort.abort();
    const listener = vi.fn();
    onAbort(abort.signal, listener);
    expect(listener).toHaveBeenCalledOnce();
    const host = AbortSignal.abort();
    const other = vi.fn();
    onAbort(host, other);
    expect(other).toHaveBeenCalledOnce();
  });

  it("listens to any other signal (the host's own) through the signal itself, and stops without leaving a listener", () => {
    const host = new AbortController();
    const added = vi.spyOn(host.signal, 'addEventListener');
    const removed = vi.spyOn(host.signal, 'removeEventListener');
    const kept = vi.fn();
    const dropped = vi.fn();
    onAbort(host.signal, kept);
    onAbort(host.signal, dropped)();
    expect(added).toHaveBeenCalledTimes(2);
    expect(removed).toHaveBeenCalledOnce();
    host.abort();
    expect(kept).toHaveBeenCalledOnce();
    expect(dropped).not.toHaveBeenCalled();
  });
});
