// One small function per Anthropic stream event type, each turning a parsed event into byokit's unified
// events (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types). They share a little
// state: the open message, the usage so far and the held stop reason.
import { ByokitError } from '../../errors.js';
import type { FinishReason, ProviderStreamEvent } from '../provider-types.js';
import { parseEventData } from '../server-sent-events.js';
import {
  anthropicEventTypeSchema,
  anthropicStreamEventSchema,
  isTextBlock,
  isTextDelta,
  KNOWN_STREAM_EVENT_TYPES,
  type AnthropicContentBlock,
  type AnthropicStreamEvent,
  type AnthropicUsage,
} from './anthropic-api.js';
import { anthropicErrorToByokitError } from './anthropic-error.js';
import { convertAnthropicUsage, mergeAnthropicUsage } from './anthropic-usage.js';
import { mapAnthropicFinishReason } from './map-anthropic-finish-reason.js';

/** What a stream has seen so far. */
export interface AnthropicStreamState {
  /** The id of the message that `message_start` opened. */
  messageId?: string;
  /** Cumulative usage as Anthropic reported it, merged field by field. */
  usage: AnthropicUsage;
  /** From `message_delta`, emitted at `message_stop`. */
  stopReason?: string | null;
  /** `message_stop` was seen: the answer is complete. */
  finished: boolean;
}

/** A fresh state for one stream. */
export const newAnthropicStreamState = (): AnthropicStreamState => ({ usage: {}, finished: false });

type Events = ProviderStreamEvent[];

/**
 * The unified events for one server-sent event's data. Never throws: data that is not JSON, or a known
 * event type that does not match its schema, becomes one `error` event (the caller ends the stream there).
 * An event type byokit does not know is ignored, as Anthropic asks ("we may occasionally add new event
 * types, and your code should handle unknown event types gracefully", streaming docs, "Other events").
 */
export function mapAnthropicEventData(data: string, state: AnthropicStreamState): Events {
  if (state.finished) return [];
  const json = parseEventData(data);
  // One schema pass for the events that match; only one that does not is read again for its type.
  const event = anthropicStreamEventSchema.safeParse(json);
  if (event.success) return mapAnthropicEvent(event.data, state);
  const typed = anthropicEventTypeSchema.safeParse(json);
  if (!typed.success) return [malformed('an event that is not a JSON object with a type')];
  if (!KNOWN_STREAM_EVENT_TYPES.has(typed.data.type)) return [];
  // The type is a known one and short; the event's content is never quoted.
  return [malformed(`a malformed ${typed.data.type} event`)];
}

function mapAnthropicEvent(event: AnthropicStreamEvent, state: AnthropicStreamState): Events {
  switch (event.type) {
    case 'message_start':
      return onMessageStart(event, state);
    case 'content_block_start':
      return onContentBlockStart(event);
    case 'content_block_delta':
      return onContentBlockDelta(event);
    case 'message_delta':
      return onMessageDelta(event, state);
    case 'message_stop':
      return onMessageStop(state);
    case 'error':
      return [{ type: 'error', error: anthropicErrorToByokitError(event) }];
    case 'content_block_stop':
    case 'ping':
      return [];
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

type EventOf<Type extends AnthropicStreamEvent['type']> = Extract<AnthropicStreamEvent, { type: Type }>;

/**
 * Opens the message: the prompt's usage. A second `message_start` for the message already open is a
 * duplicate (seen behind proxies; fixture duplicate-message-start) and is ignored, as vercel/ai does. One
 * with another id while the first is open means a retried generation was spliced into the same response
 * (vercel/ai#18331): its text would be appended to a different answer, so the stream ends with an error.
 */
function onMessageStart(event: EventOf<'message_start'>, state: AnthropicStreamState): Events {
  if (state.messageId !== undefined) {
    if (state.messageId === event.message.id) return [];
    return [malformed('a second message in the same stream')];
  }
  state.messageId = event.message.id;
  state.usage = mergeAnthropicUsage(state.usage, event.message.usage);
  if (event.message.stop_reason != null) state.stopReason = event.message.stop_reason;
  // The usage before any text (ProviderStreamEvent): a consumer gone after that text still bills the prompt.
  return [{ type: 'usage', usage: convertAnthropicUsage(state.usage) }, ...textOf(event.message.content ?? [])];
}

/** A text block normally starts empty; any text it does carry is part of the answer. */
function onContentBlockStart(event: EventOf<'content_block_start'>): Events {
  return textOf([event.content_block]);
}

/** Text deltas are the answer; thinking, signature and tool-input deltas are not, and are dropped. */
function onContentBlockDelta(event: EventOf<'content_block_delta'>): Events {
  return isTextDelta(event.delta) && event.delta.text !== '' ? [{ type: 'text', text: event.delta.text }] : [];
}

/** The stop reason (held until `message_stop`) and the cumulative usage, merged, never added. */
function onMessageDelta(event: EventOf<'message_delta'>, state: AnthropicStreamState): Events {
  if (event.delta.stop_reason != null) state.stopReason = event.delta.stop_reason;
  if (event.usage == null) return [];
  state.usage = mergeAnthropicUsage(state.usage, event.usage);
  return [{ type: 'usage', usage: convertAnthropicUsage(state.usage) }];
}

/** The answer is complete; anything after it is ignored. */
function onMessageStop(state: AnthropicStreamState): Events {
  state.finished = true;
  const finishReason: FinishReason = mapAnthropicFinishReason(state.stopReason);
  return [{ type: 'finish', finishReason }];
}

function textOf(blocks: AnthropicContentBlock[]): Events {
  return blocks.filter(isTextBlock).flatMap((block) => (block.text === '' ? [] : [{ type: 'text' as const, text: block.text }]));
}

function malformed(what: string): ProviderStreamEvent {
  return {
    type: 'error',
    error: new ByokitError('provider_error', `The Anthropic API sent ${what}; the stream was ended.`, { provider: 'anthropic' }),
  };
}

/** For a stream that closed before `message_stop`: the answer may be cut short, so it is not a finish. */
export function truncatedStreamError(): ProviderStreamEvent {
  return {
    type: 'error',
    error: new ByokitError('provider_error', 'The Anthropic API ended the stream before the answer was complete.', {
      provider: 'anthropic',
    }),
  };
}
