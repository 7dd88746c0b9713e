/**
 * How much more of a body it refused mid-way (past a route's limit; the byte that shows a body on a route that
 * takes none) the fetch handler reads and drops: 4 times the largest route's limit (chat's 2 MiB), so a body a
 * little too large leaves its connection usable, without spending more on one the client keeps sending. Past it,
 * the rest is the host's, which may close the connection (docs/http-api.md, "Body limits").
 */
export const DROP_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Reads between two turns left to the event loop. A body already in memory answers each read at once, with no
 * I/O between: read in one go, 8 MiB of it held every timer and every other request up until it was dropped.
 */
const READS_BETWEEN_TURNS = 16;

/**
 * Reads what is left of a body byokit refused, and drops it, up to {@link DROP_LIMIT_BYTES}; then lets go of
 * it, never cancelling it. A server that bridges its socket into a web stream (`@hono/node-server`, over
 * `Readable.toWeb`) takes from the socket only as that stream is read: left unread, the stream's full queue
 * pauses the socket, the host's own clean-up of the body stalls on it, and the keep-alive connection is closed.
 * Cancelling would instead destroy the request, and the connection with it, before the refusal is sent.
 */
export async function dropRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let dropped = 0;
  try {
    for (let reads = 1; dropped <= DROP_LIMIT_BYTES; reads++) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.byteLength;
      if (reads % READS_BETWEEN_TURNS === 0) await nextTurn();
    }
  } catch {
    // The body failed (the client went away): nothing is left to drop.
  } finally {
    reader.releaseLock();
  }
}

/** Resolves on a later turn of the event loop, after the timers and I/O waiting. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
