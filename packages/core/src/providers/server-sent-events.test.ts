import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ProviderStreamEvent } from './provider-types.js';
import { ServerSentEvents, type StreamDecoder } from './server-sent-events.js';

/** Each event's data as one text event: the pipeline's own behaviour, without a provider's format. */
const textDecoder: StreamDecoder = { event: (data) => [{ type: 'text', text: data }], end: () => [] };

/**
 * A dispatcher answering 200 with `events` in one piece of body, then ending the body when `ends`; it records
 * every abort undici's controller is told of, as the exchange's owner would act on it.
 */
function upstream(events: string[], { ends }: { ends: boolean }): { dispatcher: Dispatcher; aborts: unknown[] } {
  const aborts: unknown[] = [];
  const controller = {
    get aborted() {
      return aborts.length > 0;
    },
    paused: false,
    reason: null,
    abort: (reason: unknown) => void aborts.push(reason),
    pause() {},
    resume() {},
  } as unknown as Dispatcher.DispatchController;
  const dispatcher = {
    dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      queueMicrotask(() => {
        handler.onRequestStart?.(controller, {});
        handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
        handler.onResponseData?.(controller, Buffer.from(events.map((data) => `data: ${data}\n\n`).join('')));
        if (ends) handler.onResponseEnd?.(controller, {});
      });
      return true;
    },
  } as unknown as Dispatcher;
  return { dispatcher, aborts };
}

async function answerOf(dispatcher: Dispatcher): Promise<ServerSentEvents> {
  const head = await new ServerSentEvents('anthropic', textDecoder, undefined).start(dispatcher, {
    origin: 'http://provider.test',
    path: '/v1/messages',
    method: 'POST',
  });
  return head.events;
}

describe('a streamed answer', () => {
  it('read to its end leaves the finished exchange alone: nothing is aborted once the provider ended it', async () => {
    const { dispatcher, aborts } = upstream(['one', 'two'], { ends: true });
    const answer = await answerOf(dispatcher);
    const read: ProviderStreamEvent[] = [];
    for await (const event of answer) read.push(event);
    // As the chat service does when its chunks end, however they end.
    await answer.return();
    expect(read).toEqual([
      { type: 'text', text: 'one' },
      { type: 'text', text: 'two' },
    ]);
    expect(aborts).toEqual([]);
  });

  it('left after its first event, while the provider is still sending, aborts the upstream exchange', async () => {
    const { dispatcher, aborts } = upstream(['one', 'two'], { ends: false });
    for await (const event of await answerOf(dispatcher)) {
      expect(event).toEqual({ type: 'text', text: 'one' });
      break;
    }
    expect(aborts).toHaveLength(1);
  });

  it('paused on a run of events that carry nothing (pings), flows again once the reader has taken them, and ends', async () => {
    // Pings decode to nothing, as Anthropic's do; any other event to its text.
    const decoder: StreamDecoder = { event: (data) => (data === 'ping' ? [] : [{ type: 'text', text: data }]), end: () => [] };
    let paused = false;
    let resumed = 0;
    const controller = {
      aborted: false,
      reason: null,
      get paused() {
        return paused;
      },
      abort() {},
      pause: () => void (paused = true),
      resume: () => {
        paused = false;
        resumed++;
      },
    } as unknown as Dispatcher.DispatchController;
    let handler!: Dispatcher.DispatchHandler;
    const dispatcher = {
      dispatch(_options: Dispatcher.DispatchOptions, given: Dispatcher.DispatchHandler) {
        handler = given;
        queueMicrotask(() => {
          handler.onRequestStart?.(controller, {});
          handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
          handler.onResponseData?.(controller, Buffer.from('data: ping\n\n'.repeat(100)));
        });
        return true;
      },
    } as unknown as Dispatcher;
    const answer = (
      await new ServerSentEvents('anthropic', decoder, undefined).start(dispatcher, {
        origin: 'http://provider.test',
        path: '/',
        method: 'POST',
      })
    ).events;
    expect(paused).toBe(true);

    const next = answer.next();

    // The body flows again (a paused body would never bring the rest), and what it brings is read.
    expect([paused, resumed]).toEqual([false, 1]);
    handler.onResponseData?.(controller, Buffer.from('data: after\n\n'));
    handler.onResponseEnd?.(controller, {});
    expect(await next).toEqual({ value: { type: 'text', text: 'after' }, done: false });
    expect(await answer.next()).toEqual({ value: undefined, done: true });
  });
});
