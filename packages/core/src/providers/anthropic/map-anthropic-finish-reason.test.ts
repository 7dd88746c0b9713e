import { describe, expect, it } from 'vitest';
import { mapAnthropicFinishReason } from './map-anthropic-finish-reason.js';

describe('mapAnthropicFinishReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['refusal', 'content_filter'],
    ['tool_use', 'tool_calls'],
    ['a_reason_from_the_future', 'stop'],
    [null, 'stop'],
    [undefined, 'stop'],
  ] as const)('maps %s to %s', (reason, expected) => {
    expect(mapAnthropicFinishReason(reason)).toBe(expected);
  });
});
