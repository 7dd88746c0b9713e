import { describe, expect, it } from 'vitest';
import { BUILT_IN_MODELS } from '../../catalog/built-in-models.js';
import type { ChatMessage } from '../provider-types.js';
import { googleConversationProblem } from './google-conversation.js';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const prefilled = [user('Write a haiku.'), assistant('Autumn')];

describe('googleConversationProblem', () => {
  it('takes a conversation that starts and ends with the user', () => {
    expect(googleConversationProblem([user('Hi'), assistant('Hello!'), user('Bye')], 'gemini-3.8-flash')).toBeUndefined();
  });

  // Gemini answers a history whose first turn is the model's with 400 (NousResearch/hermes-agent#55427).
  it('wants the user to speak first, and says that empty messages do not count', () => {
    const problem =
      'Google needs the conversation to start with a user message that has text (after any system messages; empty messages are left out), not an assistant one.';
    expect(googleConversationProblem([assistant('Hello!'), user('Hi')], 'gemini-3.8-flash')).toBe(problem);
    expect(googleConversationProblem([user(''), assistant('Hello!'), user('Hi')], 'gemini-2.5-flash')).toBe(problem);
    // A whitespace-only message is sent (only an empty part is refused), so it counts as the first.
    expect(googleConversationProblem([user(' '), assistant('Hello!'), user('Hi')], 'gemini-3.8-flash')).toBeUndefined();
  });

  it('wants a message with text', () => {
    expect(googleConversationProblem([{ role: 'system', content: 'Be brief.' }, user('')], 'gemini-2.5-flash')).toBe(
      'Google needs a message with text besides system messages (empty messages are left out).',
    );
  });

  // Newer Gemini models answer 400 "Requests ending with a model turn are not supported."
  it.each([
    ['gemini-2.5-flash', true],
    ['gemini-3-pro-preview', true],
    ['gemini-3.5-flash', true],
    ['gemini-3.5-flash-lite', false],
    ['gemini-3.6-flash', false],
    ['gemini-3.8-flash', false],
    ['gemini-4-argon', false],
  ])('a last assistant turn (a prefill) on %s is taken: %s', (model, taken) => {
    expect(googleConversationProblem(prefilled, model) === undefined).toBe(taken);
  });

  it('refuses a prefill on every built-in Gemini model', () => {
    const google = BUILT_IN_MODELS.filter((model) => model.provider === 'google');
    expect(google.map((model) => googleConversationProblem(prefilled, model.model))).toEqual(
      google.map((model) => `${model.model} does not continue an assistant message (a prefill): end the conversation with a user message.`),
    );
  });
});
