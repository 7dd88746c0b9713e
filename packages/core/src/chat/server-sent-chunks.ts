import { errorResponse, type ErrorBodyFormat } from '../http/error-response.js';
import type { Cancellation } from '../http/request-abort.js';
import { failureLogger, type Logger } from '../logging/logger.js';

/** The request a stream answers: its id and signal, the logger, and the route's error format if not the contract's. */
export interface StreamContext {
  requestId: string;
  logger: Logger;
  /** The request's signal: aborted when the client went away, which makes a failure after it no error of ours. */
  signal: Cancellation;
  errorFormat?: ErrorBodyFormat;
}

/**
 * Chunks as the contract's event stream: `data: {json}` per chunk, then `data: [DONE]`. A failure after the
 * stream began cannot change the status any more, so it is sent as a last `data: {"error": {…}}` in the
 * contract's error shape (or the route's `errorFormat`), and the stream closes (spec/http-api.md, "Chat").
 * A stream cut short because its client went away is logged at debug level only, as in the request handler.
 */
export async function* serverSentChunks(chunks: AsyncIterable<unknown>, context: StreamContext): AsyncGenerator<string> {
  try {
    for await (const chunk of chunks) yield `data: ${JSON.stringify(chunk)}\n\n`;
    yield 'data: [DONE]\n\n';
  } catch (error) {
    yield errorEvent(error, context);
  }
}

/** A failure after the stream began, as its last event: `data: {"error": {…}}` in the contract's shape or the route's. */
export function errorEvent(error: unknown, { requestId, logger, signal, errorFormat }: StreamContext): string {
  return `data: ${errorResponse(error, requestId, failureLogger(logger, signal), errorFormat).body as string}\n\n`;
}
