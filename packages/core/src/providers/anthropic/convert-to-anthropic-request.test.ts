import { describe, expect, it } from 'vitest';
import { isByokitError } from '../../errors.js';
import type { ProviderChatRequest } from '../provider-types.js';
import { convertToAnthropicRequest } from './convert-to-anthropic-request.js';

const base: ProviderChatRequest = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }], maxTokens: 100 };

function refusal(request: ProviderChatRequest): unknown {
  try {
    convertToAnthropicRequest(request, false);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('convertToAnthropicRequest', () => {
  it('sends only what was set: no system, sampling or stop fields when absent', () => {
    expect(convertToAnthropicRequest(base, false)).toEqual({
      body: {
        model: 'claude-sonnet-4-5',
        max_tokens: 100,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }],
        stream: false,
      },
      warnings: [],
    });
  });

  it('moves system messages, wherever they are, to the top-level system in order, joined by a blank line', () => {
    const { body } = convertToAnthropicRequest(
      {
        ...base,
        messages: [
          { role: 'system', content: 'First.' },
          { role: 'user', content: 'Hi' },
          { role: 'system', content: 'Second.' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: 'Bye' },
        ],
      },
      true,
    );
    expect(body.system).toBe('First.\n\nSecond.');
    expect(body.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(body.stream).toBe(true);
  });

  it('leaves out a system message that is empty or only whitespace, rather than send blank lines as the system prompt', () => {
    const messages = [
      { role: 'system', content: ' \n' },
      { role: 'user', content: 'Hi' },
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: '' },
    ] as const;
    expect(convertToAnthropicRequest({ ...base, messages: [...messages] }, false).body.system).toBe('Be brief.');
    expect(convertToAnthropicRequest({ ...base, messages: [messages[0], messages[1]] }, false).body).not.toHaveProperty('system');
  });

  it('merges consecutive messages of one role into one turn, a text block per message, in order', () => {
    const { body } = convertToAnthropicRequest(
      {
        ...base,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
          { role: 'assistant', content: 'c' },
          { role: 'assistant', content: 'd' },
          { role: 'user', content: 'e' },
        ],
      },
      false,
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'c' },
          { type: 'text', text: 'd' },
        ],
      },
      { role: 'user', content: [{ type: 'text', text: 'e' }] },
    ]);
  });

  it('keeps temperature and drops top_p with a warning when both are set', () => {
    const { body, warnings } = convertToAnthropicRequest({ ...base, temperature: 0.5, topP: 0.9 }, false);
    expect(body.temperature).toBe(0.5);
    expect(body).not.toHaveProperty('top_p');
    expect(warnings).toEqual([expect.stringContaining('top_p')]);
  });

  it('sends top_p alone, and a temperature of 0', () => {
    expect(convertToAnthropicRequest({ ...base, topP: 0.9 }, false).body.top_p).toBe(0.9);
    expect(convertToAnthropicRequest({ ...base, temperature: 0 }, false).body.temperature).toBe(0);
  });

  it('maps stop to stop_sequences, leaving out empty and whitespace-only ones with a warning', () => {
    const { body, warnings } = convertToAnthropicRequest({ ...base, stop: ['END', '', ' \n', '###'] }, false);
    expect(body.stop_sequences).toEqual(['END', '###']);
    expect(warnings).toEqual([expect.stringContaining('stop')]);
    expect(convertToAnthropicRequest({ ...base, stop: [] }, false).body).not.toHaveProperty('stop_sequences');
  });

  it('leaves out an empty message with a warning', () => {
    const { body, warnings } = convertToAnthropicRequest(
      { ...base, messages: [...base.messages, { role: 'assistant', content: '' }] },
      false,
    );
    expect(body.messages).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining('messages.1')]);
  });

  it('trims trailing whitespace from a final assistant message (a prefill), with a warning', () => {
    const { body, warnings } = convertToAnthropicRequest(
      { ...base, messages: [...base.messages, { role: 'assistant', content: 'Sure: ' }] },
      false,
    );
    expect(body.messages.at(-1)?.content).toEqual([{ type: 'text', text: 'Sure:' }]);
    expect(warnings).toHaveLength(1);
  });

  it('refuses with validation_failed a conversation whose first message is the assistant', () => {
    const error = refusal({
      ...base,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'assistant', content: 'Hi' }, ...base.messages],
    });
    expect(isByokitError(error) && error.code).toBe('validation_failed');
    expect(isByokitError(error) && error.details.issues?.[0]?.path).toBe('messages');
  });

  it('refuses with validation_failed a conversation with no user message', () => {
    const error = refusal({ ...base, messages: [{ role: 'system', content: 'Summarise.' }] });
    expect(isByokitError(error) && error.code).toBe('validation_failed');
  });
});
