import { errorResponse, type ErrorBodyFormat } from '../http/error-response.js';
import type { Logger } from '../logging/logger.js';

/**
 * Chunks as the contract's event stream: `data: {json}` per chunk, then `data: [DONE]`. A failure after the
 * stream began cannot change the status any more, so it is sent as a last `data: {"error": {…}}` in the
 * contract's error shape (or the route's `errorFormat`), and the stream closes (spec/http-api.md, "Chat").
 */
export async function* serverSentChunks(
  chunks: AsyncIterable<unknown>,
  requestId: string,
  logger: Logger,
  errorFormat?: ErrorBodyFormat,
): AsyncGenerator<string> {
  try {
    for await (const chunk of chunks) yield `data: ${JSON.stringify(chunk)}\n\n`;
    yield 'data: [DONE]\n\n';
  } catch (error) {
    yield `data: ${errorResponse(error, requestId, logger, errorFormat).body as string}\n\n`;
  }
}
