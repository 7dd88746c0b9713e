import { describe, expect, it } from 'vitest';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';

describe('mapOpenAIFinishReason', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['content_filter', 'content_filter'],
    ['tool_calls', 'tool_calls'],
    ['function_call', 'tool_calls'],
    // An answer that arrived whole with HTTP 200 did stop, whatever label it carries.
    [null, 'stop'],
    [undefined, 'stop'],
    ['a_reason_openai_adds_later', 'stop'],
  ] as const)('maps %s to %s', (reason, expected) => {
    expect(mapOpenAIFinishReason(reason)).toBe(expected);
  });
});
