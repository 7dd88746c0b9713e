// Paces the mock providers' streams by the client's reads, so that "streamed chunk by chunk" is checked by what
// the adapter does, not by how soon a loaded machine schedules the client.
import type { StreamPacer } from '../mock-providers/types.js';

/**
 * How long, by default, the event after a text event waits for the client to read before the rest of the stream
 * goes unheld: only an adapter holding the stream back makes it wait that long.
 */
const GIVE_UP_MS = 5_000;

/** One stream's pacing: give `pacer` to the mock, call `onRead` on each read of the body. */
export interface Lockstep {
  pacer: StreamPacer;
  onRead(): void;
}

/**
 * The event after one with answer text waits until the client has read again since that text event was sent,
 * so each text chunk reaches the client in a read of its own unless the adapter holds it back. An adapter that
 * does (buffering the stream, or writing it in a few large pieces) keeps the client from reading: after
 * `giveUpMs` the rest of the stream goes unheld, and the client's reads fall short.
 *
 * A read counted may be an earlier chunk's, arriving late (a role chunk read after the text event was sent), so
 * the reads guaranteed are the text events less the chunks of events without text.
 */
export function lockstep({ giveUpMs = GIVE_UP_MS } = {}): Lockstep {
  let reads = 0;
  // The client's reads just before the last event was sent.
  let readsBeforeLastEvent = 0;
  let wake: (() => void) | undefined;
  let gaveUp = false;

  async function readSince(mark: number): Promise<void> {
    if (gaveUp || reads > mark) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(() => {
        gaveUp = true;
        resolve();
      }, giveUpMs);
    });
    clearTimeout(timer);
    wake = undefined;
  }

  return {
    async pacer({ afterText }) {
      if (afterText) await readSince(readsBeforeLastEvent);
      readsBeforeLastEvent = reads;
    },
    onRead() {
      reads += 1;
      wake?.();
    },
  };
}
