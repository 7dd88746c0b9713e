import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS } from '../../catalog/built-in-models.js';
import type { ChatMessage } from '../provider-types.js';
import { anthropicConversationProblem } from './anthropic-conversation.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const prefilled = [user('List three colours as JSON.'), assistant('{"colours": [')];

describe('anthropicConversationProblem', () => {
  it('takes a conversation that starts and ends with the user', () => {
    expect(anthropicConversationProblem([user('Hi'), assistant('Hello!'), user('Bye')], 'claude-sonnet-5-5')).toBeUndefined();
  });

  it('wants the user to speak first, and says that empty messages do not count', () => {
    expect(anthropicConversationProblem([assistant('Hi'), user('x')], 'claude-sonnet-4-5')).toMatch(/start with a user message/);
    // The first user message is whitespace only: Anthropic refuses it, so it is left out and the assistant is first.
    expect(anthropicConversationProblem([user(' '), assistant('x'), user('hi')], 'claude-sonnet-4-5')).toMatch(
      /start with a user message that has text .*whitespace-only messages are left out/,
    );
    expect(anthropicConversationProblem([user('')], 'claude-sonnet-4-5')).toBe(
      'Anthropic needs a user message with text besides system messages (empty and whitespace-only messages are left out).',
    );
  });

  // Models before Claude 4.6 continue an assistant message; 4.6 and later answer 400 (the migration guide).
  it.each([
    ['claude-sonnet-4-5', true],
    ['claude-haiku-4-5-20251001', true],
    ['claude-opus-4-1', true],
    ['claude-sonnet-4-20250514', true],
    ['claude-3-7-sonnet-latest', true],
    ['claude-opus-4-6', false],
    ['claude-sonnet-4-6', false],
    ['claude-opus-5-5', false],
    ['claude-sonnet-5-5', false],
    ['claude-haiku-5-5', false],
  ])('a last assistant message (a prefill) on %s is taken: %s', (model, taken) => {
    const problem = anthropicConversationProblem(prefilled, model);
    if (taken) expect(problem).toBeUndefined();
    else expect(problem).toBe(`${model} does not continue an assistant message (a prefill): end the conversation with a user message.`);
  });

  it('knows every built-in Claude model', () => {
    const anthropic = BUILT_IN_MODELS.filter((model) => model.provider === 'anthropic');
    expect(anthropic.map((model) => [model.model, anthropicConversationProblem(prefilled, model.model) === undefined])).toEqual([
      ['claude-opus-5-5', false],
      ['claude-sonnet-5-5', false],
      ['claude-haiku-5-5', false],
      ['claude-sonnet-4-5', true],
      ['claude-haiku-4-5', true],
    ]);
  });
});
