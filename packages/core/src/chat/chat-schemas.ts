import { z } from 'zod';
import { PROVIDERS } from '../keys/providers.js';
import { characterCount } from '../whole-characters.js';

/** Most messages one request may carry; more is refused before any provider sees it (spec/security.md). */
export const MAX_MESSAGES = 2_000;
/**
 * Most characters of message content in one request, all messages together: characters (code points) as zod counts
 * every other limit and JSON Schema's `maxLength` does, so an emoji is one.
 */
export const MAX_CONTENT_CHARACTERS = 1_000_000;
/** When `max_tokens` is not given: this, or the model's limit if lower. */
export const DEFAULT_MAX_TOKENS = 4_096;

// Content goes to providers as JSON; a lone UTF-16 surrogate would be sent as an escape they refuse or mangle.
const WELL_FORMED = 'Content must be well-formed Unicode (no lone surrogates).';
const NOT_ONLY_SYSTEM = 'Send at least one user or assistant message.';
const CONTENT_LIMIT = `All message content together may be at most ${MAX_CONTENT_CHARACTERS} characters.`;

/**
 * The refinements of a chat body, as the OpenAPI document gives them (JSON Schema cannot run a refinement): a
 * message that is not a system one, as JSON Schema; the content rules, in the refinements' own words. Shared
 * with the OpenAI-compatible body, which the same refinements check once translated (openai-request.ts).
 */
export const CHAT_MESSAGES_DOCUMENTATION = {
  contains: { type: 'object', properties: { role: { enum: ['user', 'assistant'] } }, required: ['role'] },
  description: `${NOT_ONLY_SYSTEM} ${CONTENT_LIMIT} ${WELL_FORMED}`,
};

/**
 * byokit's own bounds on `stop`, whichever the provider: OpenAI takes 4 sequences and Gemini 5 (checked per provider,
 * chat-limits.ts), Anthropic's reference gives no count, and none of the three publishes a length.
 */
const MAX_STOP_SEQUENCES = 16;
const MAX_STOP_SEQUENCE_CHARACTERS = 200;

/** A stop sequence goes to the provider as message content does, so it must be as well-formed. */
const STOP_WELL_FORMED = 'A stop sequence must be well-formed Unicode (no lone surrogates).';
const stopSequence = z
  .string()
  .min(1, { error: 'A stop sequence cannot be empty.' })
  .max(MAX_STOP_SEQUENCE_CHARACTERS, { error: `A stop sequence may have at most ${MAX_STOP_SEQUENCE_CHARACTERS} characters.` })
  .refine((text) => text.isWellFormed(), { message: STOP_WELL_FORMED })
  .describe(STOP_WELL_FORMED);
const TOO_MANY_STOPS = `At most ${MAX_STOP_SEQUENCES} stop sequences (fewer for some providers: OpenAI takes 4, Google 5).`;

/**
 * A stop sequence or a list of them. A union's own refusal is zod's "Invalid input", which named no bound: the list
 * past its count is said as such (as openai-schemas.ts does for content parts), anything else by its shape.
 */
const stop = z.union([stopSequence, z.array(stopSequence).max(MAX_STOP_SEQUENCES)], {
  error: (issue) =>
    issue.code === 'invalid_union' &&
    issue.errors.some((branch) => branch.some((inner) => inner.code === 'too_big' && inner.path.length === 0))
      ? TOO_MANY_STOPS
      : 'stop must be a string or a list of strings.',
});

/** The sampling fields and their ranges; the OpenAI-compatible body takes the same (openai-schemas.ts). */
export const SAMPLING_FIELDS = {
  max_tokens: z.number().int().min(1),
  temperature: z.number().min(0),
  // 0 to 1, 0 included: each provider takes 0 (OpenAI's own schema gives `minimum: 0`), and a client asking for the
  // most likely token only sends it; per-provider ranges are chat-limits.ts'.
  top_p: z.number().min(0).max(1),
  stop,
};

const content = z.string().refine((text) => text.isWellFormed(), { message: WELL_FORMED });
const message = z.strictObject({ role: z.enum(['system', 'user', 'assistant']), content });

/** A chat's list of messages, 1 to {@link MAX_MESSAGES}: the native body's and the OpenAI-compatible one's alike. */
export function messageList<T extends z.ZodType>(item: T) {
  return z
    .array(item)
    .min(1, { error: NOT_ONLY_SYSTEM })
    .max(MAX_MESSAGES, { error: `At most ${MAX_MESSAGES} messages in one request.` })
    .meta(CHAT_MESSAGES_DOCUMENTATION);
}

/**
 * Body of `POST /llm/chat/completions` (spec/http-api.md, "Chat"). Strict at every depth: an unknown field
 * (`base_url`, `headers`, `user_id`, …) is refused, never passed on.
 */
export const chatCompletionBody = z
  .strictObject({
    model_id: z.guid({ message: 'model_id must be a model UUID from GET /llm-models/.' }),
    messages: messageList(message),
    max_tokens: SAMPLING_FIELDS.max_tokens.optional(),
    temperature: SAMPLING_FIELDS.temperature.optional(),
    top_p: SAMPLING_FIELDS.top_p.optional(),
    stop: SAMPLING_FIELDS.stop.optional(),
    stream: z.boolean().optional(),
  })
  // An empty list is refused once, by its own minimum.
  .refine((body) => body.messages.length === 0 || body.messages.some((item) => item.role !== 'system'), {
    message: NOT_ONLY_SYSTEM,
    path: ['messages'],
  })
  .refine((body) => withinContentLimit(body.messages), { message: CONTENT_LIMIT, path: ['messages'] });

/**
 * True when all the content together has at most {@link MAX_CONTENT_CHARACTERS} characters. Counted in UTF-16 units
 * (`length`), 500,001 emoji, within the body limit, were refused as over a million characters. Counted only when
 * the units are over the limit, as a character is one or two units.
 */
function withinContentLimit(messages: ReadonlyArray<{ content: string }>): boolean {
  const units = messages.reduce((total, item) => total + item.content.length, 0);
  if (units <= MAX_CONTENT_CHARACTERS) return true;
  if (units > 2 * MAX_CONTENT_CHARACTERS) return false;
  let characters = 0;
  for (const item of messages) if ((characters += characterCount(item.content)) > MAX_CONTENT_CHARACTERS) return false;
  return true;
}

/** A chat request, as the route and `byokit.chat()` take it. */
export type ChatCompletionRequest = z.infer<typeof chatCompletionBody>;

const usage = z.object({
  prompt_tokens: z.number().int().nullable(),
  completion_tokens: z.number().int().nullable(),
  total_tokens: z.number().int().nullable(),
  cached_tokens: z.number().int().nullable(),
  cache_write_tokens: z
    .number()
    .int()
    .nullable()
    .describe('Prompt tokens written to the provider cache, billed at the cache-write price; part of prompt_tokens.'),
  reasoning_tokens: z.number().int().nullable(),
  cost_usd: z.string().nullable().describe('Exact decimal USD from the catalog prices; null for an unpriced model.'),
  key_source: z.enum(['user', 'system']),
});

/** How an answer ended: OpenAI's reasons, and `error` (the provider ended abnormally: a cut answer is not `stop`). */
export const finishReason = z.enum(['stop', 'length', 'content_filter', 'tool_calls', 'error']);
const identity = {
  id: z.string(),
  created: z.number().int(),
  model: z.string(),
  model_id: z.guid(),
  provider: z.enum(PROVIDERS),
};

/** A complete answer, the same shape whichever provider answered. */
export const chatCompletion = z.object({
  ...identity,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string() }),
      finish_reason: finishReason,
    }),
  ),
  usage,
});

/** One chunk of a streamed answer; the last one carries `usage` and no choices. */
export const chatCompletionChunk = z.object({
  ...identity,
  object: z.literal('chat.completion.chunk'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
      finish_reason: finishReason.nullable(),
    }),
  ),
  usage: usage.optional(),
});

/** A complete answer, as `byokit.chat()` resolves and the chat route sends it: the same shape for every provider. */
export type ChatCompletion = z.infer<typeof chatCompletion>;
/** One chunk of a streamed answer, as `byokit.chatStream()` yields it; the last carries `usage` and no choices. */
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunk>;
/**
 * A call's tokens and cost: counts a provider did not report are `null`, never 0; `cost_usd` is an exact decimal
 * string (null for an unpriced model); `key_source` says whose key paid.
 */
export type ChatUsage = z.infer<typeof usage>;
