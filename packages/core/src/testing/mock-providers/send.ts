// Writes a mock answer to the wire: a body at once, or events one by one with the configured gap, stopping as
// soon as the client has gone.
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { MockAnswer, StreamPacer } from './types.js';

export interface SendOptions {
  /** The pause before the answer starts. */
  delayMs: number;
  /** Read before each event, so that a change takes effect mid-stream. */
  gapMs(): number;
  /** Read before each event, as the gap. */
  pacer(): StreamPacer | undefined;
  /** Called just before the mock drops the connection on purpose (so it is not taken for a client abort). */
  onCut(): void;
}

/** Resolves once `text` is handed to the socket, or the response closed (a destroyed socket never drains). */
function write(response: ServerResponse, text: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('close', done);
      resolve();
    };
    response.once('close', done);
    response.write(text, done);
  });
}

export async function sendAnswer(response: ServerResponse, answer: MockAnswer, options: SendOptions): Promise<void> {
  if (options.delayMs > 0) {
    await delay(options.delayMs);
    // The client gave up while the provider was still thinking.
    if (response.destroyed) return;
  }
  if (answer.type === 'json') {
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
    return;
  }
  response.writeHead(200, answer.headers);
  response.flushHeaders();
  for (const [index, event] of answer.events.entries()) {
    const gap = options.gapMs();
    if (index > 0 && gap > 0) await delay(gap);
    if (index > 0) await options.pacer()?.({ index, afterText: answer.carriesText[index - 1] ?? false });
    if (response.destroyed) return;
    await write(response, event);
  }
  if (response.destroyed) return;
  if (!answer.cut) {
    response.end();
    return;
  }
  options.onCut();
  // The body is chunked: closing the socket without the last chunk is what an abrupt provider failure looks like.
  response.destroy();
}
