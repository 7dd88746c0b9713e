import type { FinishReason } from '../provider-types.js';

/** The stop reasons Anthropic documents (https://docs.anthropic.com/en/api/handling-stop-reasons). */
type AnthropicStopReason =
  'end_turn' | 'stop_sequence' | 'pause_turn' | 'max_tokens' | 'model_context_window_exceeded' | 'refusal' | 'tool_use';

const KNOWN_STOP_REASONS: ReadonlySet<string> = new Set<AnthropicStopReason>([
  'end_turn',
  'stop_sequence',
  'pause_turn',
  'max_tokens',
  'model_context_window_exceeded',
  'refusal',
  'tool_use',
]);

const isKnownStopReason = (value: string): value is AnthropicStopReason => KNOWN_STOP_REASONS.has(value);

/**
 * Anthropic's `stop_reason` in the contract's vocabulary (OpenAI's `finish_reason`).
 *
 * An unknown or missing stop reason maps to `stop`: it only ever comes with a message Anthropic completed
 * (a full body, or a stream that reached `message_stop`), so the answer is whole and billed; `error` would
 * report a success as a failure, and the contract has no `other`. New values do appear (`refusal` and
 * `model_context_window_exceeded` were added after launch), so this is the forward-compatible choice.
 */
export function mapAnthropicFinishReason(stopReason: string | null | undefined): FinishReason {
  if (stopReason == null || !isKnownStopReason(stopReason)) return 'stop';
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    // A server-tool loop paused; byokit sends no tools, and what came so far is a complete answer.
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'refusal':
      return 'content_filter';
    case 'tool_use':
      return 'tool_calls';
    default: {
      const _exhaustive: never = stopReason;
      return _exhaustive;
    }
  }
}
