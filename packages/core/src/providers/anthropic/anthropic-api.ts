// The wire format of Anthropic's Messages API, as far as byokit writes and reads it
// (https://docs.anthropic.com/en/api/messages, https://docs.anthropic.com/en/docs/build-with-claude/streaming).
// Schemas are strict on the fields we use and lenient on the rest: `z.object` accepts and drops unknown
// fields, since Anthropic adds fields under its versioning policy (https://docs.anthropic.com/en/api/versioning).
import { z } from 'zod';
import { tokenCount } from '../token-count.js';

/** A text content block, the only kind byokit sends. */
export interface AnthropicTextContent {
  type: 'text';
  text: string;
}

/** One turn of the conversation; Anthropic has no `system` role inside `messages`. */
export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicTextContent[];
}

/** The body of `POST /v1/messages` as byokit sends it. */
export interface AnthropicRequestBody {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream: boolean;
}

/** `null` means "not reported" as much as a missing field does (cache fields are null on some models). */
const reportedCount = tokenCount.nullish();

/**
 * `usage` of a message, a `message_start` and a `message_delta`. `input_tokens` excludes cache reads and
 * writes (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance).
 */
export const anthropicUsageSchema = z.object({
  input_tokens: reportedCount,
  output_tokens: reportedCount,
  cache_creation_input_tokens: reportedCount,
  cache_read_input_tokens: reportedCount,
  output_tokens_details: z.object({ thinking_tokens: reportedCount }).nullish(),
});

/** Token counts as Anthropic reports them. */
export type AnthropicUsage = z.infer<typeof anthropicUsageSchema>;

const textBlockSchema = z.object({ type: z.literal('text'), text: z.string() });

/** Thinking, tool use and whatever comes next: read for its type only, and ignored. */
const otherBlockSchema = z.object({ type: z.string().refine((type) => type !== 'text', 'a text block needs its text') });

/** A content block of a response: text (used), or any other kind (ignored). */
export const anthropicContentBlockSchema = z.union([textBlockSchema, otherBlockSchema]);

/** A response content block. */
export type AnthropicContentBlock = z.infer<typeof anthropicContentBlockSchema>;

/** Narrows a content block to text. */
export function isTextBlock(block: AnthropicContentBlock): block is z.infer<typeof textBlockSchema> {
  return block.type === 'text';
}

/** The body of a successful non-streaming `POST /v1/messages`. */
export const anthropicMessageSchema = z.object({
  id: z.string(),
  model: z.string(),
  content: z.array(anthropicContentBlockSchema),
  stop_reason: z.string().nullish(),
  usage: anthropicUsageSchema,
});

/** A parsed non-streaming response. */
export type AnthropicMessageResponse = z.infer<typeof anthropicMessageSchema>;

/**
 * An error body (https://docs.anthropic.com/en/api/errors#error-shapes): `{"type":"error","error":{"type":
 * "overloaded_error","message":"Overloaded"},"request_id":"req_…"}`. The same shape arrives as an `error`
 * event inside a stream that began with HTTP 200.
 */
export const anthropicErrorSchema = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string().optional() }),
});

/** A parsed error body or error event. */
export type AnthropicErrorBody = z.infer<typeof anthropicErrorSchema>;

/**
 * What Anthropic's edge answers, with 403, a call from a country it does not serve, whatever the key:
 * `{"error":{"type":"forbidden","message":"Request not allowed"}}`, without the documented top-level `type`
 * (anthropics/anthropic-sdk-typescript#457, enricoros/big-AGI#485).
 */
export const anthropicRegionRefusalSchema = z.object({
  error: z.object({ type: z.literal('forbidden'), message: z.string().optional() }),
});

const textDeltaSchema = z.object({ type: z.literal('text_delta'), text: z.string() });

/** `thinking_delta`, `signature_delta`, `input_json_delta`, `citations_delta`…: ignored. */
const otherDeltaSchema = z.object({
  type: z.string().refine((type) => type !== 'text_delta', 'a text delta needs its text'),
});

/** The `delta` of a `content_block_delta` event. */
export type AnthropicContentDelta = z.infer<typeof textDeltaSchema> | z.infer<typeof otherDeltaSchema>;

/** Narrows a content delta to text. */
export function isTextDelta(delta: AnthropicContentDelta): delta is z.infer<typeof textDeltaSchema> {
  return delta.type === 'text_delta';
}

const messageStartEventSchema = z.object({
  type: z.literal('message_start'),
  message: z.object({
    id: z.string(),
    // Normally empty; a proxy may replay a message with content already in it.
    content: z.array(anthropicContentBlockSchema).nullish(),
    stop_reason: z.string().nullish(),
    usage: anthropicUsageSchema,
  }),
});

const contentBlockStartEventSchema = z.object({
  type: z.literal('content_block_start'),
  index: z.number().int(),
  content_block: anthropicContentBlockSchema,
});

const contentBlockDeltaEventSchema = z.object({
  type: z.literal('content_block_delta'),
  index: z.number().int(),
  delta: z.union([textDeltaSchema, otherDeltaSchema]),
});

const contentBlockStopEventSchema = z.object({ type: z.literal('content_block_stop') });

const messageDeltaEventSchema = z.object({
  type: z.literal('message_delta'),
  delta: z.object({ stop_reason: z.string().nullish() }),
  usage: anthropicUsageSchema.nullish(),
});

const messageStopEventSchema = z.object({ type: z.literal('message_stop') });

const pingEventSchema = z.object({ type: z.literal('ping') });

/**
 * Every stream event type byokit knows
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types).
 */
export const anthropicStreamEventSchema = z.discriminatedUnion('type', [
  messageStartEventSchema,
  contentBlockStartEventSchema,
  contentBlockDeltaEventSchema,
  contentBlockStopEventSchema,
  messageDeltaEventSchema,
  messageStopEventSchema,
  pingEventSchema,
  anthropicErrorSchema,
]);

/** A parsed stream event of a known type. */
export type AnthropicStreamEvent = z.infer<typeof anthropicStreamEventSchema>;

/** The event types of {@link anthropicStreamEventSchema}. */
export const KNOWN_STREAM_EVENT_TYPES: ReadonlySet<string> = new Set<AnthropicStreamEvent['type']>([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
  'ping',
  'error',
]);

/** Any event, read for its `type` only (to tell a new, unknown type from a broken known one). */
export const anthropicEventTypeSchema = z.object({ type: z.string() });
