/**
 * The stream `byokit.chatStream()` hands a host's code: one provider call, begun at the first read and read once, and
 * ended as `break` would end it when the host lets go of it unfinished.
 */
import { ByokitError } from '../errors.js';
import type { ChatCompletionChunk } from './chat-schemas.js';

/**
 * An AsyncIterable whose first iteration calls `start` and yields its chunks; a second iteration rejects at its first
 * `next()` (iteratedAgain), and an iterator collected unfinished has its chunks ended (leftStreams).
 */
export function readOnce(start: () => Promise<{ chunks: AsyncIterable<ChatCompletionChunk> }>): AsyncIterable<ChatCompletionChunk> {
  let iterated = false;
  return {
    [Symbol.asyncIterator]() {
      // One provider call, read once, as the providers' SDKs read a stream: a second loop over the same stream
      // started the answer again, from a second call billed in full.
      if (iterated) return iteratedAgain();
      iterated = true;
      // What the iterator's call reads, for its end when the iterator is collected unfinished (see leftStreams).
      const left: { chunks?: AsyncIterable<ChatCompletionChunk> } = {};
      const iterator = (async function* () {
        const { chunks } = await start();
        left.chunks = chunks;
        yield* chunks;
      })();
      leftStreams.register(iterator, left);
      return iterator;
    },
  };
}

/**
 * Ends the call of a stream's iterator that was let go of before its end, without `break`, `return()` or its signal
 * (a host's hand-written loop that stopped calling `next()`): once the iterator is garbage, its chunks' `return()`
 * ends the upstream request and records the call as aborted, as `break` does. Before, nothing ended it: its provider
 * connection stayed open (for ever once its body was paused, unread), its budget hold counted for 15 minutes, and
 * `byokit.close()`, waiting for its record, never resolved. An iterator read to its end has nothing left to end.
 */
const leftStreams = new FinalizationRegistry<{ chunks?: AsyncIterable<ChatCompletionChunk> }>((left) => {
  // The chunks are a generator (chat-service.ts): its iterator is itself, suspended where the reader left it.
  void left.chunks?.[Symbol.asyncIterator]()
    .return?.()
    .catch(() => {});
});

/** The iterator of a `chatStream()` iterated again: its first `next()` rejects, as a call's bad input does. */
async function* iteratedAgain(): AsyncGenerator<ChatCompletionChunk> {
  throw new ByokitError(
    'validation_failed',
    'This chatStream() was iterated already: each is one provider call, read once. Call byokit.chatStream() again for another.',
  );
}
