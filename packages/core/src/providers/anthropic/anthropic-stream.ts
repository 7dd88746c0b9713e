import type { StreamDecoder } from '../server-sent-events.js';
import { mapAnthropicEventData, newAnthropicStreamState, truncatedStreamError } from './anthropic-stream-events.js';

/**
 * Decodes Anthropic's server-sent events (anthropic-stream-events.ts maps each one). A stream that closes
 * before `message_stop` ends with an `error` event, since the answer may be cut short.
 */
export function anthropicStreamDecoder(): StreamDecoder {
  const state = newAnthropicStreamState();
  return {
    event: (data) => mapAnthropicEventData(data, state),
    end: () => (state.finished ? [] : [truncatedStreamError()]),
  };
}
