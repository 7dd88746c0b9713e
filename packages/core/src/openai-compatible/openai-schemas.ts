import { z } from 'zod';
import { finishReason, messageList, SAMPLING_FIELDS } from '../chat/chat-schemas.js';
import { PROVIDERS } from '../keys/providers.js';

// OpenAI's own wire format for `POST /chat/completions` and `GET /models`
// (platform.openai.com/docs/api-reference/chat/create), the part of it byokit answers. The request is strict,
// as OpenAI's API is ("Unrecognized request argument supplied"), and as the contract asks (an unknown field,
// `base_url` included, is refused, never passed on). Limits, ranges and content rules are the native route's:
// the ranges are its fields, and the request is translated and then checked by the native schema (openai-request.ts).

const TEXT_ONLY = "byokit's OpenAI-compatible surface takes text content only: each part must be { type: 'text', text }.";

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });

/**
 * Most content parts one message may carry. A limit zod checks before it reads a part: a 2 MiB body holds a million
 * parts, and checking each before refusing the message took ~300 MB and ~1 s of one request's time.
 */
export const MAX_CONTENT_PARTS = 100;
const TOO_MANY_PARTS = `A message may have at most ${MAX_CONTENT_PARTS} content parts.`;

const parts = z.array(z.discriminatedUnion('type', [textPart], { error: TEXT_ONLY })).max(MAX_CONTENT_PARTS, { error: TOO_MANY_PARTS });

/** A message's content: a string, or an array of at most {@link MAX_CONTENT_PARTS} text parts (joined with a newline). */
const content = z.union([z.string(), parts], {
  // The union's own message, but for an array of too many parts, whose own message says what to change.
  error: (issue) =>
    issue.code === 'invalid_union' &&
    issue.errors.some((branch) => branch.some((inner) => inner.code === 'too_big' && inner.path.length === 0))
      ? TOO_MANY_PARTS
      : `content must be a string or an array of text parts. ${TEXT_ONLY}`,
});

const message = z.strictObject({
  // `developer` is OpenAI's newer name for `system`; tools and functions are not part of byokit's surface.
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: "role must be system, developer, user or assistant: byokit's OpenAI-compatible surface has no tool calls.",
  }),
  content,
  /** Accepted and not sent on: only OpenAI knows participant names. */
  name: z.string().max(256).optional(),
  /** An assistant message sent back as the client received it carries `refusal: null`. */
  refusal: z.null().optional(),
  /**
   * The `openai` client's stream helper (`finalMessage()`, `finalChatCompletion()`) and `parse()` add
   * `parsed: null` to the message they hand out (there is no `response_format` to parse): accepted and not sent
   * on, so that message too can be sent back as is.
   */
  parsed: z.null().optional(),
});

const IGNORED = "Taken only at the value that changes nothing (OpenAI's default, or false), and ignored.";

/** The refusal of a value byokit cannot honour, for a field it takes only at the value that changes nothing. */
function noEffect(field: string, what: string, value: string): string {
  return `byokit ${what}: ${field} may only be ${value}, or be left out.`;
}

/** Body of `POST /openai/v1/chat/completions`. `null` stands for "not given", as OpenAI's API takes it. */
export const openAIChatBody = z.strictObject({
  model: z.string().min(1).max(256).describe('A model name from GET /openai/v1/models (e.g. claude-sonnet-4-5), or a catalog UUID.'),
  // A developer message is a system one; text parts are joined with a newline before the content rules apply.
  messages: messageList(message),
  max_completion_tokens: SAMPLING_FIELDS.max_tokens.nullish(),
  max_tokens: SAMPLING_FIELDS.max_tokens.nullish().describe('Deprecated by OpenAI in favour of max_completion_tokens; either is taken.'),
  temperature: SAMPLING_FIELDS.temperature.nullish(),
  top_p: SAMPLING_FIELDS.top_p.nullish(),
  stop: SAMPLING_FIELDS.stop.nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .strictObject({
      include_usage: z.boolean().optional(),
      /** Accepted and ignored: byokit adds no obfuscation padding to chunks. */
      include_obfuscation: z.boolean().optional(),
    })
    .nullish(),
  n: z.literal(1, { error: 'byokit answers with one choice: n must be 1.' }).nullish(),
  /** Accepted and ignored: the usage record already names the user byokit authenticated. */
  user: z.string().max(256).nullish(),
  // OpenAI's replacements for `user`, which the `openai` client marks deprecated: ignored as `user` is. Neither
  // changes the answer: one labels the end user for OpenAI's abuse checks, the other groups calls for its cache.
  safety_identifier: z.string().max(256).nullish().describe('Accepted and ignored, as user is.'),
  prompt_cache_key: z.string().max(256).nullish().describe("Accepted and ignored: a hint for OpenAI's prompt cache."),
  // OpenAI's fields byokit does not honour, taken at the value that changes nothing (OpenAI's own default, or
  // `false` for a feature off), which client libraries send unasked (LangChain JS sends both penalties at 0);
  // any other value is refused, naming the field. None of them is sent on.
  frequency_penalty: z
    .literal(0, { error: noEffect('frequency_penalty', 'applies no frequency penalty', '0') })
    .nullish()
    .describe(IGNORED),
  presence_penalty: z
    .literal(0, { error: noEffect('presence_penalty', 'applies no presence penalty', '0') })
    .nullish()
    .describe(IGNORED),
  logprobs: z
    .literal(false, { error: noEffect('logprobs', 'returns no log probabilities', 'false') })
    .nullish()
    .describe(IGNORED),
  logit_bias: z
    .strictObject({}, { error: noEffect('logit_bias', 'applies no logit bias', '{}') })
    .nullish()
    .describe(IGNORED),
  store: z
    .literal(false, { error: noEffect('store', 'stores no completions for OpenAI', 'false') })
    .nullish()
    .describe(IGNORED),
  service_tier: z
    .enum(['auto', 'default'], { error: noEffect('service_tier', 'has no processing tiers', "'auto' or 'default'") })
    .nullish()
    .describe(IGNORED),
});

export type OpenAIChatRequest = z.infer<typeof openAIChatBody>;

/** OpenAI's usage object; the details are left out when the provider did not report them. */
export const openAIUsage = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z
    .object({ cached_tokens: z.number().int().optional(), cache_write_tokens: z.number().int().optional() })
    .optional(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().int() }).optional(),
});

/** byokit's own facts about a call, in one namespaced field OpenAI's clients pass through untouched. */
export const byokitExtension = z
  .object({
    model_id: z.guid(),
    provider: z.enum(PROVIDERS),
    key_source: z.enum(['user', 'system']),
    cost_usd: z.string().nullable().describe('Exact decimal USD from the catalog prices; null for an unpriced model.'),
  })
  .describe("byokit's extension: not part of OpenAI's format.");

const identity = { id: z.string(), created: z.number().int(), model: z.string() };

/** A `chat.completion` object. */
export const openAICompletion = z.object({
  ...identity,
  object: z.literal('chat.completion'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      finish_reason: finishReason,
      logprobs: z.null(),
    }),
  ),
  usage: openAIUsage,
  byokit: byokitExtension,
});

/**
 * A `chat.completion.chunk` event. With `stream_options.include_usage`, every chunk carries `usage: null` but
 * the last, which has no choices and the usage (and `byokit`); without it, no chunk has `usage`.
 */
export const openAIChunk = z.object({
  ...identity,
  object: z.literal('chat.completion.chunk'),
  choices: z.array(
    z.object({
      index: z.number().int(),
      delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
      finish_reason: finishReason.nullable(),
      logprobs: z.null(),
    }),
  ),
  usage: openAIUsage.nullable().optional(),
  byokit: byokitExtension.optional(),
});

export type OpenAICompletion = z.infer<typeof openAICompletion>;
export type OpenAIChunk = z.infer<typeof openAIChunk>;

/** A `model` object: `id` is what a request's `model` takes; `owned_by` the provider. */
export const openAIModel = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number().int().describe('Always 0: the catalog keeps no release date.'),
  owned_by: z.enum(PROVIDERS),
});

export const openAIModelList = z.object({ object: z.literal('list'), data: z.array(openAIModel) });

/** Path of `GET /openai/v1/models/{model}`. */
export const openAIModelParams = z.object({ model: z.string().min(1).max(256) });

/** OpenAI's error body. */
export const openAIError = z.object({
  error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
});
