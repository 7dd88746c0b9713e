import type { FinishReason } from '../provider-types.js';

/**
 * The `finish_reason` values OpenAI documents for Chat Completions
 * (https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices). `function_call` is the
 * deprecated form of `tool_calls`.
 */
const OPENAI_FINISH_REASONS = ['stop', 'length', 'content_filter', 'tool_calls', 'function_call'] as const;

type OpenAIFinishReason = (typeof OPENAI_FINISH_REASONS)[number];

function isOpenAIFinishReason(value: string): value is OpenAIFinishReason {
  return (OPENAI_FINISH_REASONS as readonly string[]).includes(value);
}

/**
 * OpenAI's `finish_reason` in the contract's vocabulary (which is OpenAI's own, so the known values map to
 * themselves; `function_call` becomes `tool_calls`).
 *
 * `null`, absent or a value OpenAI added later become `stop`: the answer arrived whole with HTTP 200, so the model
 * did stop, and `error` would claim a failure that did not happen (a real failure arrives as an error, not as a
 * finish reason). Streams call this only once a chunk carries a non-null reason, since `null` there means "not yet".
 */
export function mapOpenAIFinishReason(finishReason: string | null | undefined): FinishReason {
  if (finishReason == null || !isOpenAIFinishReason(finishReason)) return 'stop';
  switch (finishReason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    default: {
      const _exhaustive: never = finishReason;
      throw new TypeError(`Unknown finish reason: ${String(_exhaustive)}`);
    }
  }
}
